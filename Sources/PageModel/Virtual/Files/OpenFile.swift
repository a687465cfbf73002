// An open file: struct file (include/linux/fs.h: f_mode, f_pos, f_inode) over a
// page-cache inode, mappable with mmap() (MappedFile).
import Synchronization

/// An open regular file. Linux: `struct file`. Conforms to `MappedFile`, so it can be
/// passed to `mmap(file:)`; the fault path reaches its page cache through `pageCache`.
///
/// Thread safety: `f_pos` is behind a `Mutex` (`f_pos_lock`); the rest is immutable.
public final class OpenFile: MappedFile, PageCacheBackedFile {
    public let inode: Inode
    /// `f_mode`.
    public let mode: FileMode
    private let filePosition = ModelMutex<Int64>(0)

    init(inode: Inode, mode: FileMode) {
        self.inode = inode
        self.mode = mode
    }

    /// `i_size`.
    public var size: UInt64 { UInt64(max(0, inode.size)) }
    public var name: String { inode.name }
    /// `file->f_mapping`.
    public var pageCache: PageCacheMapping { inode.mapping }
    public func pageCache(on machine: Machine) -> PageCacheMapping? { inode.mapping.machine === machine ? inode.mapping : nil }
    /// Linux: `vma_needs_dirty_tracking()` for a shared mapping of this file.
    public var needsDirtyTracking: Bool { inode.mapping.needsDirtyTracking }
    /// `f_pos`.
    public var position: Int64 { filePosition.withLock { $0 } }

    /// Linux: `lseek(fd, offset, SEEK_SET)`. EINVAL for a negative offset.
    @discardableResult
    public func seek(to offset: Int64) throws(Errno) -> Int64 {
        guard offset >= 0 else { throw .EINVAL }
        filePosition.withLock { $0 = offset }
        return offset
    }

    /// Linux: `read(fd, buf, count)`: `pread` at `f_pos`, which advances by what was read.
    public func read(count: Int) throws(Errno) -> [UInt8] {
        try filePosition.withLock { (pos: inout Int64) throws(Errno) -> [UInt8] in
            let bytes = try pread(count: count, offset: pos)
            pos += Int64(bytes.count)
            return bytes
        }
    }

    /// Linux: `write(fd, buf, count)`: `pwrite` at `f_pos`, which advances by what was
    /// written.
    @discardableResult
    public func write(_ bytes: [UInt8]) throws(Errno) -> Int {
        try filePosition.withLock { (pos: inout Int64) throws(Errno) -> Int in
            let written = try pwrite(bytes, offset: pos)
            pos += Int64(written)
            return written
        }
    }
}
