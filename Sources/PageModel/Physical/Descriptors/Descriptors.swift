// The scheme factory and the static dispatch of every descriptor-scheme question: the one
// place outside the scheme files that names a `MemmapKind` case. Each question is a
// switch over the three schemes whose arms call the scheme's static function directly,
// so hot paths (faults, the buddy lists, page_folio()) inline as before: no existential.
import PageLayout

extension MemmapKind {
    /// The scheme factory: which scheme a design's layout uses.
    init(design: Design) {
        switch design {
        case .memdesc32: self = .memdesc32
        case .memdesc8: self = .memdesc8
        default: self = .structPage
        }
    }

    /// Whether folios are separately allocated descriptors.
    @inline(__always)
    public var foliosAreDescriptors: Bool {
        switch self {
        case .structPage: StructPageScheme.foliosAreDescriptors
        case .memdesc32: Memdesc32Scheme.foliosAreDescriptors
        case .memdesc8: Memdesc8Scheme.foliosAreDescriptors
        }
    }

    /// Bytes per pfn of the free-link table the scheme needs (0: none).
    var freeLinkTableBytesPerPfn: Int {
        switch self {
        case .structPage: StructPageScheme.freeLinkTableBytesPerPfn
        case .memdesc32: Memdesc32Scheme.freeLinkTableBytesPerPfn
        case .memdesc8: Memdesc8Scheme.freeLinkTableBytesPerPfn
        }
    }

    /// Whether a page's word has room for the scamem placements (`ScamemPlacement`).
    public var wordHoldsScamemPlacements: Bool {
        switch self {
        case .structPage: StructPageScheme.wordHoldsScamemPlacements
        case .memdesc32: Memdesc32Scheme.wordHoldsScamemPlacements
        case .memdesc8: Memdesc8Scheme.wordHoldsScamemPlacements
        }
    }

    /// Whether Misc memory has a `_refcount` that `__free_pages()` drops.
    @inline(__always)
    var miscPagesHaveRefcount: Bool {
        switch self {
        case .structPage: StructPageScheme.miscPagesHaveRefcount
        case .memdesc32: Memdesc32Scheme.miscPagesHaveRefcount
        case .memdesc8: Memdesc8Scheme.miscPagesHaveRefcount
        }
    }

    /// The layouts of struct slab and struct ptdesc.
    func slabAndPtdescLayouts(_ config: LayoutConfig) -> (slab: StructLayout, ptdesc: StructLayout) {
        switch self {
        case .structPage: (StructPageScheme.slabLayout(config), StructPageScheme.ptdescLayout(config))
        case .memdesc32: (Memdesc32Scheme.slabLayout(config), Memdesc32Scheme.ptdescLayout(config))
        case .memdesc8: (Memdesc8Scheme.slabLayout(config), Memdesc8Scheme.ptdescLayout(config))
        }
    }

}

// MARK: Questions asked of the memmap

extension UnsafeMutablePointer where Pointee == MemmapContext {
    /// Linux: `__init_single_page()` for a run of pfns.
    func initPages(_ pfns: Range<Int>, flags: UInt64, reserved: Bool, lastCpupid: Int) {
        switch pointee.layout.kind {
        case .structPage: StructPageScheme.initPages(self, pfns, flags: flags, reserved: reserved, lastCpupid: lastCpupid)
        case .memdesc32: Memdesc32Scheme.initPages(self, pfns, flags: flags, reserved: reserved, lastCpupid: lastCpupid)
        case .memdesc8: Memdesc8Scheme.initPages(self, pfns, flags: flags, reserved: reserved, lastCpupid: lastCpupid)
        }
    }

    /// `empty_zero_page`'s marking beyond PG_reserved.
    func initZeroPage(_ pfn: Int) {
        switch pointee.layout.kind {
        case .structPage: StructPageScheme.initZeroPage(self, pfn)
        case .memdesc32: Memdesc32Scheme.initZeroPage(self, pfn)
        case .memdesc8: Memdesc8Scheme.initZeroPage(self, pfn)
        }
    }

