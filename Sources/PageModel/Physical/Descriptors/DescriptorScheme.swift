// The descriptor axis of the model: how a design keeps its per-page state in the memmap
// (include/linux/mm_types.h struct page; the memdesc plan of kernelnewbies
// MatthewWilcox/Memdescs). Every question the rest of the model would otherwise answer
// by asking which scheme runs is a requirement here, answered once per scheme.
import PageLayout

/// How a design keeps its per-page state, which decides what `page_folio()` reads.
/// Named only here, in the scheme files and in `Descriptors.swift` (the factory and the
/// static dispatch): the rest of the model asks the scheme.
public enum MemmapKind: Sendable, Equatable {
    /// The 64-byte family (mainline and the 2018 designs): folios overlay struct pages.
    case structPage
    /// memdesc32: a 32-byte struct page with flags, a memdesc word and `_refcount`;
    /// folios, slabs and ptdescs are separately allocated descriptors.
    case memdesc32
    /// memdesc8: one 8-byte memdesc word per page; everything else in descriptors.
    case memdesc8
}

/// The memmap context the scheme questions are asked through.
typealias MemmapContextPointer = UnsafeMutablePointer<MemmapContext>

/// One descriptor scheme: where a page's folio, slab and ptdesc, its free-list links,
/// buddy order, mapcounts and PageAnonExclusive live, and what marks a block for each
/// owner. Requirements are static so that the dispatch in `Descriptors.swift` (a switch
/// on `MemmapKind`) calls them directly and inlines them: no existential call per page.
///
/// A new scheme is one file with a caseless enum conforming to this protocol, plus one
/// `MemmapKind` case and one line per question in `Descriptors.swift`
/// (Tests/PageModelTests/Physical/Descriptors/OrderInFrameScheme.swift is a toy one).
protocol DescriptorScheme {
    // MARK: What the scheme is

    /// Whether folios are separately allocated descriptors (not the head struct page).
    static var foliosAreDescriptors: Bool { get }
    /// Whether a page's own word has room for seed 004's scamem placements (the link, or
    /// node and zone, kept in the 8-byte memdesc): memdesc32's Misc is one word value and
    /// struct page keeps vmalloc pages' refcounts itself.
    static var wordHoldsScamemPlacements: Bool { get }
    /// Whether memory without a descriptor (Misc) has a `_refcount` that
    /// `__free_pages()` drops (memdesc8's 8-byte page has none).
    static var miscPagesHaveRefcount: Bool { get }
    /// The layouts of struct slab and struct ptdesc: overlaying the struct page
    /// (mm/slab.h, mm_types.h) or the memdesc plan's separately allocated descriptors.
    static func slabLayout(_ config: LayoutConfig) -> StructLayout
    static func ptdescLayout(_ config: LayoutConfig) -> StructLayout

    // MARK: Boot

    /// Linux: `__init_single_page()` for a run of pfns with the same flags. `lastCpupid`
    /// is the offset of `_last_cpupid` (LAST_CPUPID_NOT_IN_PAGE_FLAGS), or -1.
    static func initPages(_ ctx: MemmapContextPointer, _ pfns: Range<Int>, flags: UInt64, reserved: Bool, lastCpupid: Int)
    /// `empty_zero_page`'s marking beyond PG_reserved.
    static func initZeroPage(_ ctx: MemmapContextPointer, _ pfn: Int)

    // MARK: Free blocks (mm/page_alloc.c)

    /// Bytes per pfn of the model's free-link table (`MemmapContext.freeLinkBase`), 0
    /// where free blocks are linked through the memmap itself.
    static var freeLinkTableBytesPerPfn: Int { get }
    /// The kernel address of the list_head that links a free block starting at `pfn`.
    static func freeLinkAddress(_ ctx: MemmapContextPointer, _ pfn: Int) -> UInt64
    /// The pfn whose free-list link is at `address` (the inverse of `freeLinkAddress`).
    static func pfn(_ ctx: MemmapContextPointer, ofFreeLink address: UInt64) -> Int
    /// Linux: `set_buddy_order()`.
    static func setBuddy(_ ctx: MemmapContextPointer, _ pfn: Int, order: Int)
    /// Linux: `__ClearPageBuddy()` + `set_page_private(page, 0)`.
    static func clearBuddy(_ ctx: MemmapContextPointer, _ pfn: Int)
    /// Linux: `PageBuddy()` + `buddy_order()`: the order, or -1 if not a free block.
    static func buddyOrder(_ ctx: MemmapContextPointer, _ pfn: Int) -> Int
    /// The `private` word of a page on a per-cpu list (its order, never mistaken for a
    /// buddy order).
    static func pcpPrivate(order: Int) -> UInt64

