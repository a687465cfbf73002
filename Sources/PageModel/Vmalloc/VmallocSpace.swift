// mm/vmalloc.c (v6.19): __vmalloc_node_range(), vmalloc(), vmalloc_user(), vmap(),
// vunmap(), vfree(), vmalloc_to_page(), and the kernel page tables of the vmalloc range
// (vmap_pages_range(), vunmap_range_noflush()).
import Synchronization

/// The vmalloc space of one machine: init_mm's page tables for the vmalloc range (real
/// four-level tables in model memory, the same code as user page tables), the
/// vmap_areas, and vmalloc's accounting. One per machine is the kernel's; the model
/// lets a caller create it on demand (a deliberate difference: the machine does not
/// own one, so that machines that never vmalloc pay nothing).
public final class VmallocSpace: @unchecked Sendable {
    public static let pageShift: UInt64 = 12
    public static let pageSize: UInt64 = 1 << pageShift

    public let machine: Machine
    /// init_mm's tables for the vmalloc range (`pgd_offset_k()`); allocated as the user
    /// tables are (GFP_PGTABLE_USER rather than GFP_PGTABLE_KERNEL: both zeroed).
    let tables: UserPageTables
    /// VMALLOC_START ..< VMALLOC_END.
    public let range: Range<UInt64>
    /// `vmap_area_lock` and `free_vmap_area_lock` as one lock.
    let state = Mutex(VmapAreaSet())
    /// `nr_vmalloc_pages` (/proc/meminfo VmallocUsed).
    let nrVmallocPages = Atomic<Int>(0)
    /// Lazy purges run (`__purge_vmap_area_lazy()` calls).
    let purges = Atomic<Int>(0)
    /// Pages vfree() gave back while a user PTE still mapped them without a reference.
    let useAfterFreeCount = Atomic<Int>(0)

    /// How VM_USERMAP areas' pages are kept alive while mapped or pinned: default
    /// per-page refcounts where pages have a folio (v6.19), scamem on the memdesc designs.
    public let tracking: VmallocTracking
    /// Where a page's scamem (options 3 and 4) and its node and zone are found (seed
    /// 004's open question).
    public let placement: ScamemPlacement

    /// Throws ENOMEM when no page is left for the top-level table; EINVAL for a VMA
    /// placement on a design other than memdesc8 (only the 8-byte word lacks the room
    /// the placements are about: memdesc32's Misc is one word value, struct page keeps
    /// node and zone in page->flags).
    public init(machine: Machine, onlineCPUs: Int = 1, tracking: VmallocTracking? = nil, placement: ScamemPlacement = .memdescPointer) throws(Errno) {
        guard !placement.needsVMA || machine.layout.kind.wordHoldsScamemPlacements else { throw .EINVAL }
        self.machine = machine
        self.onlineCPUs = onlineCPUs
        self.placement = placement
        self.tracking = tracking ?? (machine.layout.foliosAreDescriptors ? .scamem : .pageRefcount)
        tables = try UserPageTables(machine: machine)
        range = machine.addressMap.vmallocStart..<machine.addressMap.vmallocEnd
    }

    /// `num_online_cpus()` as `lazy_max_pages()` sees it (the model's machine has no CPU
    /// count of its own; 1 unless set).
    public let onlineCPUs: Int

    /// Linux: `lazy_max_pages()`: `fls(num_online_cpus()) * 32 MiB / PAGE_SIZE`.
    public var lazyMaxPages: Int {
        let cpus = max(1, onlineCPUs)
        let fls = Int.bitWidth - cpus.leadingZeroBitCount
        return fls * (32 << 20) >> Int(Self.pageShift)
    }

    /// `vmap_lazy_nr`: pages of freed areas not yet purged.
    public var lazyPages: Int { state.withLock { $0.lazyPages } }
    /// `vmalloc_nr_pages()`.
    public var nrPages: Int { nrVmallocPages.load(ordering: .relaxed) }
    /// Use-after-free diagnostics so far: pages vfree() freed while a user PTE holding
    /// no reference still mapped them (the memdesc designs' untracked option).
    public var useAfterFree: Int { useAfterFreeCount.load(ordering: .relaxed) }
    /// Lazy purges run so far.
    public var purgeCount: Int { purges.load(ordering: .relaxed) }

    // MARK: Allocation

    /// Linux: `vmalloc(size)`: GFP_KERNEL, VM_ALLOC, any node.
    public func vmalloc(_ size: UInt64, caller: String = "vmalloc") -> UInt64? {
        vmallocNodeRange(size, gfp: .kernel, nid: nil, flags: [], caller: caller)
    }