    /// The address of the list_head that links a free block.
    @inline(__always)
    func linkAddress(_ pfn: Int) -> UInt64 {
        switch pointee.layout.kind {
        // memdesc32 answers as the struct page does (Memdesc32Scheme delegates): one arm,
        // so that the body is inlined once. Two copies made this function too large for
        // the optimizer to honour @inline(__always) in the allocator's and rmap's callers.
        case .structPage, .memdesc32: StructPageScheme.freeLinkAddress(self, pfn)
        case .memdesc8: Memdesc8Scheme.freeLinkAddress(self, pfn)
        }
    }

    /// The pfn whose link is at `address` (the inverse of `linkAddress`).
    @inline(__always)
    func pfn(ofLink address: UInt64) -> Int {
        switch pointee.layout.kind {
        // As in `linkAddress`: one arm for the two schemes with the same answer,
        // inlined once.
        case .structPage, .memdesc32: StructPageScheme.pfn(self, ofFreeLink: address)
        case .memdesc8: Memdesc8Scheme.pfn(self, ofFreeLink: address)
        }
    }

    /// Linux: `set_buddy_order()`.
    @inline(__always)
    func setBuddy(_ pfn: Int, order: Int) {
        switch pointee.layout.kind {
        case .structPage: StructPageScheme.setBuddy(self, pfn, order: order)
        case .memdesc32: Memdesc32Scheme.setBuddy(self, pfn, order: order)
        case .memdesc8: Memdesc8Scheme.setBuddy(self, pfn, order: order)
        }
    }

    /// Linux: `__ClearPageBuddy()` + `set_page_private(page, 0)` after `list_del()`.
    @inline(__always)
    func clearBuddy(_ pfn: Int) {
        switch pointee.layout.kind {
        case .structPage: StructPageScheme.clearBuddy(self, pfn)
        case .memdesc32: Memdesc32Scheme.clearBuddy(self, pfn)
        case .memdesc8: Memdesc8Scheme.clearBuddy(self, pfn)
        }
    }

    /// The order of a free block starting at `pfn`, or -1 if it is not PageBuddy.
    /// Linux: `PageBuddy()` + `buddy_order()`.
    @inline(__always)
    func buddyOrder(_ pfn: Int) -> Int {
        switch pointee.layout.kind {
        case .structPage: StructPageScheme.buddyOrder(self, pfn)
        case .memdesc32: Memdesc32Scheme.buddyOrder(self, pfn)
        case .memdesc8: Memdesc8Scheme.buddyOrder(self, pfn)
        }
    }

    /// The `private` word of a page on a per-cpu list.
    @inline(__always)
    func pcpPrivate(order: Int) -> UInt64 {
        switch pointee.layout.kind {
        case .structPage: StructPageScheme.pcpPrivate(order: order)
        case .memdesc32: Memdesc32Scheme.pcpPrivate(order: order)
        case .memdesc8: Memdesc8Scheme.pcpPrivate(order: order)
        }
    }

    /// `prep_new_page()`'s marking of a block handed out without a descriptor.
    @inline(__always)
    func prepNewPages(_ pfn: Int, order: Int) {
        switch pointee.layout.kind {
        case .structPage: StructPageScheme.prepNewPages(self, pfn, order: order)
        case .memdesc32: Memdesc32Scheme.prepNewPages(self, pfn, order: order)
        case .memdesc8: Memdesc8Scheme.prepNewPages(self, pfn, order: order)
        }
    }

    /// Marks the pages of a new folio descriptor.
    @inline(__always)
    func stampFolio(_ pfn: Int, order: Int, descriptor address: UInt64) {
        switch pointee.layout.kind {
        case .structPage: StructPageScheme.stampFolio(self, pfn, order: order, descriptor: address)
        case .memdesc32: Memdesc32Scheme.stampFolio(self, pfn, order: order, descriptor: address)
        case .memdesc8: Memdesc8Scheme.stampFolio(self, pfn, order: order, descriptor: address)
        }
    }

    /// Whether `__free_pages()` frees `page` whole as a compound head.
    @inline(__always)
    func isCompoundHead(_ page: Page) -> Bool {
        switch pointee.layout.kind {
        case .structPage: StructPageScheme.isCompoundHead(page)
        case .memdesc32: Memdesc32Scheme.isCompoundHead(page)
        case .memdesc8: Memdesc8Scheme.isCompoundHead(page)
        }
    }

