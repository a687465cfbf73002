// The byte offsets the model reads and writes, resolved once per machine from the
// layouts of PageLayout (never typed in), so that hot paths do no name lookups.
import PageLayout

/// Offsets (bytes) of the fields the model touches. -1 marks a field the design does not
/// have. Page offsets are from the start of a struct page; folio offsets from the start of
/// the folio (the head struct page, or the folio descriptor in the memdesc designs).
public struct ModelLayout: Sendable, Equatable {
    /// The kernel versions a model machine can be built for: those whose struct page and
    /// folio hold every word the model's (v6.19) code keeps, at the same meaning or at the
    /// place that version keeps the equivalent, and whose page_type the model can write.
    /// 6.12's folio has `_large_mapcount`, `_entire_mapcount`, `_nr_pages_mapped`,
    /// `_pincount` and `_folio_nr_pages` (no `_mm_ids`, which the model then leaves
    /// alone). 6.6's has all but `_large_mapcount`: the model keeps it in `_folio_avail`,
    /// the word 6.6 leaves "available for use" at the same offset (a deliberate
    /// difference), and marks typed pages and slabs 6.6's way (PAGE_TYPE_BASE, PG_slab).
    /// 6.1 and 5.15 keep a compound page's fields in struct page's tail arms
    /// (ModelLayoutCompound.swift), on 64-bit only.
    public static let modelKernels: [KernelVersion] = [.v5_15, .v6_1, .v6_6, .v6_12, .v6_18, .v6_19]

    /// Why a model machine cannot be built for `kernel` on an arch of `bitsPerLong`, or
    /// nil when it can.
    public static func refusal(_ kernel: KernelVersion, bitsPerLong: Int = 64) -> String? {
        if kernel < .v6_6, bitsPerLong != 64 {
            return "a 32-bit model machine of Linux \(kernel) would need a word for large folios' mapcount and mapped-page count "
                + "that \(kernel)'s first tail page does not leave free on 32-bit (\(kernel == .v5_15 ? "compound_nr" : "compound_pincount") "
                + "takes page[1].index); Linux \(kernel) machines are 64-bit (x86_64); Linux \(kernel) is available to flags, layout and census on any arch"
        }
        guard !modelKernels.contains(kernel) else { return nil }
        return "the model machine runs on \(modelKernels.map(\.description).joined(separator: ", ")); "
            + "Linux \(kernel) is available to flags, layout and census"
    }

    public var kind: MemmapKind
    /// sizeof(long): pointer and flags words are this wide.
    public var wordSize: Int
    /// sizeof(struct page) of the design.
    public var pageSize: Int

    // struct page
    public var flags = -1
    /// `lru`/`buddy_list`/`pcp_list` (a list_head): where free pages are linked.
    public var link = -1
    /// `compound_head` (tail pages: head address | 1).
    public var compoundHead = -1
    public var mapping = -1
    public var index = -1
    public var privateWord = -1
    /// `page_type` ∪ `_mapcount`.
    public var mapcount = -1
    public var refcount = -1
    public var memcgData = -1
    /// The ZONE_DEVICE arm's `zone_device_data`.
    public var zoneDeviceData = -1
    /// The memdesc word (memdesc designs).
    public var memdesc = -1
    /// dma-pinned-field (seed 000): `atomic_t _dma_pinned_count` after `_refcount`.
    public var dmaPinnedCount = -1
    /// lru-pinned designs (seed 002): `dma_pinned_flags` (aliases lru.next) and
    /// `dma_pinned_count` (aliases lru.prev).
    public var lruDmaPinnedFlags = -1
    public var lruDmaPinnedCount = -1

    // struct folio (overlaying pages) or the folio descriptor
    public var folioSize = 0
    public var folioFlags = -1
    public var folioLru = -1
    public var folioPgmap = -1
    /// The memdesc folio descriptor's `zone_device_data` (the model's place for it).
    public var folioZoneDeviceData = -1
    public var folioMapping = -1
    public var folioIndex = -1
    public var folioPrivate = -1
    public var folioMapcount = -1
    public var folioRefcount = -1
    public var folioMemcgData = -1
    public var folioFlags1 = -1
    public var folioLargeMapcount = -1
    public var folioNrPagesMapped = -1
    public var folioEntireMapcount = -1
    public var folioPincount = -1
    public var folioMmIdMapcount = -1
    public var folioMmIds = -1
    public var folioNrPages = -1
    public var folioDeferredList = -1
    /// memdesc folio: `_order` (u8) and `pfn`.
    public var folioOrder = -1
    public var folioPfn = -1

    // descriptors of the memdesc designs (0 in the struct page family)
    public var slabDescriptorSize = 0
    public var slabCache = -1
    public var ptdescDescriptorSize = 0
    /// `ptdesc->ptl` (the split page-table lock, a 4-byte spinlock_t): from the start of
    /// the table's struct page, or of its ptdesc descriptor in the memdesc designs.
    public var ptdescPtl = -1

