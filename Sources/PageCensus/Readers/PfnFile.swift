// Reading /proc/kpageflags, /proc/kpagecount and /proc/kpagecgroup (fs/proc/page.c):
// 8 bytes per pfn, a size that stat() reports as 0, so they are read to end of file.
import PageLayout
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One of the 8-byte-per-pfn files, read sequentially in large chunks with read(2).
/// The file descriptor is the only resource; all pointer work on the caller's buffer is
/// in `read(into:)`. Sendable: the descriptor never changes, and each file is read by
/// one thread at a time.
public final class PfnFile: @unchecked Sendable {
    public let path: String
    fileprivate let fd: Int32

    /// Opens `path` read-only. Linux: `proc_create("kpageflags", S_IRUSR, ...)`, mode
    /// 0400, so this fails for anyone but root. Anything but a regular file (a FIFO,
    /// /dev/zero) is refused: the real files are regular files of procfs.
    public init(path: String) throws(CensusError) {
        self.path = path
        do { fd = try InputFile.openRegular(path) } catch { throw .unreadable(path: path, reason: error.reason) }
    }

    deinit { close(fd) }

    /// Fills `buffer` from the current position with whole 8-byte entries, looping over
    /// short reads; returns how many entries were read (fewer than `buffer.count` only at
    /// end of file). Linux: `kpage_read()` returns whole u64s only.
    public func read(into buffer: inout [UInt64]) throws(CensusError) -> Int {
        let wanted = buffer.count * 8
        var got = 0
        let failure: Int32 = buffer.withUnsafeMutableBytes { raw -> Int32 in
            guard let base = raw.baseAddress else { return 0 }
            while got < wanted {
                let n = Glibc.read(fd, base + got, wanted - got)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                if n == 0 { break }
                got += n
            }
            return 0
        }
        if failure != 0 { throw .unreadable(path: path, reason: String(cString: strerror(failure))) }
        return got / 8
    }
}

extension PfnFile {
    /// Fills `buffer` with the entries of pfns `pfn ..< pfn + buffer.count` using pread(2),
    /// so that several threads can read disjoint ranges of one file at once (the kernel
    /// takes no lock for it: `kpage_read()` only calls `cond_resched()` per pfn). Returns
    /// how many entries were read; fewer only at end of file. A file that ends inside an
    /// entry is an error: `kpage_read()` only ever returns whole u64s.
    public func read(into buffer: UnsafeMutableBufferPointer<UInt64>, atPfn pfn: Int) throws(CensusError) -> Int {
        guard let base = buffer.baseAddress else { return 0 }
        let raw = UnsafeMutableRawPointer(base)
        let wanted = buffer.count * 8
        var got = 0
        while got < wanted {
            let n = pread(fd, raw + got, wanted - got, off_t(pfn * 8 + got))
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { break }
            got += n
        }
        guard got % 8 == 0 else {
            throw .unreadable(path: path, reason: "it ends at byte \(pfn * 8 + got), inside the 8-byte entry of pfn \(pfn + got / 8)")
        }
        return got / 8
    }
}

/// Reads a whole text or binary file whose size may read as 0 (/proc files), to EOF.
public enum WholeFile {
    /// The /proc text files are well under this; a bigger file is not one of them.
    public static let defaultLimit = 64 << 20

    /// The whole regular file (`InputFile.openRegular`), refused past `limit` bytes.
    public static func bytes(_ path: String, limit: Int = defaultLimit) throws(CensusError) -> [UInt8] {
        let fd: Int32
        do { fd = try InputFile.openRegular(path) } catch { throw .unreadable(path: path, reason: error.reason) }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .unreadable(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { return out }
            guard n <= limit - out.count else { throw .unreadable(path: path, reason: "larger than \(limit >> 20) MiB") }
            out.append(contentsOf: chunk[0..<n])
        }
    }

    public static func text(_ path: String) throws(CensusError) -> String {
        String(decoding: try bytes(path), as: UTF8.self)
    }
}