    /// What `bad_page()` resets (`page_mapcount_reset()`).
    @inline(__always)
    func resetBadPage(_ page: Page) {
        switch pointee.layout.kind {
        case .structPage: StructPageScheme.resetBadPage(page)
        case .memdesc32: Memdesc32Scheme.resetBadPage(page)
        case .memdesc8: Memdesc8Scheme.resetBadPage(page)
        }
    }

    /// The marking of a page vmalloc() hands out.
    @inline(__always)
    func markVmalloc(_ pfn: Int, mappable: Bool) {
        switch pointee.layout.kind {
        case .structPage: StructPageScheme.markVmalloc(self, pfn, mappable: mappable)
        case .memdesc32: Memdesc32Scheme.markVmalloc(self, pfn, mappable: mappable)
        case .memdesc8: Memdesc8Scheme.markVmalloc(self, pfn, mappable: mappable)
        }
    }

    /// Points a page at its scamem (0: back to plain vmalloc memory); false where the
    /// scheme has none.
    @inline(__always)
    func stampScamem(_ pfn: Int, address: UInt64) -> Bool {
        switch pointee.layout.kind {
        case .structPage: StructPageScheme.stampScamem(self, pfn, address: address)
        case .memdesc32: Memdesc32Scheme.stampScamem(self, pfn, address: address)
        case .memdesc8: Memdesc8Scheme.stampScamem(self, pfn, address: address)
        }
    }

    /// The scamem a page belongs to, or 0.
    @inline(__always)
    func pageScamem(_ pfn: Int) -> UInt64 {
        switch pointee.layout.kind {
        case .structPage: StructPageScheme.pageScamem(self, pfn)
        case .memdesc32: Memdesc32Scheme.pageScamem(self, pfn)
        case .memdesc8: Memdesc8Scheme.pageScamem(self, pfn)
        }
    }

    /// The offset of a page's own `_mapcount`, or -1.
    @inline(__always)
    var pageMapcountOffset: Int {
        switch pointee.layout.kind {
        case .structPage: StructPageScheme.pageMapcountOffset(pointee.layout)
        case .memdesc32: Memdesc32Scheme.pageMapcountOffset(pointee.layout)
        case .memdesc8: Memdesc8Scheme.pageMapcountOffset(pointee.layout)
        }
    }

    /// The struct ptdesc of a page-table page (`page_ptdesc()`).
    @inline(__always)
    func ptdesc(_ pfn: Int) -> DescriptorBytes {
        switch pointee.layout.kind {
        case .structPage: StructPageScheme.ptdesc(self, pfn)
        case .memdesc32: Memdesc32Scheme.ptdesc(self, pfn)
        case .memdesc8: Memdesc8Scheme.ptdesc(self, pfn)
        }
    }

    /// Linux: `PageAnonExclusive()`.
    @inline(__always)
    func anonExclusive(_ page: Page, folio: Folio, bit: Int) -> Bool {
        switch pointee.layout.kind {
        // As in `linkAddress`: one arm for the two schemes with the same answer.
        case .structPage, .memdesc32: StructPageScheme.anonExclusive(page, folio: folio, bit: bit)
        case .memdesc8: Memdesc8Scheme.anonExclusive(page, folio: folio, bit: bit)
        }
    }

    /// Linux: `SetPageAnonExclusive()` / `ClearPageAnonExclusive()`.
    @inline(__always)
    func setAnonExclusive(_ page: Page, folio: Folio, bit: Int, _ on: Bool) {
        switch pointee.layout.kind {
        // As in `linkAddress`: one arm for the two schemes with the same answer.
        case .structPage, .memdesc32: StructPageScheme.setAnonExclusive(page, folio: folio, bit: bit, on)
        case .memdesc8: Memdesc8Scheme.setAnonExclusive(page, folio: folio, bit: bit, on)
        }
    }
}

// MARK: Questions that need the machine (heap, diagnostics, allocator)