    /// Linux: `vmalloc_user(size)`: zeroed (GFP_KERNEL | __GFP_ZERO) and VM_USERMAP, so
    /// that remap_vmalloc_range() may map it (no stale kernel data reaches user space).
    public func vmallocUser(_ size: UInt64, caller: String = "vmalloc_user") -> UInt64? {
        vmallocNodeRange(size, gfp: [.kernel, .zero], nid: nil, flags: .userMap, caller: caller)
    }

    /// Linux: `vmalloc_huge_node(size, gfp, NUMA_NO_NODE)`: VM_ALLOW_HUGE_VMAP, so that
    /// a size of at least PMD_SIZE is mapped by PMD leaves of order-9 pages.
    public func vmallocHuge(_ size: UInt64, gfp: GFP = .kernel, caller: String = "vmalloc_huge") -> UInt64? {
        vmallocNodeRange(size, gfp: gfp, nid: nil, flags: .allowHugeVmap, caller: caller)
    }

    /// Linux: `__vmalloc_node_range()` (+ `__vmalloc_area_node()`,
    /// `vm_area_alloc_pages()`): a VA range of the page-aligned size plus a guard page,
    /// pages from node `nid` (nil: the local node, NUMA_NO_NODE), each mapped in the
    /// kernel tables. With VM_ALLOW_HUGE_VMAP and a size of at least PMD_SIZE
    /// (`arch_vmap_pmd_supported()`; x86's `arch_vmap_pte_supported_shift()` is
    /// PAGE_SHIFT) the size and alignment are PMD_SIZE multiples, `page_order` is 9 and
    /// the pages are mapped by PMD leaves; when that fails, the whole allocation is
    /// retried with order-0 pages (the `fail:` → `again:` path). nil, with the kernel's
    /// warning, for a zero size (WARN_ON_ONCE), a size beyond total RAM ("exceeds total
    /// pages"), no VA space or no pages; what was taken is given back.
    public func vmallocNodeRange(_ size: UInt64, gfp: GFP, nid: Int?, flags: VMAreaFlags, caller: String) -> UInt64? {
        guard size != 0 else {
            machine.diagnostics.recordOnce(site: "__vmalloc_node_range:size0", Diagnostic(kind: .warn, reason: "__vmalloc_node_range: WARN_ON_ONCE(!size)"))
            return nil
        }
        let totalPages = machine.allZones.reduce(0) { $0 + $1.managed }
        guard let aligned = Self.pageAlign(size), aligned >> Self.pageShift <= UInt64(totalPages) else {
            warn("vmalloc error: size \(size), exceeds total pages", gfp)
            return nil
        }
        let huge = flags.contains(.allowHugeVmap) && aligned >= Paging.pmdSize
        if huge, let addr = vmallocArea(aligned, shift: Paging.pmdShift, gfp: gfp, nid: nid, flags: flags, caller: caller, requested: size) {
            return addr
        }
        return vmallocArea(aligned, shift: Self.pageShift, gfp: gfp, nid: nid, flags: flags, caller: caller, requested: size)
    }

    /// One attempt of `__vmalloc_node_range()` at `shift` (PAGE_SHIFT or PMD_SHIFT).
    private func vmallocArea(_ aligned: UInt64, shift: UInt64, gfp: GFP, nid: Int?, flags: VMAreaFlags, caller: String, requested size: UInt64) -> UInt64? {
        let unit: UInt64 = 1 << shift
        let order = Int(shift - Self.pageShift)
        let areaSize = (aligned &+ unit &- 1) & ~(unit &- 1)   // ALIGN(size, 1ul << shift)
        guard areaSize >= aligned, let vm = getVMArea(areaSize, align: unit, pageOrder: order, flags: flags.union([.alloc, .uninitialized]), caller: caller, requested: size) else {
            warn("vmalloc error: size \(size), vm_struct allocation failed", gfp)
            return nil
        }
        let count = Int(areaSize >> Self.pageShift)
        let pages = allocAreaPages(count, order: order, gfp: gfp.subtracting(.comp), nid: nid)
        guard pages.count == count, mapPages(pages, at: vm.addr, order: order) else {
            // page_order 0 only: "a warning for either is spurious" for huge attempts.
            if order == 0 { warn("vmalloc error: size \(size), failed to allocate pages", gfp) }
            unmapRange(vm.addr, count: count)
            for page in pages { machine.freePages(page, order: 0) }
            _ = removeVMArea(vm.addr)
            return nil
        }
        let mappable = flags.contains(.userMap)
        for page in pages { machine.context.markVmalloc(page.pfn, mappable: mappable) }
        if mappable { attachTracking(pages, to: vm) }
        vm.pages = pages
        vm.flags.remove(.uninitialized)
        nrVmallocPages.add(count, ordering: .relaxed)
        return vm.addr
    }

