// Opening a file PageLab reads (a kconfig, a snapshot, /proc or a --proc directory's
// files) without blocking on a FIFO and without reading a device forever.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why an input could not be opened, as one phrase ("no such file", "it is a FIFO ...").
public struct InputFileError: Error, Equatable {
    public let reason: String
}

public enum InputFile {
    /// Opens `path` read-only and returns the descriptor, refusing anything but a regular
    /// file. Every file PageLab reads is one: /proc/config.gz, /proc/kpageflags and the
    /// other /proc files are regular files of procfs (fs/proc/generic.c,
    /// `proc_create()` with S_IFREG). A FIFO would block the open and every read; a
    /// character device such as /dev/zero never ends. The open is O_NONBLOCK so that a
    /// FIFO with no writer does not block it; the flag is cleared before returning.
    public static func openRegular(_ path: String) throws(InputFileError) -> Int32 {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw InputFileError(reason: errnoText()) }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            let reason = errnoText()
            close(fd)
            throw InputFileError(reason: reason)
        }
        let kind = status.st_mode & S_IFMT
        guard kind == S_IFREG else {
            close(fd)
            throw InputFileError(reason: kind == S_IFDIR ? "it is a directory" : "it is \(describe(kind)), not a regular file")
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return fd
    }

    private static func describe(_ kind: mode_t) -> String {
        switch kind {
        case S_IFIFO: "a FIFO"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "not a regular file"
        }
    }

    /// The errno of the last call, as the one phrase PageLab prints.
    public static func errnoText() -> String {
        switch errno {
        case ENOENT: "no such file"
        case EACCES: "permission denied"
        case EISDIR: "it is a directory"
        default: String(cString: strerror(errno))
        }
    }
}