    // MARK: Allocation and freeing of bare pages

    /// Linux: `prep_new_page()`'s marking of a block handed out without a descriptor:
    /// `private` 0, refcount 1, Misc.
    static func prepNewPages(_ ctx: MemmapContextPointer, _ pfn: Int, order: Int)
    /// Whether `__free_pages()` treats `page` as a compound head (frees it whole).
    static func isCompoundHead(_ page: Page) -> Bool
    /// Linux: `__free_pages_prepare()`: the checks of a block on its way back; false
    /// (after a `bad_page()` report) when it must not be freed.
    static func freePagesPrepare(_ machine: Machine, _ pfn: Int, order: Int) -> Bool
    /// What `bad_page()` resets so that the page no longer looks free
    /// (`page_mapcount_reset()`).
    static func resetBadPage(_ page: Page)
    /// The marking of an order-0 page vmalloc() hands out (mm/vmalloc.c
    /// `vm_area_alloc_pages()`): nothing in v6.19's struct page; Misc subtype Vmalloc,
    /// bit 11 set when the area may be mapped to user space (VM_USERMAP), in the
    /// memdesc plan (kernel-facts.md 5.2).
    static func markVmalloc(_ ctx: MemmapContextPointer, _ pfn: Int, mappable: Bool)
    /// Seed 004 option 4, the page→scamem link kept in the memdesc word: points the
    /// page at the scamem at `address`, or (address 0) back to plain vmalloc memory.
    /// false where the scheme has no scamem (struct page keeps a refcount per page).
    static func stampScamem(_ ctx: MemmapContextPointer, _ pfn: Int, address: UInt64) -> Bool
    /// The scamem a page belongs to, or 0.
    static func pageScamem(_ ctx: MemmapContextPointer, _ pfn: Int) -> UInt64

    // MARK: Folios

    /// Linux: `compound_head()`.
    static func compoundHead(_ machine: Machine, _ page: Page) -> Page
    /// Linux: `page_folio()`; nil where the page's memdesc is not a folio.
    static func pageFolio(_ machine: Machine, _ page: Page) -> Folio?
    /// Marks the pages of a new folio descriptor at `address` (memdesc designs).
    static func stampFolio(_ ctx: MemmapContextPointer, _ pfn: Int, order: Int, descriptor address: UInt64)
    /// Linux: `__folio_put()` after the folio left its LRU: the folio's checks, its
    /// descriptor and its pages go back.
    static func freeFolio(_ machine: Machine, _ folio: Folio)
    /// Linux: `__split_folio_to_order(folio, old_order, 0)` on a frozen, unmapped folio
    /// (mm/huge_memory.c): every page after the first becomes an order-0 folio with the
    /// head's `keep` flags, mapping, index + i and memcg; the first page's folio is
    /// order 0 after it. `descriptors` (memdesc designs) holds a separately allocated
    /// descriptor for each new folio, allocated before anything was unmapped.
    static func splitFolio(_ machine: Machine, _ folio: Folio, keep: UInt64, descriptors: [UInt64])

    // MARK: ZONE_DEVICE (mm/memremap.c, mm/mm_init.c)