extension Machine {
    /// Linux: `compound_head()`: the head page of a tail page, else the page itself. In
    /// the memdesc designs pages have no compound_head; the folio's first page is
    /// returned for folio pages.
    @inline(__always)
    public func compoundHead(_ page: Page) -> Page {
        switch layout.kind {
        case .structPage: StructPageScheme.compoundHead(self, page)
        case .memdesc32: Memdesc32Scheme.compoundHead(self, page)
        case .memdesc8: Memdesc8Scheme.compoundHead(self, page)
        }
    }

    /// Linux: `page_folio()`. In the memdesc designs, a page whose memdesc is not a
    /// folio (File/Anon) has no folio and this returns nil ("page_folio() returns NULL
    /// for non-folio pages", the 2025 "New York" plan).
    @inline(__always)
    public func pageFolio(_ page: Page) -> Folio? {
        switch layout.kind {
        case .structPage: StructPageScheme.pageFolio(self, page)
        case .memdesc32: Memdesc32Scheme.pageFolio(self, page)
        case .memdesc8: Memdesc8Scheme.pageFolio(self, page)
        }
    }

    /// Linux: `__free_pages_prepare()`.
    func freePagesPrepare(_ pfn: Int, order: Int) -> Bool {
        switch layout.kind {
        case .structPage: StructPageScheme.freePagesPrepare(self, pfn, order: order)
        case .memdesc32: Memdesc32Scheme.freePagesPrepare(self, pfn, order: order)
        case .memdesc8: Memdesc8Scheme.freePagesPrepare(self, pfn, order: order)
        }
    }

    /// `__folio_put()` after the folio left its LRU.
    func freeFolioOffLRU(_ folio: Folio) {
        switch layout.kind {
        case .structPage: StructPageScheme.freeFolio(self, folio)
        case .memdesc32: Memdesc32Scheme.freeFolio(self, folio)
        case .memdesc8: Memdesc8Scheme.freeFolio(self, folio)
        }
    }

    /// What `memremap_pages()` allocates besides the struct pages (0: nothing).
    func attachZoneDevice(pages: Int, shift: Int) -> UInt64? {
        switch layout.kind {
        case .structPage: StructPageScheme.attachZoneDevice(self, pages: pages, shift: shift)
        case .memdesc32: Memdesc32Scheme.attachZoneDevice(self, pages: pages, shift: shift)
        case .memdesc8: Memdesc8Scheme.attachZoneDevice(self, pages: pages, shift: shift)
        }
    }

    /// `memunmap_pages()`'s counterpart of `attachZoneDevice`.
    func detachZoneDevice(_ pgmap: DevPagemap) {
        switch layout.kind {
        case .structPage: StructPageScheme.detachZoneDevice(self, pgmap)
        case .memdesc32: Memdesc32Scheme.detachZoneDevice(self, pgmap)
        case .memdesc8: Memdesc8Scheme.detachZoneDevice(self, pgmap)
        }
    }

    /// `__init_zone_device_page()` for the pages of one device folio.
    func initZoneDeviceFolio(_ head: Int, order: Int, flags: UInt64, pgmap: DevPagemap) {
        switch layout.kind {
        case .structPage: StructPageScheme.initZoneDeviceFolio(self, head, order: order, flags: flags, pgmap: pgmap)
        case .memdesc32: Memdesc32Scheme.initZoneDeviceFolio(self, head, order: order, flags: flags, pgmap: pgmap)
        case .memdesc8: Memdesc8Scheme.initZoneDeviceFolio(self, head, order: order, flags: flags, pgmap: pgmap)
        }
    }

    /// `zone_device_page_init()`'s marking of a free device page.
    func markZoneDeviceFolio(_ page: Page, pgmap: DevPagemap, order: Int) -> Folio {
        switch layout.kind {
        case .structPage: StructPageScheme.zoneDevicePageInit(self, page, pgmap: pgmap, order: order)
        case .memdesc32: Memdesc32Scheme.zoneDevicePageInit(self, page, pgmap: pgmap, order: order)
        case .memdesc8: Memdesc8Scheme.zoneDevicePageInit(self, page, pgmap: pgmap, order: order)
        }
    }

    /// The host address of a device page's `zone_device_data` word.
    func zoneDeviceDataWord(_ page: Page) -> UnsafeMutableRawPointer? {
        switch layout.kind {
        case .structPage: StructPageScheme.zoneDeviceData(self, page)
        case .memdesc32: Memdesc32Scheme.zoneDeviceData(self, page)
        case .memdesc8: Memdesc8Scheme.zoneDeviceData(self, page)
        }
    }

