// A mounted filesystem of the model: tmpfs (mm/shmem.c) or a disk filesystem whose blocks
// are real bytes, with its inode table (fs/inode.c, fs/namei.c reduced to one directory)
// and the writeback counters of mm/page-writeback.c / mm/vmstat.c.
import Synchronization

/// What backs a filesystem's page cache.
public enum FilesystemKind: String, Sendable, CaseIterable {
    /// tmpfs / shmem (mm/shmem.c): no backing store, no writeback
    /// (`mapping_can_writeback()` is false), folios are PG_swapbacked and reclaim would
    /// swap them; holes read as zeroes.
    case shmem
    /// A block filesystem (ext4-like): every inode has blocks of real bytes; folios go
    /// dirty → writeback → clean (`vma_needs_dirty_tracking()` is true).
    case disk
}

/// File-size limits. Linux: `MAX_LFS_FILESIZE` (include/linux/fs.h) and `sb->s_maxbytes`.
public enum FileLimits {
    /// MAX_LFS_FILESIZE on 64-bit: `LLONG_MAX`.
    public static let maxLFSFileSize: Int64 = .max
    /// ext4's `s_maxbytes` for extent files with 4 KiB blocks: `EXT_MAX_BLOCKS << 12`
    /// (`ext4_max_size()`), 16 TiB − 4 KiB: the disk filesystem's default limit.
    public static let ext4MaxBytes: Int64 = 0xffff_ffff << 12
    /// MAX_RW_COUNT = INT_MAX & PAGE_MASK: the most one read()/write() moves.
    public static let maxRWCount = Int(Int32.max) & ~4095
    /// MFD_NAME_MAX_LEN = NAME_MAX - strlen("memfd:") (mm/memfd.c).
    public static let memfdNameMax = 255 - 6
    /// The page size the page cache indexes by (PAGE_SHIFT = 12).
    public static let pageShift = 12
    public static let pageSize = 1 << pageShift
}

/// The page-cache and writeback counters of /proc/vmstat, in pages, for one filesystem.
/// The kernel keeps them per node for every filesystem together; the model keeps one set
/// per `Filesystem` so that a test sees only its own. Relaxed atomics, as vmstat's
/// per-cpu counters are not exact either.
public final class WritebackStats: Sendable {
    let dirty = Atomic<Int>(0)
    let writeback = Atomic<Int>(0)
    let dirtied = Atomic<Int>(0)
    let written = Atomic<Int>(0)
    let filePages = Atomic<Int>(0)
    let shmemPages = Atomic<Int>(0)

    init() {}

    /// `nr_dirty` (NR_FILE_DIRTY): pages dirty in the page cache, waiting for writeback.
    public var nrDirty: Int { dirty.load(ordering: .relaxed) }
    /// `nr_writeback` (NR_WRITEBACK): pages under writeback now.
    public var nrWriteback: Int { writeback.load(ordering: .relaxed) }
    /// `nr_dirtied` (NR_DIRTIED): pages that went from clean to dirty, ever.
    public var nrDirtied: Int { dirtied.load(ordering: .relaxed) }
    /// `nr_written` (NR_WRITTEN): pages whose writeback completed, ever.
    public var nrWritten: Int { written.load(ordering: .relaxed) }
    /// `nr_file_pages` (NR_FILE_PAGES): pages in the page cache (shmem included).
    public var nrFilePages: Int { filePages.load(ordering: .relaxed) }
    /// `nr_shmem` (NR_SHMEM): of which shmem/tmpfs pages.
    public var nrShmem: Int { shmemPages.load(ordering: .relaxed) }

    /// All counters by their /proc/vmstat names.
    public var vmstat: [String: Int] {
        ["nr_dirty": nrDirty, "nr_writeback": nrWriteback, "nr_dirtied": nrDirtied,
         "nr_written": nrWritten, "nr_file_pages": nrFilePages, "nr_shmem": nrShmem]
    }
}

/// A mounted filesystem with one flat directory. Linux: `struct super_block` plus the
/// dcache of its root, reduced to a name → inode table.
///
/// Thread safety: the name table and the inode-number counter are behind one `Mutex`;
/// everything else is immutable.
public final class Filesystem: Sendable {
    public let machine: Machine
    public let kind: FilesystemKind
    /// The mount's name ("tmpfs", "disk").
    public let name: String
    /// `sb->s_maxbytes`.
    public let maxBytes: Int64
    /// The folio order new page-cache folios are created with, where the range allows
    /// (tmpfs `huge=always` is 9 on x86-64: PMD_ORDER). 0: small folios only.
    public let preferredOrder: Int
    public let stats = WritebackStats()

