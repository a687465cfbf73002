// Mapping ZONE_DEVICE pages into a process the way device-dax does: a VM_MIXEDMAP VMA
// (drivers/dax/device.c: dax_mmap() sets VM_HUGEPAGE; the model maps at PTE level) whose
// pages are inserted with vm_insert_pages() (mm/memory.c: insert_page()).

/// A device-dax character device as mmap() sees it: its mappings are VM_MIXEDMAP |
/// VM_DONTEXPAND and have no page cache, so a fault on a page that was not inserted is
/// SIGBUS (the model's driver inserts every page up front).
public final class DevDAXFile: MappedFile {
    public let size: UInt64
    public var mode: FileMode { [.read, .write] }
    public var name: String { "/dev/dax0.0" }
    public var isDAX: Bool { true }
    public var isCharDevice: Bool { true }
    public init(size: UInt64) { self.size = size }

    public func mmapPrepare(flags: inout VMFlags, pgoff: UInt64, length: UInt64) throws(Errno) {
        guard pgoff &+ (length >> UserVM.pageShift) <= size >> UserVM.pageShift else { throw Errno.ENXIO }
        flags.formUnion([.mixedMap, .dontExpand])
    }
}

extension Process {
    /// Linux: `vm_insert_pages()`: map `pages` (struct pages of ZONE_DEVICE or RAM) from
    /// `address` in a VM_MIXEDMAP VMA, each PTE holding one folio reference and one
    /// mapping (insert_page(): folio_get(), folio_add_file_rmap_pte()). EINVAL outside
    /// such a VMA or for an unaligned address; EBUSY where a PTE is already populated;
    /// ENOMEM when a page table cannot be allocated.
    public func insertPages(_ pages: [Page], at address: UInt64, writable: Bool) throws(Errno) {
        guard address & (UserVM.pageSize - 1) == 0 else { throw Errno.EINVAL }
        try mm.mmapLock.withReadLock { () throws(Errno) in
            for (i, page) in pages.enumerated() {
                let addr = address &+ UInt64(i) << UserVM.pageShift
                guard let vma = mm.lockedVMALookup(addr), vma.flags.contains(.mixedMap) else { throw Errno.EINVAL }
                guard let pmd = tables.pmdSlot(addr, allocate: true), let table = tables.lowerTable(pmd, allocate: true) else {
                    throw Errno.ENOMEM
                }
                guard let folio = machine.pageFolio(page) else { throw Errno.EINVAL }
                tables.lockTable(table)
                let pte = tables.slot(table, Paging.index(addr, Paging.pageShift))
                guard pte.load().isNone else {
                    tables.unlockTable(table)
                    throw Errno.EBUSY
                }
                folio.get()
                machine.folioAddRmapPTEs(folio, firstPfn: page.pfn, nr: 1)
                pte.store(.page(pfn: page.pfn, writable: writable && vma.flags.contains(.write), dirty: false))
                tables.unlockTable(table)
            }
        }
    }
}
