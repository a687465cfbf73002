// mm/vmalloc.c (v6.19) remap_vmalloc_range_partial() / remap_vmalloc_range() and the
// mm/memory.c vm_insert_page() → insert_page() they call per page: how a driver (perf's
// ring buffer, io_uring's rings, BPF ringbuf, videobuf2-vmalloc) maps vmalloc memory
// into a process.

/// A driver's character device whose mmap() handler maps a vmalloc area (the model's
/// stand-in for perf_fops, io_uring_fops, ...): a VM_SHARED mapping with no page cache;
/// the driver calls `Process.remapVmallocRange` on it.
public final class VmallocDeviceFile: MappedFile {
    public let size: UInt64
    public let name: String
    public var mode: FileMode { [.read, .write] }
    public var isCharDevice: Bool { true }
    public init(size: UInt64, name: String = "vmalloc-dev") {
        self.size = size
        self.name = name
    }
}

/// A user mapping of a vmalloc page that holds no reference (the memdesc designs'
/// "treated like a PFNMAP": option 2 of the seed). Kept by the model only, as a
/// use-after-free checker would, so that vfree() can tell when it frees a page a user
/// PTE still maps; the kernel keeps no such record.
struct UntrackedUserMapping {
    weak var tables: UserPageTables?
    let address: UInt64
    let pfn: Int
}

extension Process {
    /// Linux: `remap_vmalloc_range(vma, addr, pgoff)`: the whole VMA containing
    /// `vmaStart` from page `pgoff` of the area at `kaddr`.
    public func remapVmallocRange(_ space: VmallocSpace, vmaStart: UInt64, kaddr: UInt64, pgoff: UInt64) throws(Errno) {
        let span: (UInt64, UInt64)? = mm.mmapLock.withReadLock { mm.lockedVMALookup(vmaStart).map { ($0.start, $0.end) } }
        guard let (start, end) = span, start == vmaStart else { throw Errno.EINVAL }
        try remapVmallocRangePartial(space, uaddr: start, kaddr: kaddr, pgoff: pgoff, size: end - start)
    }

    /// Linux: `remap_vmalloc_range_partial(vma, uaddr, kaddr, pgoff, size)`: EINVAL for
    /// an offset that overflows, an unaligned `uaddr` or `kaddr`, an address that is
    /// not a vmalloc area, an area without VM_USERMAP (or VM_DMA_COHERENT), or a range
    /// past the area's usable size; otherwise one `vm_insert_page()` per page (its errno
    /// is returned, the pages inserted before stay), then VM_DONTEXPAND | VM_DONTDUMP.
    public func remapVmallocRangePartial(_ space: VmallocSpace, uaddr: UInt64, kaddr: UInt64, pgoff: UInt64, size: UInt64) throws(Errno) {
        let pageSize = VmallocSpace.pageSize
        guard pgoff < 1 << (64 - VmallocSpace.pageShift) else { throw Errno.EINVAL }
        let off = pgoff << VmallocSpace.pageShift
        guard let aligned = VmallocSpace.pageAlign(size) else { throw Errno.EINVAL }
        guard uaddr & (pageSize - 1) == 0, kaddr & (pageSize - 1) == 0 else { throw Errno.EINVAL }
        guard let area = space.findVMArea(kaddr), area.addr == kaddr else { throw Errno.EINVAL }
        guard !area.flags.isDisjoint(with: [.userMap, .dmaCoherent]) else { throw Errno.EINVAL }
        let (endIndex, overflow) = aligned.addingReportingOverflow(off)
        guard !overflow, endIndex <= area.usableSize else { throw Errno.EINVAL }
        try mm.mmapLock.withWriteLock { () throws(Errno) in
            // Seed 004's VMA placements: the driver's mmap handler keeps the area's
            // scamem in vm_private_data, where GUP's slow path and zap find it.
            if space.placement.needsVMA, let scamem = area.scamem, let index = mm.tree.index(containing: uaddr) {
                mm.tree[index].privateData = scamem
            }
            var index: UInt64 = 0
            while index < aligned {
                guard let page = space.vmallocToPage(kaddr &+ off &+ index) else { throw Errno.EFAULT }
                try vmInsertPageLocked(uaddr &+ index, page, area: area)
                index += pageSize
            }
            if let index = mm.tree.index(containing: uaddr) { mm.tree[index].flags.formUnion([.dontExpand, .dontDump]) }
        }
    }

    /// Linux: `vm_insert_page(vma, addr, page)` with the mmap_lock held for write (the
    /// driver's mmap handler): EFAULT outside a VMA; a VM_PFNMAP VMA is the kernel's
    /// BUG_ON, recorded, EINVAL; the VMA becomes VM_MIXEDMAP. `insert_page()`: EBUSY on
    /// a populated PTE; a page with a folio gets `folio_get()` and
    /// `folio_add_file_rmap_pte()` (v6.19: GUP then works through its refcount); a page
    /// whose memdesc is no folio gets a reference on the area's scamem where it has one
    /// (seed 004 option 4) and a normal PTE; otherwise (Misc/Vmalloc, "no refcount ...
    /// treated like a PFNMAP", option 2) a special PTE with no reference, which GUP
    /// refuses (-EEXIST) and which the model remembers for its use-after-free check.
    func vmInsertPageLocked(_ addr: UInt64, _ page: Page, area: VMStruct) throws(Errno) {
        guard let index = mm.tree.index(containing: addr) else { throw Errno.EFAULT }
        let vma = mm.tree[index]
        if !vma.flags.contains(.mixedMap) {
            guard !vma.flags.contains(.pfnMap) else {
                machine.diagnostics.record(Diagnostic(kind: .bug, pfn: UInt64(page.pfn), reason: "vm_insert_page: BUG_ON(vma->vm_flags & VM_PFNMAP)"))
                throw Errno.EINVAL
            }
            mm.tree[index].flags.formUnion(.mixedMap)
        }
        let folio = machine.pageFolio(page)
        if let folio, folio.refcount == 0 || machine.folioIsAnon(folio) { throw Errno.EINVAL }
        guard let pmd = tables.pmdSlot(addr, allocate: true), let table = tables.lowerTable(pmd, allocate: true) else { throw Errno.ENOMEM }
        tables.lockTable(table)
        defer { tables.unlockTable(table) }
        let pte = tables.slot(table, Paging.index(addr, Paging.pageShift))
        guard pte.load().isNone else { throw Errno.EBUSY }
        let writable = vma.flags.isSuperset(of: [.write, .shared])
        if let folio {
            folio.get()
            machine.folioAddRmapPTEs(folio, firstPfn: page.pfn, nr: 1)
            pte.store(.page(pfn: page.pfn, writable: writable))
        } else if let scamem = area.scamem, machine.scamemGet(scamem) {
            // Options 3 and 4: the PTE holds one reference on the scamem (zap drops
            // it); no mapcount exists to raise.
            pte.store(.page(pfn: page.pfn, writable: writable))
        } else if machine.vmallocMemdescGet(page, mapping: true) {
            // Option 1: a reference and a mapcount on the page's own descriptor.
            pte.store(.page(pfn: page.pfn, writable: writable))
        } else {
            pte.store(.page(pfn: page.pfn, writable: writable, special: true))
            area.untracked.withLock { $0.append(UntrackedUserMapping(tables: tables, address: addr, pfn: page.pfn)) }
        }
    }
}
