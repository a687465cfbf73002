// mm/vmalloc.c (v6.19): the pages of a vmalloc area and their kernel mappings:
// vm_area_alloc_pages() (large orders first, split_page()), vmap_pages_range_noflush()
// with page_shift (PMD leaves for huge vmalloc, vmap_try_huge_pmd()), and
// vunmap_range_noflush(); and the tracking each seed 004 option gives VM_USERMAP pages.

extension VmallocSpace {
    /// Linux: `vm_area_alloc_pages(gfp, nid, order, nr_pages, pages)`: first blocks of
    /// the largest order that fits what is left (`ilog2(nr_remaining)`, at most
    /// MAX_PAGE_ORDER) without direct reclaim or warnings, each `split_page()`; an order
    /// that fails is not tried again (`max_attempt_order`). Then, for what is left,
    /// blocks of `order` (with __GFP_NOWARN, `vmalloc_gfp_adjust()`), split as well:
    /// "tracking is done per PAGE_SIZE page". Returns the pages got, in address order;
    /// fewer than `count` when memory ran out.
    func allocAreaPages(_ count: Int, order: Int, gfp: GFP, nid: Int?) -> [Page] {
        var pages: [Page] = []
        pages.reserveCapacity(count)
        let largeGFP = gfp.union(.nowarn).subtracting(.directReclaim)
        var maxAttempt = BuddyConstants.maxOrder
        var largeOrder = min(maxAttempt, Self.ilog2(count))
        while largeOrder > order, pages.count < count {
            guard let page = machine.allocPages(largeGFP, order: largeOrder, nid: nid) else {
                largeOrder -= 1
                maxAttempt = largeOrder
                continue
            }
            splitPage(page, order: largeOrder)
            for i in 0..<(1 << largeOrder) { pages.append(machine.memmap.pageUnchecked(page.pfn + i)) }
            largeOrder = min(maxAttempt, Self.ilog2(count - pages.count))
        }
        while pages.count < count {
            guard let page = machine.allocPages(gfp.union(.nowarn), order: order, nid: nid) else { break }
            if order > 0 { splitPage(page, order: order) }
            for i in 0..<(1 << order) { pages.append(machine.memmap.pageUnchecked(page.pfn + i)) }
        }
        return pages
    }

    /// Linux: `split_page(page, order)`: each page of a non-compound block becomes an
    /// order-0 page with a reference of its own (`set_page_refcounted()` on the tails;
    /// on memdesc8, an order-0 Misc word each).
    func splitPage(_ page: Page, order: Int) {
        for i in 0..<(1 << order) { machine.context.prepNewPages(page.pfn + i, order: 0) }
    }

    /// `ilog2(n)` for n ≥ 1 (0 for 0).
    static func ilog2(_ n: Int) -> Int { n <= 1 ? 0 : Int.bitWidth - 1 - n.leadingZeroBitCount }

    /// Linux: `vmap_pages_range(addr, end, PAGE_KERNEL, pages, page_shift)`: order 0,
    /// one kernel PTE per page (present, writable, dirty); order 9, one PMD leaf per
    /// 2 MiB (`vmap_try_huge_pmd()`: a PTE table left there by an earlier mapping is
    /// freed first, `pmd_free_pte_page()`). false when a page table cannot be allocated.
    func mapPages(_ pages: [Page], at start: UInt64, order: Int) -> Bool {
        let step = 1 << order
        var i = 0
        while i < pages.count {
            let addr = start &+ UInt64(i) << Self.pageShift
            guard let pmd = tables.pmdSlot(addr, allocate: true) else { return false }
            if order == 9 {
                let old = pmd.load()
                if old.isPresent, !old.isLeaf, let table = machine.page(old.pfn) { machine.pagetableFree(table) }
                pmd.store(.page(pfn: pages[i].pfn, writable: true, dirty: true, huge: true))
            } else {
                guard let table = tables.lowerTable(pmd, allocate: true) else { return false }
                tables.slot(table, Paging.index(addr, Paging.pageShift)).store(.page(pfn: pages[i].pfn, writable: true, dirty: true))
            }
            i += step
        }
        return true
    }

    /// Linux: `vunmap_range_noflush()`: the PTEs are cleared, and PMD leaves
    /// (`pmd_clear_huge()`); the PTE tables stay (the kernel never frees vmalloc page
    /// tables).
    func unmapRange(_ start: UInt64, count: Int) {
        var i = 0
        while i < count {
            let addr = start &+ UInt64(i) << Self.pageShift
            if let pmd = tables.pmdSlot(addr, allocate: false), pmd.load().isLeaf {
                pmd.store(PTE(rawValue: 0))
                i += Int(Paging.pmdSize >> Self.pageShift)
                continue
            }
            tables.pteSlot(addr)?.store(PTE(rawValue: 0))
            i += 1
        }
    }

    /// What the tracking option gives the pages of a VM_USERMAP area: option 1 a
    /// descriptor per page; options 3 and 4 a scamem, linked from every page's word in
    /// the memdesc-pointer placement, or from the VMA in the others (the words then say
    /// Misc/Vmalloc, mappable, with node and zone in memdesc-node-zone); option 3's
    /// last put removes the area.
    func attachTracking(_ pages: [Page], to vm: VMStruct) {
        switch tracking {
        case .vmallocMemdesc:
            _ = machine.vmallocMemdescAttach(pages)
        case .scamem, .vmStruct:
            vm.scamem = machine.scamemAlloc(pages, linkPages: !placement.needsVMA)
            if placement.needsVMA, vm.scamem != nil {
                for page in pages { page.memdesc = machine.vmaPlacedVmallocWord(page.pfn, nodeZone: placement == .memdescNodeZone) }
            }
            if tracking == .vmStruct, let refcount = vm.scamem { machine.registry.register(VmStructRelease(space: self, vm: vm), at: refcount) }
        case .pageRefcount, .untracked:
            break
        }
    }
}
