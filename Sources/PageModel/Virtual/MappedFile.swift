// A file as mmap() sees it: the `struct file` a VMA's vm_file points to, reduced to what
// mm/mmap.c and mm/vma.c look at. Files with a page cache (Files/) also conform to
// PageCacheBackedFile, which the fault path uses.
import Atomics

/// The open mode bits of a `struct file` that mmap() checks (`f_mode`, include/linux/fs.h).
public struct FileMode: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let read = FileMode(rawValue: 0x1)   // FMODE_READ
    public static let write = FileMode(rawValue: 0x2)  // FMODE_WRITE
}

/// A file that can be mapped. Two VMAs map "the same file" when they hold the same object
/// (`vma->vm_file == vmg->file` in is_mergeable_vma()), so conformers are classes.
public protocol MappedFile: AnyObject, Sendable {
    /// `i_size` in bytes. mmap() does not check it (a mapping past EOF is legal and
    /// faults with SIGBUS); the fault and page-cache layers do.
    var size: UInt64 { get }
    /// `f_mode`: FMODE_READ is needed for any mapping, FMODE_WRITE for a writable shared one.
    var mode: FileMode { get }
    /// `f_op->mmap_supported_flags`: extra flags MAP_SHARED_VALIDATE accepts (MAP_SYNC on DAX).
    var mmapSupportedFlags: MapFlags { get }
    /// Whether the mapping's vm_ops has a `close` hook (VMAs with one are never removed by a merge).
    var hasVMClose: Bool { get }
    /// A short name for listings ("/dev/zero (deleted)", "data.bin").
    var name: String { get }
    /// `IS_DAX(inode)`: the file's data are mapped straight from persistent memory, with
    /// no page cache (device-dax, or a file on a filesystem mounted `-o dax`).
    var isDAX: Bool { get }
    /// `S_ISCHR(inode->i_mode)`: a character device (device-dax is one, fsdax files are not).
    var isCharDevice: Bool { get }
    /// Linux: `f_op->mmap_prepare()`: called by mmap() for a new mapping of `length` bytes
    /// from page `pgoff`; may add VMA flags (a driver's VM_PFNMAP | VM_IO | VM_DONTEXPAND |
    /// VM_DONTDUMP, a DAX file's VM_HUGEPAGE...) or refuse with an errno.
    func mmapPrepare(flags: inout VMFlags, pgoff: UInt64, length: UInt64) throws(Errno)
}

extension MappedFile {
    public var mmapSupportedFlags: MapFlags { [] }
    public var hasVMClose: Bool { false }
    public var isDAX: Bool { false }
    public var isCharDevice: Bool { false }
    public func mmapPrepare(flags: inout VMFlags, pgoff: UInt64, length: UInt64) throws(Errno) {}
}

/// The identity of a mapped file inside a VMA: equal when it is the same object.
public struct FileRef: Equatable, Sendable {
    public let file: any MappedFile
    public init(_ file: any MappedFile) { self.file = file }
    public static func == (lhs: FileRef, rhs: FileRef) -> Bool { lhs.file === rhs.file }
}

/// The shmem object behind a shared anonymous mapping. Linux: `shmem_zero_setup()` gives
/// every MAP_SHARED|MAP_ANONYMOUS mapping its own "/dev/zero (deleted)" shmem file, which
/// is why such mappings never merge with each other. Its shmem inode is made on the
/// first fault, on the machine that faults.
public final class SharedAnonymousFile: MappedFile, PageCacheBackedFile {
    public let size: UInt64
    public var mode: FileMode { [.read, .write] }
    public var name: String { "/dev/zero (deleted)" }
    private let backing = ManagedAtomicLazyReference<OpenFile>()
    public init(size: UInt64) { self.size = size }

    public func pageCache(on machine: Machine) -> PageCacheMapping? {
        if let file = backing.load() { return file.pageCache }
        guard let file = try? Filesystem(machine: machine, kind: .shmem, name: "shm").tmpfile(),
              (try? file.ftruncate(Int64(clamping: size))) != nil else { return nil }
        return backing.storeIfNilThenLoad(file).pageCache
    }
}
