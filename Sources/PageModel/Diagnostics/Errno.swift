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

    /// No child processes.
    public static let ECHILD = Errno(rawValue: 10)
    /// Cross-device link.
    public static let EXDEV = Errno(rawValue: 18)
    /// Not a directory.
    public static let ENOTDIR = Errno(rawValue: 20)
    /// Is a directory.
    public static let EISDIR = Errno(rawValue: 21)
    /// File table overflow.
    public static let ENFILE = Errno(rawValue: 23)
    /// Too many open files.
    public static let EMFILE = Errno(rawValue: 24)
    /// Not a typewriter (inappropriate ioctl).
    public static let ENOTTY = Errno(rawValue: 25)
    /// Broken pipe.
    public static let EPIPE = Errno(rawValue: 32)
    /// Resource deadlock would occur.
    public static let EDEADLK = Errno(rawValue: 35)
    /// File name too long.
    public static let ENAMETOOLONG = Errno(rawValue: 36)
    /// Directory not empty.
    public static let ENOTEMPTY = Errno(rawValue: 39)
    /// No data available.
    public static let ENODATA = Errno(rawValue: 61)
    /// Timed out.
    public static let ETIMEDOUT = Errno(rawValue: 110)
    /// Host is down (used by migration for a device that went away).
    public static let EHOSTDOWN = Errno(rawValue: 112)
    /// Operation already in progress.
    public static let EALREADY = Errno(rawValue: 114)
    /// Operation now in progress.
    public static let EINPROGRESS = Errno(rawValue: 115)
    /// Stale file handle.
    public static let ESTALE = Errno(rawValue: 116)
    /// Remote I/O error.
    public static let EREMOTEIO = Errno(rawValue: 121)
    /// Operation canceled.
    public static let ECANCELED = Errno(rawValue: 125)
    /// Kernel-internal: operation is not supported (never seen by user space as such).
    public static let ENOTSUPP = Errno(rawValue: 524)

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
        10: ("ECHILD", "No child processes"),
        18: ("EXDEV", "Invalid cross-device link"),
        20: ("ENOTDIR", "Not a directory"),
        21: ("EISDIR", "Is a directory"),
        23: ("ENFILE", "Too many open files in system"),
        24: ("EMFILE", "Too many open files"),
        25: ("ENOTTY", "Inappropriate ioctl for device"),
        32: ("EPIPE", "Broken pipe"),
        35: ("EDEADLK", "Resource deadlock avoided"),
        36: ("ENAMETOOLONG", "File name too long"),
        39: ("ENOTEMPTY", "Directory not empty"),
        61: ("ENODATA", "No data available"),
        110: ("ETIMEDOUT", "Connection timed out"),
        112: ("EHOSTDOWN", "Host is down"),
        114: ("EALREADY", "Operation already in progress"),
        115: ("EINPROGRESS", "Operation now in progress"),
        116: ("ESTALE", "Stale file handle"),
        121: ("EREMOTEIO", "Remote I/O error"),
        125: ("ECANCELED", "Operation canceled"),
        524: ("ENOTSUPP", "Operation is not supported"),
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