    /// Linux: `vmap(pages, count, flags, prot)`: a fresh area mapping caller-supplied
    /// pages; no reference is taken (vfree() puts them only with VM_MAP_PUT_PAGES).
    /// nil for an empty or larger-than-RAM request, or when no VA space or page table
    /// is left.
    public func vmap(_ pages: [Page], flags: VMAreaFlags = .map, caller: String = "vmap") -> UInt64? {
        let totalPages = machine.allZones.reduce(0) { $0 + $1.managed }
        guard !pages.isEmpty, pages.count <= totalPages else { return nil }
        let size = UInt64(pages.count) << Self.pageShift
        guard let vm = getVMArea(size, flags: flags, caller: caller, requested: size) else { return nil }
        guard mapPages(pages, at: vm.addr, order: 0) else {
            unmapRange(vm.addr, count: pages.count)
            _ = removeVMArea(vm.addr)
            return nil
        }
        if flags.contains(.mapPutPages) { vm.pages = pages }
        return vm.addr
    }

    // MARK: Freeing

    /// Linux: `vfree(addr)`: the area is unmapped and put on the lazy list, then each
    /// page gets `__free_page()` (a page another reference holds, a user mapping or a
    /// pin, stays allocated until that reference goes). An address vmalloc never
    /// returned, or a second vfree(), is the kernel's WARN "Trying to vfree()
    /// nonexistent vm area", recorded.
    public func vfree(_ addr: UInt64) {
        guard addr != 0 else { return }
        // remove_vm_area(): WARN(!PAGE_ALIGNED(addr), "Trying to vfree() bad address (%p)").
        guard addr & (Self.pageSize - 1) == 0 else {
            machine.diagnostics.record(Diagnostic(kind: .warn, reason: "Trying to vfree() bad address (0x\(String(addr, radix: 16)))"))
            return
        }
        if tracking == .vmStruct, let vm = findVMArea(addr), vm.addr == addr, let refcount = vm.scamem {
            // Option 3: drop the owner's reference; the last one removes the area.
            guard !vm.ownerReleased else {
                machine.diagnostics.record(Diagnostic(kind: .warn, reason: "Trying to vfree() nonexistent vm area (0x\(String(addr, radix: 16)))"))
                return
            }
            vm.ownerReleased = true
            machine.scamemPut(refcount)
            return
        }
        guard let vm = removeVMArea(addr) else {
            machine.diagnostics.record(Diagnostic(kind: .warn, reason: "Trying to vfree() nonexistent vm area (0x\(String(addr, radix: 16)))"))
            return
        }
        checkUntrackedMappings(vm)
        if let scamem = vm.scamem {
            machine.scamemPut(scamem)   // vm_struct's reference; the pages go with the last
        } else if tracking == .vmallocMemdesc, vm.flags.contains(.userMap), machine.layout.foliosAreDescriptors {
            // Option 1: vmalloc's own reference (a page left without a descriptor, the
            // heap having run out, is freed as a plain one).
            for page in vm.pages where !machine.vmallocMemdescPut(page, mapping: false) { machine.freePages(page, order: 0) }
        } else {
            for page in vm.pages { machine.freePages(page, order: 0) }
        }
        if !vm.flags.contains(.mapPutPages) { nrVmallocPages.subtract(vm.nrPages, ordering: .relaxed) }
    }

    /// Option 3's last put: the area leaves the busy set and the accounting; the pages
    /// are freed by the caller (`scamemPut`).
    func releaseArea(_ vm: VMStruct) {
        _ = removeVMArea(vm.addr)
        nrVmallocPages.subtract(vm.nrPages, ordering: .relaxed)
    }

    /// The model's use-after-free check (no kernel counterpart: the kernel cannot see
    /// it): each page of `vm` that a user PTE still maps without a reference is about
    /// to be freed while user space can reach it. Recorded as a BUG diagnostic, counted.
    private func checkUntrackedMappings(_ vm: VMStruct) {
        let mappings = vm.untracked.withLock { $0 }
        for mapping in mappings {
            guard let tables = mapping.tables, let entry = tables.pteSlot(mapping.address)?.load(),
                  entry.isPresent, entry.pfn == mapping.pfn else { continue }
            useAfterFreeCount.add(1, ordering: .relaxed)
            machine.diagnostics.record(Diagnostic(kind: .bug, pfn: UInt64(mapping.pfn),
                reason: "use-after-free: vfree() frees a vmalloc page still mapped to user space at 0x\(String(mapping.address, radix: 16)) without a reference"))
        }
    }

