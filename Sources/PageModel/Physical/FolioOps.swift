// Compound pages and folios: prep_compound_page() (mm/page_alloc.c,
// mm/internal.h:prep_compound_head/tail), compound_head()/page_folio()
// (include/linux/page-flags.h), folio_get()/folio_put()/__folio_put() (mm/swap.c),
// and the memdesc designs' separately allocated folios (kernelnewbies FolioAlloc).
import PageLayout

extension Machine {
    /// Linux: `prep_compound_page()`: PG_head on the head; every tail gets TAIL_MAPPING,
    /// `compound_head = head | 1` and `private = 0`; then `prep_compound_head()` sets the
    /// order, `_nr_pages`, `_large_mapcount = -1`, `_nr_pages_mapped = 0`, the mm ids,
    /// `_pincount = 0` and `_entire_mapcount = -1` (64-bit or order > 1), and the deferred
    /// list (order > 1). Tails first: on 64-bit the first tail's `mapping` word *is*
    /// `_entire_mapcount`/`_pincount`, which the head's prep then overwrites, as in the
    /// kernel. In the memdesc designs this allocates and fills a folio descriptor.
    /// Returns nil only when the descriptor heap is exhausted.
    func prepCompound(_ pfn: Int, order: Int) -> Folio? {
        if layout.foliosAreDescriptors { return makeFolioDescriptor(pfn, order: order) }
        let head = Page(unchecked: pfn, context)
        head.setFlag(flagBits.head)
        let headAddress = head.address
        for i in 1..<(1 << order) {
            let tail = Page(unchecked: pfn + i, context)
            tail.mapping = tailMapping
            tail.compoundHeadWord = headAddress | 1
            tail.privateValue = 0
        }
        let folio = Folio(raw: head.raw, address: headAddress, pfn: pfn, context: context)
        folio.setWord(layout.folioFlags1, (folio.word(layout.folioFlags1) & ~0xff) | UInt64(order))
        if layout.folioNrPages >= 0 { folio.raw.storeBytes(of: UInt32(1 << order), toByteOffset: layout.folioNrPages, as: UInt32.self) }
        folio.setAtomic(layout.folioLargeMapcount, -1)
        if layoutConfig.pageMapcount { folio.setAtomic(layout.folioNrPagesMapped, 0) }
        if layoutConfig.mmID, layout.folioMmIds >= 0, layout.folioMmIdMapcount >= 0 {
            folio.setWord(layout.folioMmIds, 0)
            if layout.wordSize == 8 {
                folio.raw.storeBytes(of: Int32(-1), toByteOffset: layout.folioMmIdMapcount, as: Int32.self)
                folio.raw.storeBytes(of: Int32(-1), toByteOffset: layout.folioMmIdMapcount + 4, as: Int32.self)
            } else {
                folio.raw.storeBytes(of: Int16(-1), toByteOffset: layout.folioMmIdMapcount, as: Int16.self)
                folio.raw.storeBytes(of: Int16(-1), toByteOffset: layout.folioMmIdMapcount + 2, as: Int16.self)
            }
        }
        if layout.wordSize == 8 || order > 1 {
            folio.setAtomic(layout.folioPincount, 0)
            folio.setAtomic(layout.folioEntireMapcount, -1)
        }
        if order > 1, layout.folioDeferredList >= 0 {
            context.listInit(headAddress &+ UInt64(layout.folioDeferredList))
        }
        return folio
    }

