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
        // 5.15/6.1: set_compound_page_dtor(COMPOUND_PAGE_DTOR) and the order byte after it.
        folio.setUInt8(layout.folioCompoundDtor, ModelLayout.compoundPageDtor)
        let shift = UInt64(layout.folioOrderShift)
        folio.setWord(layout.folioFlags1, (folio.word(layout.folioFlags1) & ~(0xff << shift)) | UInt64(order) << shift)
        folio.setUInt32(layout.folioNrPages, UInt32(1 << order))
        folio.setAtomic(layout.folioLargeMapcount, -1)
        if layoutConfig.pageMapcount { folio.setAtomic(layout.folioNrPagesMapped, 0) }
        if layoutConfig.mmID, layout.folioMmIds >= 0, layout.folioMmIdMapcount >= 0 {
            folio.setWord(layout.folioMmIds, 0)
            if layout.wordSize == 8 {
                folio.setInt32(layout.folioMmIdMapcount, -1)
                folio.setInt32(layout.folioMmIdMapcount + 4, -1)
            } else {
                folio.setInt16(layout.folioMmIdMapcount, -1)
                folio.setInt16(layout.folioMmIdMapcount + 2, -1)
            }
        }
        if layout.wordSize == 8 || order > 1 { folio.setAtomic(layout.folioEntireMapcount, -1) }
        if folio.hasPincount { folio.setAtomic(layout.folioPincount, 0) }
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
        return fillFolioDescriptor(at: address, pfn, order: order, refcount: 1)
    }

    /// Fills the folio descriptor allocated at `address` for the `1 << order` pages from
    /// `pfn` and points their memdesc words at it (`makeFolioDescriptor`; a folio split
    /// fills descriptors it allocated before unmapping, frozen: `refcount` 0).
    func fillFolioDescriptor(at address: UInt64, _ pfn: Int, order: Int, refcount: Int32) -> Folio {
        let folio = Folio(raw: heap.pointer(address), address: address, pfn: pfn, context: context)
        context.stampFolio(pfn, order: order, descriptor: address)
        if layout.folioFlags >= 0, layout.flags >= 0 { folio.flags = Page(unchecked: pfn, context).flags }
        if layout.folioLru >= 0 { context.listInit(address &+ UInt64(layout.folioLru)) }
        folio.setAtomic(layout.folioMapcount, -1)
        folio.setAtomic(layout.folioPincount, 0)
        folio.setUInt8(layout.folioOrder, UInt8(order))
        folio.setWord(layout.folioPfn, UInt64(pfn))
        folio.setAtomicRelease(layout.folioRefcount, refcount)
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

    // compound_head() and page_folio() are the descriptor scheme's questions
    // (Physical/Descriptors/Descriptors.swift).

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
        else if !scamemRelease(page) { diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(page.pfn), reason: "put_page() on memory without a refcount (memdesc Misc)")) }
    }

    /// Linux: `__folio_put()`: ZONE_DEVICE folios go back to their pagemap; others to the
    /// allocator (`free_frozen_pages(&folio->page, folio_order(folio))`).
    func freeFolio(_ folio: Folio) {
        lruRemoveOnFree(folio)
        freeFolioOffLRU(folio)
    }

    // `__folio_put()` after the folio left its LRU is the scheme's `freeFolio`
    // (Physical/Descriptors/): `freeFolioOffLRU(_:)`.
}