    /// Linux: `vunmap(addr)`: the mapping goes; the pages stay the caller's. A missing
    /// area is the kernel's WARN "Trying to vunmap() nonexistent vm area", recorded.
    public func vunmap(_ addr: UInt64) {
        guard addr != 0 else { return }
        guard removeVMArea(addr) != nil else {
            machine.diagnostics.record(Diagnostic(kind: .warn, reason: "Trying to vunmap() nonexistent vm area (0x\(String(addr, radix: 16)))"))
            return
        }
    }

    /// Linux: `purge_vmap_area_lazy()` (also `vm_unmap_aliases()`): the lazy areas'
    /// address ranges become free. Returns the pages of VA space released.
    @discardableResult
    public func purgeLazy() -> Int {
        purges.add(1, ordering: .relaxed)
        return state.withLock { $0.purge() }
    }

    // MARK: Lookup

    /// Linux: `find_vm_area(addr)`: the area containing `addr`, or nil.
    public func findVMArea(_ addr: UInt64) -> VMStruct? {
        state.withLock { $0.busy(containing: addr)?.vm }
    }

    /// Linux: `vmalloc_to_page(addr)`: the page the kernel tables map at `addr`, or nil;
    /// under a PMD leaf, `pmd_page(*pmd) + ((addr & ~PMD_MASK) >> PAGE_SHIFT)`.
    public func vmallocToPage(_ addr: UInt64) -> Page? {
        guard range.contains(addr) else { return nil }
        let (entry, huge) = tables.entry(at: addr)
        guard entry.isPresent else { return nil }
        return machine.page(huge ? entry.pfn + Int((addr & ~Paging.pmdMask) >> Self.pageShift) : entry.pfn)
    }

    /// The busy areas in address order (what /proc/vmallocinfo walks).
    public var areas: [VMStruct] { state.withLock { $0.busyAreas } }

    // MARK: Internals

    /// Linux: `__get_vm_area_node()`: a vm_struct and its vmap_area, the size plus a
    /// guard page unless VM_NO_GUARD; one lazy purge and a retry when the space is full
    /// (`alloc_vmap_area()`'s "overflow" path).
    private func getVMArea(_ size: UInt64, align: UInt64 = pageSize, pageOrder: Int = 0, flags: VMAreaFlags, caller: String, requested: UInt64) -> VMStruct? {
        let (total, overflow) = size.addingReportingOverflow(flags.contains(.noGuard) ? 0 : Self.pageSize)
        guard !overflow else { return nil }
        for attempt in 0..<2 {
            let vm: VMStruct? = state.withLock { set in
                guard let area = set.allocate(size: total, align: align, start: range.lowerBound, end: range.upperBound) else { return nil }
                let vm = VMStruct(addr: area.vaStart, size: total, flags: flags, pageOrder: pageOrder, caller: caller, requestedSize: requested)
                area.vm = vm
                return vm
            }
            if let vm { return vm }
            if attempt == 0 { purgeLazy() }
        }
        machine.diagnostics.record(Diagnostic(kind: .warn, reason: "vmap allocation for size \(total) failed: use vmalloc=<size> to increase size"))
        return nil
    }

    /// Linux: `remove_vm_area()`: the area leaves the busy set, its kernel PTEs are
    /// cleared (`vunmap_range_noflush()`), and it waits on the lazy list, purged once
    /// more than `lazy_max_pages()` wait (the kernel schedules that drain; the model
    /// runs it at once).
    private func removeVMArea(_ addr: UInt64) -> VMStruct? {
        let taken: (VMStruct, Int)? = state.withLock { set in
            guard let area = set.busy(at: addr), let vm = area.vm else { return nil }
            return (vm, set.makeLazy(area))
        }
        guard let (vm, lazy) = taken else { return nil }
        unmapRange(vm.addr, count: Int(vm.usableSize >> Self.pageShift))
        if lazy > lazyMaxPages { purgeLazy() }
        return vm
    }

    private func warn(_ reason: String, _ gfp: GFP) {
        guard !gfp.contains(.nowarn) else { return }
        machine.diagnostics.record(Diagnostic(kind: .warn, reason: reason))
    }

    /// PAGE_ALIGN() with the overflow check the kernel leaves to the size limits.
    static func pageAlign(_ size: UInt64) -> UInt64? {
        let (sum, overflow) = size.addingReportingOverflow(pageSize - 1)
        return overflow ? nil : sum & ~(pageSize - 1)
    }
}