    /// The memdesc designs' `folio_alloc()`: `kmem_cache_alloc(folio_slab)` (16-byte
    /// aligned), every page's memdesc = folio | File, then pfn, flags (copied from the
    /// first page, "leave it intact to keep page_zone() working"), lru, `_mapcount = -1`,
    /// order, `_pincount = 0`, and `atomic_set_release(_refcount, 1)`. memdesc32's pages
    /// keep `_refcount = 0` ("0 for folios").
    func makeFolioDescriptor(_ pfn: Int, order: Int) -> Folio? {
        guard let address = heap.allocate(size: layout.folioSize, alignment: Layouts.memdescDescriptorAlignment, kind: .folio) else {
            diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(pfn), reason: "folio descriptor allocation failed (ENOMEM)"))
            return nil
        }
        let folio = Folio(raw: heap.pointer(address), address: address, pfn: pfn, context: context)
        let word = address | UInt64(MemdescType.file.rawValue)
        for i in 0..<(1 << order) {
            let page = Page(unchecked: pfn + i, context)
            page.memdesc = word
            if layout.kind == .memdesc32 { page.setRefcount(0) }
        }
        if layout.folioFlags >= 0, layout.flags >= 0 { folio.flags = Page(unchecked: pfn, context).flags }
        if layout.folioLru >= 0 { context.listInit(address &+ UInt64(layout.folioLru)) }
        folio.setAtomic(layout.folioMapcount, -1)
        folio.setAtomic(layout.folioPincount, 0)
        if layout.folioOrder >= 0 { folio.raw.storeBytes(of: UInt8(order), toByteOffset: layout.folioOrder, as: UInt8.self) }
        folio.setWord(layout.folioPfn, UInt64(pfn))
        RawMemory.atomicSetRelease(folio.raw + layout.folioRefcount, 1)
        return folio
    }

    /// Linux: `folio_alloc(gfp, order)`: a folio with refcount 1; large folios are
    /// marked large-rmappable (`page_rmappable_folio()`).
    public func folioAlloc(_ gfp: GFP, order: Int = 0, nid: Int? = nil) -> Folio? {
        guard let page = allocPages(gfp.union(.comp), order: order, nid: nid) else { return nil }
        guard let folio = pageFolio(page) else {
            // The descriptor heap is exhausted (memdesc designs): give the pages back.
            freeFrozenPages(page.pfn, order: order)
            return nil
        }
        if !layout.foliosAreDescriptors, order > 0, let second = folio.page(1) {
            second.setFlag(flagBits.workingset)   // PG_large_rmappable = PG_workingset, page 1
        }
        return folio
    }

    /// Linux: `compound_head()`: the head page of a tail page (bit 0 of compound_head),
    /// else the page itself. In the memdesc designs pages have no compound_head; the
    /// folio's first page is returned for folio pages.
    @inline(__always)
    public func compoundHead(_ page: Page) -> Page {
        if layout.kind == .structPage {
            let word = page.compoundHeadWord
            if word & 1 != 0, let head = memmap.page(atAddress: word &- 1) { return head }
            return page
        }
        return pageFolio(page)?.headPage ?? page
    }

    /// Linux: `page_folio()`. In the memdesc designs, a page whose memdesc is not a
    /// folio (File/Anon) has no folio and this returns nil ("page_folio() returns NULL
    /// for non-folio pages", the 2025 "New York" plan).
    @inline(__always)
    public func pageFolio(_ page: Page) -> Folio? {
        if layout.kind == .structPage {
            let head = compoundHead(page)
            return Folio(raw: head.raw, address: head.address, pfn: head.pfn, context: context)
        }
        return memdescPageFolio(page)
    }

    /// `page_folio()` of the memdesc designs: the folio descriptor the memdesc word
    /// points to, for File and Anon memdescs only.
    private func memdescPageFolio(_ page: Page) -> Folio? {
        let word = page.memdesc
        let type = word & MemdescWord.typeMask
        guard type == UInt64(MemdescType.file.rawValue) || type == UInt64(MemdescType.anon.rawValue) else { return nil }
        let address = word & ~MemdescWord.typeMask
        guard heap.contains(address) else { return nil }
        let raw = heap.pointer(address)
        let pfn = layout.folioPfn >= 0 ? Int(truncatingIfNeeded: RawMemory.loadWord(raw + layout.folioPfn, wordSize: layout.wordSize)) : page.pfn
        return Folio(raw: raw, address: address, pfn: pfn, context: context)
    }

    /// Linux: `folio_get()`.
    @inline(__always)
    public func folioGet(_ folio: Folio) { folio.get() }

    /// Linux: `folio_put()`: drop a reference and free the folio when it was the last.
    /// A put on a folio whose count is already 0 is the kernel's VM_BUG_ON (refcount
    /// underflow): recorded, and the count restored.
    @inline(__always)
    public func folioPut(_ folio: Folio) {
        if folio.putTestZero() { freeFolio(folio) }
        else if folio.refcount < 0 {
            diagnostics.record(Diagnostic(kind: .bug, pfn: UInt64(folio.pfn), reason: "folio_put: refcount underflow",
                                          dump: dumpPage(folio.headPage)))
            folio.setRefcount(0)
        }
    }

    /// Linux: `get_page()`: `folio_get(page_folio(page))`. Memory without a folio in the
    /// memdesc designs has no refcount: recorded as a warning.
    public func getPage(_ page: Page) {
        let page = gupResultTarget(page, operation: "get_page")
        if let folio = pageFolio(page) { folio.get() }
        else { diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(page.pfn), reason: "get_page() on memory without a refcount (memdesc Misc)")) }
    }

    /// Linux: `put_page()`: `folio_put(page_folio(page))`.
    public func putPage(_ page: Page) {
        let page = gupResultTarget(page, operation: "put_page")
        if let folio = pageFolio(page) { if pinsAllowPut(folio) { folioPut(folio) } }
        else { diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(page.pfn), reason: "put_page() on memory without a refcount (memdesc Misc)")) }
    }

    /// Linux: `__folio_put()`: ZONE_DEVICE folios go back to their pagemap; others to the
    /// allocator (`free_frozen_pages(&folio->page, folio_order(folio))`).
    func freeFolio(_ folio: Folio) {
        lruRemoveOnFree(folio)
        freeFolioOffLRU(folio)
    }

    /// `__folio_put()` after the folio left its LRU.
    func freeFolioOffLRU(_ folio: Folio) {
        let order = folio.order
        if layout.kind == .structPage {
            if isZoneDevice(folio.pfn) {
                freeZoneDeviceFolio(folio)
                return
            }
            if order > 1, layout.folioDeferredList >= 0 {
                // folio_unqueue_deferred_split(): the model keeps no split queue, so a
                // folio still on one is a bad page below.
            }
            if order > 0, let second = folio.page(1) { second.clearFlag(flagBits.workingset) }
            freeFrozenPages(folio.pfn, order: order)
            return
        }
        // memdesc designs: check the descriptor as free_pages_prepare() checks a page,
        // reset the pages' words, free the descriptor and then the memory.
        var reason: String?
        if folio.mapcountRaw != -1 { reason = "nonzero mapcount" }
        if folio.mapping & ~1 != 0, folio.mapping & 1 == 0 { reason = "non-NULL mapping" }
        if folio.refcount != 0 { reason = "nonzero _refcount" }
        if let pins = folio.pincount, pins != 0 { reason = "nonzero pincount" }
        if folio.flags & checkAtFree != 0 { reason = "PAGE_FLAGS_CHECK_AT_FREE flag(s) set" }
        if folio.memcgData != 0 { reason = "page still charged to cgroup" }
        if let reason {
            badPage(folio.headPage, reason: reason)
            return
        }
        for i in 0..<(1 << order) {
            Page(unchecked: folio.pfn + i, context).memdesc = layout.kind == .memdesc32 ? memdesc32Misc : 0
        }
        heap.free(folio.address, size: layout.folioSize, alignment: Layouts.memdescDescriptorAlignment, kind: .folio)
        freeFrozenPages(folio.pfn, order: order)
    }
}
