// Writing a file the user named (`--output`, `census --save`, the report's files) the way
// the shell's `>` would treat what is there, without ever leaving half a file behind.
import PageLayout
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes bytes to a path the user named.
///
/// - An existing symlink is followed: its target is written, the link stays.
/// - A regular file (or a new one) gets the bytes atomically: a temporary file in the
///   target's directory, created with the target's mode (and, as root, its owner and
///   group), filled, fsync'ed and renamed over the target. A failure leaves the old file.
///   A regular file with more than one hard link is written in place, as `>` would, so
///   that the other names keep seeing it; so is one in a directory where no temporary
///   file can be created but the file itself is writable.
/// - A character or block device or a FIFO is opened and written in place (`>` would;
///   opening a FIFO waits for a reader, as the shell does). It is never replaced.
/// - A directory, a socket or anything else is refused.
///
/// Every failure is `CensusError.unwritable` with the errno text, never a Foundation
/// error domain.
public enum OutputFile {
    public static func write(_ bytes: [UInt8], to path: String) throws(CensusError) {
        func fail(_ reason: String) -> CensusError { .unwritable(path: path, reason: reason) }
        var status = stat()
        guard stat(path, &status) == 0 else {
            guard errno == ENOENT else { throw fail(errnoText()) }
            // Nothing there (or a dangling symlink): a new regular file, created through
            // the link if there is one, with the mode `>` would give it.
            var link = stat()
            if lstat(path, &link) == 0 { return try writeInPlace(bytes, path: path, create: true) }
            return try replaceAtomically(bytes, target: path, mode: 0o666 & ~currentUmask(), owner: nil)
        }
        switch status.st_mode & S_IFMT {
        case S_IFREG:
            if status.st_nlink > 1 { return try writeInPlace(bytes, path: path, create: false) }
            // The rename must replace the file the link points at, not the link.
            let target = resolved(path) ?? path
            try replaceAtomically(bytes, target: target, mode: status.st_mode & 0o7777,
                                  owner: geteuid() == 0 ? (status.st_uid, status.st_gid) : nil)
        case S_IFCHR, S_IFBLK, S_IFIFO:
            try writeInPlace(bytes, path: path, create: false)
        case S_IFDIR:
            throw fail("it is a directory")
        default:
            throw fail("it is not a regular file, a device or a FIFO")
        }
    }

    /// `mkdir -p`: the directory and its missing parents (for `report --out DIR`); an
    /// existing directory is fine, anything else in the way is an error.
    public static func makeDirectory(_ path: String) throws(CensusError) {
        var prefix = path.hasPrefix("/") ? "/" : ""
        for component in path.split(separator: "/") {
            prefix += component
            if mkdir(prefix, 0o777) != 0, errno != EEXIST { throw .unwritable(path: prefix, reason: errnoText()) }
            prefix += "/"
        }
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFDIR else {
            throw .unwritable(path: path, reason: "it is not a directory")
        }
    }

    /// open(O_WRONLY | O_TRUNC) and write, as the shell's `>` does.
    private static func writeInPlace(_ bytes: [UInt8], path: String, create: Bool) throws(CensusError) {
        let flags = O_WRONLY | O_CLOEXEC | (create ? O_CREAT | O_TRUNC : 0)
        let fd = open(path, flags, 0o666)
        guard fd >= 0 else { throw .unwritable(path: path, reason: errnoText()) }
        var status = stat()
        // Truncate only what can be truncated: a device or a FIFO cannot.
        if !create, fstat(fd, &status) == 0, status.st_mode & S_IFMT == S_IFREG { _ = ftruncate(fd, 0) }
        if let reason = writeAll(fd, bytes) {
            close(fd)
            throw .unwritable(path: path, reason: reason)
        }
        guard close(fd) == 0 else { throw .unwritable(path: path, reason: errnoText()) }
    }

    /// Temporary file next to `target`, then rename(2) over it.
    private static func replaceAtomically(_ bytes: [UInt8], target: String, mode: mode_t,
                                          owner: (uid_t, gid_t)?) throws(CensusError) {
        let slash = target.lastIndex(of: "/")
        let directory = slash.map { String(target[...$0]) } ?? ""
        let name = slash.map { String(target[target.index(after: $0)...]) } ?? target
        var template = Array((directory + "." + name + ".pagelab-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else {
            // A directory this user cannot create files in, holding a file they may write:
            // `>` would write it in place, and so does PageLab (not atomically).
            if errno == EACCES, owner == nil, access(target, W_OK) == 0 { return try writeInPlace(bytes, path: target, create: false) }
            throw .unwritable(path: target, reason: errnoText())
        }
        let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var failure: String?
        if fchmod(fd, mode) != 0 { failure = errnoText() }
        if failure == nil, let (uid, gid) = owner, fchown(fd, uid, gid) != 0 { failure = errnoText() }
        if failure == nil { failure = writeAll(fd, bytes) }
        if failure == nil, fsync(fd) != 0 { failure = errnoText() }
        if close(fd) != 0, failure == nil { failure = errnoText() }
        if failure == nil, rename(temporary, target) != 0 { failure = errnoText() }
        if let failure {
            unlink(temporary)
            throw .unwritable(path: target, reason: failure)
        }
    }

    /// Writes everything, looping over short writes; the errno text on failure.
    private static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> String? {
        bytes.withUnsafeBytes { raw -> String? in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errnoText()
                }
                done += n
            }
            return nil
        }
    }

    /// The path with every symlink resolved (realpath(3)), nil when it cannot be.
    private static func resolved(_ path: String) -> String? {
        guard let pointer = realpath(path, nil) else { return nil }
        defer { free(pointer) }
        return String(cString: pointer)
    }

    private static func currentUmask() -> mode_t {
        let mask = umask(0o022)
        umask(mask)
        return mask
    }

    private static func errnoText() -> String { InputFile.errnoText() }
}
