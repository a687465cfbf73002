// A file on a filesystem mounted with -o dax (fs/dax.c, fs/ext4/file.c: ext4_file_mmap()
// sets VM_HUGEPAGE for an IS_DAX() inode; include/linux/fs.h: vma_is_fsdax()): its data
// are MEMORY_DEVICE_FS_DAX pages of a pmem device, mapped with no page cache. GUP treats
// its mappings apart: FOLL_LONGTERM is refused with -EOPNOTSUPP (check_vma_flags()),
// because the filesystem must be able to move or truncate the blocks under a pin.

/// A DAX filesystem's regular file as mmap() sees it (IS_DAX, not a character device, so
/// `vma_is_fsdax()`); MAP_SYNC is accepted (MAP_SHARED_VALIDATE).
///
/// Deliberate difference: the kernel's DAX fault handler (`dax_iomap_fault()`) inserts
/// the file's pages as they fault; the model's filesystem inserts them up front with
/// `Process.insertPages` (vm_insert_pages()), which needs VM_MIXEDMAP, so `mmapPrepare`
/// adds it beside the VM_HUGEPAGE ext4 sets. A fault on a page not inserted is SIGBUS.
public final class FSDAXFile: MappedFile {
    public let size: UInt64
    public let name: String
    public var mode: FileMode { [.read, .write] }
    public var isDAX: Bool { true }
    public var mmapSupportedFlags: MapFlags { [.sync] }
    public init(size: UInt64, name: String = "/mnt/pmem0/data") {
        self.size = size
        self.name = name
    }

    public func mmapPrepare(flags: inout VMFlags, pgoff: UInt64, length: UInt64) throws(Errno) {
        flags.formUnion([.hugePage, .mixedMap])
    }
}