    /// What `memremap_pages()` allocates besides the struct pages of `pages` device
    /// pages made of compound pages of order `shift`: the memdesc designs' folio
    /// descriptor of every device folio, in one array. Its address (0 where folios
    /// overlay struct pages), or nil when the descriptor heap is exhausted.
    static func attachZoneDevice(_ machine: Machine, pages: Int, shift: Int) -> UInt64?
    /// Linux: `memunmap_pages()`'s counterpart of `attachZoneDevice`.
    static func detachZoneDevice(_ machine: Machine, _ pgmap: DevPagemap)
    /// Linux: `__init_zone_device_page()` for the `1 << order` pages of one device folio
    /// from `head` (`memmap_init_zone_device()`, `memmap_init_compound()` when order > 0):
    /// `flags` (ZONE_DEVICE, PG_reserved), `pgmap`, `zone_device_data` NULL, refcount 0
    /// (1 for MEMORY_DEVICE_GENERIC).
    static func initZoneDeviceFolio(_ machine: Machine, _ head: Int, order: Int, flags: UInt64, pgmap: DevPagemap)
    /// Linux: `zone_device_page_init(page, pgmap, order)`'s marking of a free device
    /// page (refcount 0, checked by the caller): a folio of `order` with refcount 1,
    /// locked, `pgmap` set, mapping and index cleared.
    static func zoneDevicePageInit(_ machine: Machine, _ page: Page, pgmap: DevPagemap, order: Int) -> Folio
    /// The host address of a device page's `zone_device_data` word; nil where it cannot
    /// be found (a memdesc page whose folio's `pgmap` is not a pagemap).
    static func zoneDeviceData(_ machine: Machine, _ page: Page) -> UnsafeMutableRawPointer?

    // MARK: Mapcounts and PageAnonExclusive (mm/rmap.c)

    /// The offset of a page's own `_mapcount` (CONFIG_PAGE_MAPCOUNT), or -1 where only
    /// the folio counts.
    static func pageMapcountOffset(_ layout: ModelLayout) -> Int
    /// Linux: `PageAnonExclusive()` (bit `bit` = PG_anon_exclusive).
    static func anonExclusive(_ page: Page, folio: Folio, bit: Int) -> Bool
    /// Linux: `SetPageAnonExclusive()` / `ClearPageAnonExclusive()`.
    static func setAnonExclusive(_ page: Page, folio: Folio, bit: Int, _ on: Bool)

    // MARK: Slabs and page tables

    /// Linux: `allocate_slab()`'s marking: the slab descriptor's bytes, or nil when
    /// the descriptor heap is exhausted (the pages are then still the caller's).
    static func attachSlab(_ machine: Machine, _ head: Page, order: Int) -> DescriptorBytes?
    /// The slab descriptor of a slab starting at `pfn`, or nil if it is not one.
    static func slabDescriptor(_ machine: Machine, _ pfn: Int) -> DescriptorBytes?
    /// The first pfn of the slab holding `pfn` (`virt_to_slab()`), or -1.
    static func slabHead(_ machine: Machine, _ pfn: Int) -> Int
    /// Linux: `__free_slab()`'s `__ClearPageSlab()`: the marks (and descriptor) go.
    static func detachSlab(_ machine: Machine, _ pfn: Int, order: Int)
    /// The struct ptdesc of a page-table page (`page_ptdesc()`): the struct page's own
    /// bytes, or the descriptor its memdesc word points to.
    static func ptdesc(_ ctx: MemmapContextPointer, _ pfn: Int) -> DescriptorBytes
    /// Linux: `pagetable_ctor()`'s marking; false when the descriptor heap is exhausted.
    static func attachPtdesc(_ machine: Machine, _ page: Page, order: Int) -> Bool
    /// Linux: `pagetable_dtor()`: false (and a WARN) if `page` is not a page table.
    static func detachPtdesc(_ machine: Machine, _ page: Page, order: Int) -> Bool
}

extension UnsafeMutablePointer where Pointee == MemmapContext {
    /// Writes one memdesc word into `count` consecutive pages: every stamp of a block
    /// (Misc, Slab, PTdesc, File) in the memdesc schemes goes through here.
    @inline(__always)
    func stampMemdesc(_ pfn: Int, count: Int, _ word: UInt64) {
        for i in 0..<count { Page(unchecked: pfn + i, self).memdesc = word }
    }
}

extension DescriptorScheme {
    static var wordHoldsScamemPlacements: Bool { false }
}
