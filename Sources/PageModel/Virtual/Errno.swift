// Errno: the kernel's error numbers, as the model's typed error.
// Mirrors include/uapi/asm-generic/errno-base.h and errno.h (the x86-64/generic values).

/// A Linux errno value, thrown by the model wherever the kernel would return `-EXXX`.
///
/// The model's system-call-like operations (`mmap`, `munmap`, `mprotect`, `madvise`,
/// `mremap`, and later faults, GUP and file operations) throw `Errno` with typed throws,
/// so a caller can compare against the kernel's result exactly: `#expect(throws:
/// Errno.EINVAL)`. The raw value is the kernel's positive errno number.
public struct Errno: Error, RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// Operation not permitted.
    public static let EPERM = Errno(rawValue: 1)
    /// No such file or directory.
    public static let ENOENT = Errno(rawValue: 2)
    /// No such process.
    public static let ESRCH = Errno(rawValue: 3)
    /// Interrupted system call.
    public static let EINTR = Errno(rawValue: 4)
    /// I/O error.
    public static let EIO = Errno(rawValue: 5)
    /// No such device or address.
    public static let ENXIO = Errno(rawValue: 6)
    /// Argument list too long.
    public static let E2BIG = Errno(rawValue: 7)
    /// Bad file number.
    public static let EBADF = Errno(rawValue: 9)
    /// Try again (EWOULDBLOCK).
    public static let EAGAIN = Errno(rawValue: 11)
    /// Out of memory.
    public static let ENOMEM = Errno(rawValue: 12)
    /// Permission denied.
    public static let EACCES = Errno(rawValue: 13)
    /// Bad address.
    public static let EFAULT = Errno(rawValue: 14)
    /// Device or resource busy.
    public static let EBUSY = Errno(rawValue: 16)
    /// File exists.
    public static let EEXIST = Errno(rawValue: 17)
    /// No such device.
    public static let ENODEV = Errno(rawValue: 19)
    /// Invalid argument.
    public static let EINVAL = Errno(rawValue: 22)
    /// File too large.
    public static let EFBIG = Errno(rawValue: 27)
    /// No space left on device.
    public static let ENOSPC = Errno(rawValue: 28)
    /// Text file busy.
    public static let ETXTBSY = Errno(rawValue: 26)
    /// Illegal seek.
    public static let ESPIPE = Errno(rawValue: 29)
    /// Read-only file system.
    public static let EROFS = Errno(rawValue: 30)
    /// Math result not representable.
    public static let ERANGE = Errno(rawValue: 34)
    /// Function not implemented.
    public static let ENOSYS = Errno(rawValue: 38)
    /// Value too large for defined data type.
    public static let EOVERFLOW = Errno(rawValue: 75)
    /// Operation not supported on transport endpoint (EOPNOTSUPP on Linux).
    public static let EOPNOTSUPP = Errno(rawValue: 95)
    /// Hardware memory error (the kernel's signal-less SIGBUS analogue for poisoned pages).
    public static let EHWPOISON = Errno(rawValue: 133)

    private static let table: [Int32: (name: String, message: String)] = [
        1: ("EPERM", "Operation not permitted"),
        2: ("ENOENT", "No such file or directory"),
        3: ("ESRCH", "No such process"),
        4: ("EINTR", "Interrupted system call"),
        5: ("EIO", "Input/output error"),
        6: ("ENXIO", "No such device or address"),
        7: ("E2BIG", "Argument list too long"),
        9: ("EBADF", "Bad file descriptor"),
        11: ("EAGAIN", "Resource temporarily unavailable"),
        12: ("ENOMEM", "Cannot allocate memory"),
        13: ("EACCES", "Permission denied"),
        14: ("EFAULT", "Bad address"),
        16: ("EBUSY", "Device or resource busy"),
        17: ("EEXIST", "File exists"),
        19: ("ENODEV", "No such device"),
        22: ("EINVAL", "Invalid argument"),
        26: ("ETXTBSY", "Text file busy"),
        27: ("EFBIG", "File too large"),
        28: ("ENOSPC", "No space left on device"),
        29: ("ESPIPE", "Illegal seek"),
        30: ("EROFS", "Read-only file system"),
        34: ("ERANGE", "Numerical result out of range"),
        38: ("ENOSYS", "Function not implemented"),
        75: ("EOVERFLOW", "Value too large for defined data type"),
        95: ("EOPNOTSUPP", "Operation not supported"),
        133: ("EHWPOISON", "Memory page has hardware error"),
    ]

    /// The kernel's name for the value ("EINVAL"), or "E<number>" for one the table lacks.
    public var name: String { Self.table[rawValue]?.name ?? "E\(rawValue)" }

    /// The C library's `strerror()` text for the value.
    public var message: String { Self.table[rawValue]?.message ?? "Unknown error \(rawValue)" }

    /// The value as the kernel returns it from a system call: `-errno`.
    public var kernelReturn: Int64 { -Int64(rawValue) }

    /// One line: "EINVAL (22): Invalid argument".
    public var description: String { "\(name) (\(rawValue)): \(message)" }
}