    private struct Table {
        var nextIno: UInt64 = 2   // the root directory has ino 1
        var names: [String: Inode] = [:]
    }
    private let table = ModelMutex(Table())

    /// Linux: `mount -t tmpfs` / mounting a block filesystem.
    /// - Parameters:
    ///   - preferredOrder: the order of new folios (clamped to 0...MAX_PAGE_ORDER).
    ///   - maxBytes: `s_maxbytes`; default MAX_LFS_FILESIZE for shmem, ext4's limit for disk.
    public init(machine: Machine, kind: FilesystemKind, name: String? = nil, preferredOrder: Int = 0, maxBytes: Int64? = nil) {
        self.machine = machine
        self.kind = kind
        self.name = name ?? (kind == .shmem ? "tmpfs" : "disk")
        self.preferredOrder = min(max(preferredOrder, 0), BuddyConstants.maxOrder)
        self.maxBytes = max(0, maxBytes ?? (kind == .shmem ? FileLimits.maxLFSFileSize : FileLimits.ext4MaxBytes))
    }

    func nextIno() -> UInt64 { table.withLock { t in defer { t.nextIno += 1 }; return t.nextIno } }

    /// Linux: `open(name, O_CREAT | O_EXCL | mode)`: a new, empty regular file.
    /// EEXIST if the name is taken, EINVAL for an empty name or one with '/', ENAMETOOLONG
    /// past NAME_MAX (255), ENOMEM when the address_space cannot be allocated.
    public func create(name: String, mode: FileMode = [.read, .write], preferredOrder: Int? = nil) throws(Errno) -> OpenFile {
        guard !name.isEmpty, !name.contains("/") else { throw .EINVAL }
        guard name.utf8.count <= 255 else { throw .ENAMETOOLONG }
        let inode = try Inode(filesystem: self, name: name, preferredOrder: preferredOrder ?? self.preferredOrder)
        let taken = table.withLock { t -> Bool in
            if t.names[name] != nil { return true }
            t.names[name] = inode
            return false
        }
        if taken { throw .EEXIST }
        return OpenFile(inode: inode, mode: mode)
    }

    /// Linux: `open(name, mode)` of an existing file. ENOENT if there is none.
    public func open(name: String, mode: FileMode = [.read, .write]) throws(Errno) -> OpenFile {
        guard let inode = table.withLock({ $0.names[name] }) else { throw .ENOENT }
        return OpenFile(inode: inode, mode: mode)
    }

    /// Linux: `unlink(name)`: the name goes; the inode and its pages go when the last
    /// open file (and mapping, which holds its file) is dropped (`iput()` → `evict()`).
    public func unlink(name: String) throws(Errno) {
        let removed = table.withLock { $0.names.removeValue(forKey: name) }
        guard let removed else { throw .ENOENT }
        removed.unlinked()
    }

    /// The inode behind a name, if any.
    public func inode(named name: String) -> Inode? { table.withLock { $0.names[name] } }

    /// The names in the directory, sorted.
    public var names: [String] { table.withLock { $0.names.keys.sorted() } }

    /// Linux: `open(dir, O_TMPFILE | mode)`: an unnamed file that lives as long as it is
    /// open or mapped.
    public func tmpfile(mode: FileMode = [.read, .write], preferredOrder: Int? = nil) throws(Errno) -> OpenFile {
        let inode = try Inode(filesystem: self, name: "#\(nextIno())", preferredOrder: preferredOrder ?? self.preferredOrder, linked: false)
        return OpenFile(inode: inode, mode: mode)
    }

    /// Linux: `memfd_create(name, 0)` (mm/memfd.c): an unnamed shmem file called
    /// "memfd:NAME", open read-write. EINVAL for a name over MFD_NAME_MAX_LEN (249) bytes,
    /// or on a filesystem that is not shmem (memfds always live on the internal shm mount).
    public func memfdCreate(name: String) throws(Errno) -> OpenFile {
        guard kind == .shmem, name.utf8.count <= FileLimits.memfdNameMax else { throw .EINVAL }
        let inode = try Inode(filesystem: self, name: "memfd:\(name)", preferredOrder: preferredOrder, linked: false)
        return OpenFile(inode: inode, mode: [.read, .write])
    }

    /// Linux: `sync_filesystem()`: write back every dirty folio of every named file.
    public func sync() {
        for inode in table.withLock({ Array($0.names.values) }) { inode.mapping.writebackAll() }
    }
}