    /// The descriptors a ZONE_DEVICE folio's pages after the head own (memdesc designs:
    /// made by memremap_pages(), one per page); nil for RAM and for struct page.
    func zoneDeviceDescriptors(_ folio: Folio) -> [UInt64]? {
        guard layout.foliosAreDescriptors, isZoneDevice(folio.pfn),
              let pgmap = registry.object(at: folio.pgmap, as: DevPagemap.self) else { return nil }
        switch layout.kind {
        case .structPage: return nil
        case .memdesc32: return Memdesc32Scheme.ownDescriptors(self, folio, pgmap: pgmap)
        case .memdesc8: return Memdesc8Scheme.ownDescriptors(self, folio, pgmap: pgmap)
        }
    }

    /// `__split_folio_to_order(folio, old_order, 0)`.
    func splitFolioDescriptors(_ folio: Folio, keep: UInt64, descriptors: [UInt64]) {
        switch layout.kind {
        case .structPage: StructPageScheme.splitFolio(self, folio, keep: keep, descriptors: descriptors)
        case .memdesc32: Memdesc32Scheme.splitFolio(self, folio, keep: keep, descriptors: descriptors)
        case .memdesc8: Memdesc8Scheme.splitFolio(self, folio, keep: keep, descriptors: descriptors)
        }
    }

    /// `allocate_slab()`'s marking: the slab descriptor, or nil (heap exhausted).
    func attachSlab(_ head: Page, order: Int) -> DescriptorBytes? {
        switch layout.kind {
        case .structPage: StructPageScheme.attachSlab(self, head, order: order)
        case .memdesc32: Memdesc32Scheme.attachSlab(self, head, order: order)
        case .memdesc8: Memdesc8Scheme.attachSlab(self, head, order: order)
        }
    }

    /// The slab descriptor of a slab starting at `pfn`, or nil.
    func slabDescriptor(_ pfn: Int) -> DescriptorBytes? {
        switch layout.kind {
        case .structPage: StructPageScheme.slabDescriptor(self, pfn)
        case .memdesc32: Memdesc32Scheme.slabDescriptor(self, pfn)
        case .memdesc8: Memdesc8Scheme.slabDescriptor(self, pfn)
        }
    }

    /// The first pfn of the slab holding `pfn`, or -1.
    func slabHead(_ pfn: Int) -> Int {
        switch layout.kind {
        case .structPage: StructPageScheme.slabHead(self, pfn)
        case .memdesc32: Memdesc32Scheme.slabHead(self, pfn)
        case .memdesc8: Memdesc8Scheme.slabHead(self, pfn)
        }
    }

    /// `__free_slab()`'s `__ClearPageSlab()`.
    func detachSlab(_ pfn: Int, order: Int) {
        switch layout.kind {
        case .structPage: StructPageScheme.detachSlab(self, pfn, order: order)
        case .memdesc32: Memdesc32Scheme.detachSlab(self, pfn, order: order)
        case .memdesc8: Memdesc8Scheme.detachSlab(self, pfn, order: order)
        }
    }

    /// `pagetable_ctor()`'s marking; false when the descriptor heap is exhausted.
    func attachPtdesc(_ page: Page, order: Int) -> Bool {
        switch layout.kind {
        case .structPage: StructPageScheme.attachPtdesc(self, page, order: order)
        case .memdesc32: Memdesc32Scheme.attachPtdesc(self, page, order: order)
        case .memdesc8: Memdesc8Scheme.attachPtdesc(self, page, order: order)
        }
    }

    /// `pagetable_dtor()`: false (and a WARN) if `page` is not a page table.
    func detachPtdesc(_ page: Page, order: Int) -> Bool {
        switch layout.kind {
        case .structPage: StructPageScheme.detachPtdesc(self, page, order: order)
        case .memdesc32: Memdesc32Scheme.detachPtdesc(self, page, order: order)
        case .memdesc8: Memdesc8Scheme.detachPtdesc(self, page, order: order)
        }
    }
}