    /// The bit where the folio order starts in the word at `folioFlags1`: 0 for
    /// `_flags_1` (6.6 on); 8 in 5.15 and 6.1, where that word is the first tail's
    /// `compound_dtor`/`compound_order` bytes and the order is the second byte
    /// (little-endian, as every arch the model has).
    public var folioOrderShift = 0
    /// 5.15/6.1: the first tail's `compound_dtor` (u8), set to COMPOUND_PAGE_DTOR.
    public var folioCompoundDtor = -1
    /// Whether `_pincount` is in the second tail page, so only folios of order ≥ 2 have
    /// it: v6.19 on 32-bit, and 5.15 (`page[2].hpage_pinned_refcount`,
    /// hpage_pincount_available()).
    public var pincountInSecondTail = false
    /// struct slab's `freelist` and `counters` (from its start, as `slabCache`).
    public var slabFreelist = -1
    public var slabCounters = -1

    /// page_type in the PAGE_TYPE_BASE encoding of kernels before 6.12 (a cleared type
    /// bit) instead of the PGTY_* top byte (PageTypeBase).
    public var pageTypeBase = false

    /// Whether folios are separately allocated descriptors (the scheme's answer).
    @inline(__always)
    public var foliosAreDescriptors: Bool { kind.foliosAreDescriptors }
}

extension ModelLayout {
    /// Resolves every offset from PageLayout's layouts of `design` on `config` and kernel
    /// `kernel`'s struct page and folio (`modelKernels`): the only place the model learns
    /// where a field is. Members a version names differently are looked up by either
    /// name (6.12's `index`, `_folio_nr_pages`; its folio's pgmap is struct page's).
    public init(config: LayoutConfig, design: Design, kernel: KernelVersion = .reference) {
        var page = Layouts.structPage(config, design: design)
        var folio = Layouts.folio(config, design: design)
        var versioned: [StructLayout] = []
        if kernel < .v6_18, let structs = try? Layouts.all(config, design: design, kernel: kernel).structs,
           let historicPage = structs.first(where: { $0.name == "page" }) {
            versioned = structs
            page = historicPage
            // 5.15 has no struct folio: page 0 of a folio is its head struct page.
            folio = structs.first(where: { $0.name == "folio" }) ?? historicPage
        }
        func at(_ layout: StructLayout, _ names: String...) -> Int {
            names.lazy.compactMap { layout.offset(of: $0) }.first ?? -1
        }
        kind = MemmapKind(design: design)
        wordSize = config.wordSize
        pageSize = page.size
        flags = at(page, "flags")
        // 5.15 links free pages through `lru` (buddy_list/pcp_list came in 5.17).
        link = at(page, "buddy_list", "lru")
        compoundHead = at(page, "compound_head")
        mapping = at(page, "mapping")
        index = at(page, "__folio_index", "index")
        privateWord = at(page, "private")
        mapcount = at(page, "_mapcount")
        refcount = at(page, "_refcount")
        memcgData = at(page, "memcg_data")
        zoneDeviceData = at(page, "zone_device_data")
        memdesc = at(page, "memdesc")
        dmaPinnedCount = at(page, "_dma_pinned_count")
        lruDmaPinnedFlags = at(page, "dma_pinned_flags")
        lruDmaPinnedCount = at(page, "dma_pinned_count")

        folioSize = folio.size
        folioFlags = at(folio, "flags")
        folioLru = at(folio, "lru")
        folioPgmap = folio.offset(of: "pgmap") ?? (kernel < .v6_18 ? at(page, "pgmap") : -1)
        folioZoneDeviceData = at(folio, "zone_device_data")
        folioMapping = at(folio, "mapping")
        folioIndex = at(folio, "index")
        folioPrivate = at(folio, "private")
        folioMapcount = at(folio, "_mapcount")
        folioRefcount = at(folio, "_refcount")
        folioMemcgData = at(folio, "memcg_data")
        folioFlags1 = at(folio, "_flags_1")
        folioLargeMapcount = at(folio, "_large_mapcount", "_folio_avail")
        pageTypeBase = kernel < .v6_12
        folioNrPagesMapped = at(folio, "_nr_pages_mapped")
        folioEntireMapcount = at(folio, "_entire_mapcount")
        folioPincount = at(folio, "_pincount")
        folioMmIdMapcount = at(folio, "_mm_id_mapcount")
        folioMmIds = at(folio, "_mm_ids")
        folioNrPages = kernel < .v6_18 ? at(folio, "_folio_nr_pages") : config.nrPagesInLargeFolio ? at(folio, "_nr_pages") : -1
        folioDeferredList = at(folio, "_deferred_list")
        pincountInSecondTail = wordSize == 4
        folioOrder = at(folio, "_order")
        folioPfn = at(folio, "pfn")

        let descriptors = kind.slabAndPtdescLayouts(config)
        // The version's struct slab (5.15: struct page's slab arm) and ptdesc (before
        // 6.5: struct page's page-table arm).
        let slab = versioned.first(where: { $0.name == "slab" }) ?? descriptors.slab
        slabCache = at(slab, "slab_cache")
        slabFreelist = at(slab, "freelist")
        slabCounters = at(slab, "counters")
        ptdescPtl = versioned.isEmpty ? at(descriptors.ptdesc, "ptl") : at(versioned.first(where: { $0.name == "ptdesc" }) ?? page, "ptl")
        if kind.foliosAreDescriptors {
            slabDescriptorSize = descriptors.slab.size
            ptdescDescriptorSize = descriptors.ptdesc.size
        }
        if kernel < .v6_6, !versioned.isEmpty { placeCompoundPageFields(page) }
    }
}
