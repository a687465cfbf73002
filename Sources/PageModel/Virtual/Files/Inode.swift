// An inode and the blocks behind it: struct inode (include/linux/fs.h: i_ino, i_size,
// i_rwsem, i_data) and, for the disk filesystem, its blocks as real bytes; eviction is
// fs/inode.c evict() → truncate_inode_pages_final() (mm/truncate.c).
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The blocks of one disk inode: a sparse map from page index to 4096 real bytes. An
/// absent page is a hole (reads as zeroes). Thread safe behind a `Mutex`.
/// Linux: the inode's blocks on the block device, reached through `->read_folio()` and
/// `->writepages()`.
public final class DiskBlocks: Sendable {
    private let pages = ModelMutex<[UInt64: [UInt8]]>([:])

    init() {}

    /// Copies page `index` into `destination` (4096 bytes); zeroes for a hole. Returns
    /// whether the page was allocated.
    @discardableResult
    func read(_ index: UInt64, into destination: UnsafeMutableRawPointer) -> Bool {
        pages.withLock { pages in
            guard let bytes = pages[index] else {
                memset(destination, 0, FileLimits.pageSize)
                return false
            }
            bytes.withUnsafeBytes { _ = memcpy(destination, $0.baseAddress!, FileLimits.pageSize) }
            return true
        }
    }

    /// Stores 4096 bytes from `source` as page `index`.
    func write(_ index: UInt64, from source: UnsafeRawPointer) {
        let bytes = Array(UnsafeRawBufferPointer(start: source, count: FileLimits.pageSize))
        pages.withLock { $0[index] = bytes }
    }

    /// Allocates zeroed pages for the holes of [first, last] (fallocate mode 0).
    func allocate(_ first: UInt64, _ last: UInt64) {
        guard first <= last else { return }
        pages.withLock { pages in
            var index = first
            while true {
                if pages[index] == nil { pages[index] = [UInt8](repeating: 0, count: FileLimits.pageSize) }
                if index == last { break }
                index += 1
            }
        }
    }

    /// Frees every page in [first, last] (punch hole, truncate).
    func discard(_ first: UInt64, _ last: UInt64) {
        guard first <= last else { return }
        pages.withLock { pages in
            if last - first < UInt64(pages.count) {
                var index = first
                while true {
                    pages.removeValue(forKey: index)
                    if index == last { break }
                    index += 1
                }
            } else {
                for key in pages.keys where key >= first && key <= last { pages.removeValue(forKey: key) }
            }
        }
    }

    /// Zeroes bytes [from, to) of page `index` if it is allocated.
    func zero(_ index: UInt64, from: Int, to: Int) {
        guard from < to, from >= 0, to <= FileLimits.pageSize else { return }
        pages.withLock { pages in
            guard pages[index] != nil else { return }
            for i in from..<to { pages[index]![i] = 0 }
        }
    }

    /// The bytes of page `index`, nil for a hole (tests, dumps).
    public func page(_ index: UInt64) -> [UInt8]? { pages.withLock { $0[index] } }

    /// Allocated pages (`i_blocks` / 8).
    public var allocatedPages: Int { pages.withLock { $0.count } }

    /// The allocated page indices, sorted.
    public var allocatedIndices: [UInt64] { pages.withLock { $0.keys.sorted() } }
}

/// An inode: a regular file's identity, size and page cache. Linux: `struct inode`.
///
/// Thread safety: `i_size` is an atomic (`i_size_read()`/`i_size_write()`); writers of
/// the file (write, truncate, fallocate) serialise on `rwsem` (`i_rwsem`); the page cache
/// has its own lock. Everything else is immutable.
public final class Inode: Sendable {
    /// `i_ino`.
    public let ino: UInt64
    /// The name it was created with ("memfd:NAME" for memfds, "#ino" for O_TMPFILE).
    public let name: String
    public let kind: FilesystemKind
    /// `sb->s_maxbytes` of its filesystem.
    public let maxBytes: Int64
    /// The order new page-cache folios of this file are created with, where the range
    /// allows.
    public let preferredOrder: Int
    /// `inode->i_data`: the page cache.
    public let mapping: PageCacheMapping
    /// The disk filesystem's blocks; nil for shmem.
    public let blocks: DiskBlocks?
    let stats: WritebackStats
    let machine: Machine
    private let sizeStore = Atomic<Int64>(0)
    private let linkCount: Atomic<Int>
    /// `inode->i_rwsem`, held for writing by write, truncate and fallocate.
    let rwsem = ModelMutex<Void>(())

    init(filesystem: Filesystem, name: String, preferredOrder: Int, linked: Bool = true) throws(Errno) {
        ino = filesystem.nextIno()
        self.name = name
        kind = filesystem.kind
        maxBytes = filesystem.maxBytes
        self.preferredOrder = min(max(preferredOrder, 0), BuddyConstants.maxOrder)
        stats = filesystem.stats
        machine = filesystem.machine
        blocks = filesystem.kind == .disk ? DiskBlocks() : nil
        linkCount = Atomic(linked ? 1 : 0)
        mapping = try PageCacheMapping(machine: filesystem.machine, kind: filesystem.kind, stats: filesystem.stats)
        mapping.attach(host: self)
    }

    deinit {
        // Linux: evict() → truncate_inode_pages_final(): every folio leaves the cache,
        // dirty or not; the address_space is freed.
        mapping.evict()
    }

    /// `i_size_read()`.
    public var size: Int64 { sizeStore.load(ordering: .acquiring) }

    /// `i_size_write()`; callers hold `rwsem`.
    func setSize(_ size: Int64) { sizeStore.store(size, ordering: .releasing) }

    /// `i_nlink`.
    public var nlink: Int { linkCount.load(ordering: .relaxed) }

    func unlinked() { linkCount.store(0, ordering: .relaxed) }

    /// The number of pages `i_size` spans: DIV_ROUND_UP(i_size, PAGE_SIZE).
    public var sizeInPages: UInt64 { (UInt64(size) + UInt64(FileLimits.pageSize - 1)) >> UInt64(FileLimits.pageShift) }

    /// The highest page index a file of this filesystem may have.
    var maxIndex: UInt64 { maxBytes > 0 ? UInt64(maxBytes - 1) >> UInt64(FileLimits.pageShift) : 0 }
}
