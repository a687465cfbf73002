// What the two memdesc schemes share: the memdesc word (descriptor address | type in
// bits 0-3) and the separately allocated folio, slab and ptdesc descriptors
// (kernelnewbies MatthewWilcox/Memdescs, Memdescs/Path; FolioAlloc).
import PageLayout

/// The memdesc type value the model gives scamem: 14, unassigned in every revision of
/// the type table (kernel-facts.md 5.2); seed 004 does not name one.
let memdescScamemType: UInt64 = 14

/// A scheme whose pages hold a memdesc word pointing to separately allocated
/// descriptors. Each conformer says how Misc memory reads and whether the pages of a
/// folio or slab keep a (zero) refcount of their own; the rest is written once here.
protocol MemdescScheme: DescriptorScheme {
    /// The word of Misc memory of `order` (memdesc8 keeps the order in bits 12-17).
    static func miscWord(order: Int) -> UInt64
    /// Linux (memdesc plan): whether a page's word says Misc memory with no descriptor.
    static func isMisc(_ word: UInt64) -> Bool
}

extension MemdescScheme {
    static var foliosAreDescriptors: Bool { true }
    static func slabLayout(_ config: LayoutConfig) -> StructLayout { Layouts.descriptor(.slab, config) }
    static func ptdescLayout(_ config: LayoutConfig) -> StructLayout { Layouts.descriptor(.ptdesc, config) }

    @inline(__always)
    static func isCompoundHead(_ page: Page) -> Bool { false }

    /// The bare pages of the memdesc schemes are Misc memory with no descriptor: any
    /// other word is a descriptor still attached; a Misc page that keeps a refcount must
    /// have dropped it. Then the words are reset to Misc.
    static func freePagesPrepare(_ machine: Machine, _ pfn: Int, order: Int) -> Bool {
        let ctx = machine.context
        for i in 0..<(1 << order) where !isMisc(Page(unchecked: pfn + i, ctx).memdesc) {
            machine.badPage(Page(unchecked: pfn + i, ctx), reason: "memdesc still points to a descriptor")
            return false
        }
        let page = Page(unchecked: pfn, ctx)
        if page.refcount != 0 {
            machine.badPage(page, reason: "nonzero _refcount")
            return false
        }
        ctx.stampMemdesc(pfn, count: 1 << order, miscWord(order: 0))
        // `page->flags.f &= ~PAGE_FLAGS_CHECK_AT_PREP` for every page of the block
        // (__free_pages_prepare(), mm/page_alloc.c), where the page keeps a flags word
        // (memdesc32): PG_anon_exclusive lives there, and a reused page must not carry it.
        if ctx.pointee.layout.flags >= 0 {
            for i in 0..<(1 << order) { Page(unchecked: pfn + i, ctx).flags &= ~machine.checkAtPrep }
        }
        return true
    }

    @inline(__always)
    static func resetBadPage(_ page: Page) {}

    // MARK: scamem (seed 004)

    /// The scamem pointer in every page's word, type `memdescScamemType` (the model's
    /// pick of an unassigned type value: revision C names none for it); node, zone and
    /// section are then looked up from the pfn (section table, zone spans), as the seed
    /// proposes. Address 0: back to plain Misc memory, as vm_area_alloc_pages() left it.
    @inline(__always)
    static func stampScamem(_ ctx: MemmapContextPointer, _ pfn: Int, address: UInt64) -> Bool {
        Page(unchecked: pfn, ctx).memdesc = address == 0 ? miscWord(order: 0) : address | memdescScamemType
        return true
    }

    @inline(__always)
    static func pageScamem(_ ctx: MemmapContextPointer, _ pfn: Int) -> UInt64 {
        let word = Page(unchecked: pfn, ctx).memdesc
        return word & MemdescWord.typeMask == memdescScamemType ? word & ~MemdescWord.typeMask : 0
    }

    // MARK: Folios

    /// The folio's first page: pages have no compound_head.
    @inline(__always)
    static func compoundHead(_ machine: Machine, _ page: Page) -> Page {
        pageFolio(machine, page)?.headPage ?? page
    }

    /// The folio descriptor the memdesc word points to, for File and Anon memdescs only
    /// ("page_folio() returns NULL for non-folio pages", the 2025 "New York" plan).
    /// Not forced inline: `Machine.pageFolio` would then carry this body twice (memdesc32
    /// and memdesc8) into every caller, above the size up to which the optimizer honours
    /// @inline(__always), and `vm_normal_folio()` became a call on every design's zap
    /// and fork paths.
    static func pageFolio(_ machine: Machine, _ page: Page) -> Folio? {
        let word = page.memdesc
        let type = word & MemdescWord.typeMask
        guard type == UInt64(MemdescType.file.rawValue) || type == UInt64(MemdescType.anon.rawValue) else { return nil }
        let address = word & ~MemdescWord.typeMask
        guard machine.heap.contains(address) else { return nil }
        return Folio(raw: machine.heap.pointer(address), address: address, pfn: page.pfn, context: page.context).reread
    }

    /// Every page's word = folio | File; the pages' own `_refcount` stays 0 ("0 for
    /// folios": the folio holds the count) where they have one.
    @inline(__always)
    static func stampFolio(_ ctx: MemmapContextPointer, _ pfn: Int, order: Int, descriptor address: UInt64) {
        stampDescriptor(ctx, pfn, count: 1 << order, address | UInt64(MemdescType.file.rawValue))
    }

    /// A descriptor's word in every page, and frozen pages (refcount 0) where pages keep
    /// one.
    @inline(__always)
    static func stampDescriptor(_ ctx: MemmapContextPointer, _ pfn: Int, count: Int, _ word: UInt64) {
        for i in 0..<count {
            let page = Page(unchecked: pfn + i, ctx)
            page.memdesc = word
            if miscPagesHaveRefcount { page.setRefcount(0) }
        }
    }

    /// The descriptor checked as `free_pages_prepare()` checks a page; then the pages'
    /// words go back to Misc (no order recorded: the block goes straight to
    /// `free_frozen_pages()` with its order), the descriptor and then the memory.
    static func freeFolio(_ machine: Machine, _ folio: Folio) {
        if machine.isZoneDevice(folio.pfn) {
            machine.freeZoneDeviceFolio(folio)   // its descriptor stays the pagemap's
            return
        }
        let order = folio.order
        var reason: String?
        if folio.mapcountRaw != -1 { reason = "nonzero mapcount" }
        if folio.mapping & ~1 != 0, folio.mapping & 1 == 0 { reason = "non-NULL mapping" }
        if folio.refcount != 0 { reason = "nonzero _refcount" }
        if let pins = folio.pincount, pins != 0 { reason = "nonzero pincount" }
        if folio.flags & machine.checkAtFree != 0 { reason = "PAGE_FLAGS_CHECK_AT_FREE flag(s) set" }
        if folio.memcgData != 0 { reason = "page still charged to cgroup" }
        if let reason {
            machine.badPage(folio.headPage, reason: reason)
            return
        }
        machine.context.stampMemdesc(folio.pfn, count: 1 << order, miscWord(order: 0))
        machine.heap.free(folio.address, size: machine.layout.folioSize, alignment: Layouts.memdescDescriptorAlignment, kind: .folio)
        machine.freeFrozenPages(folio.pfn, order: order)
    }

    /// Each later page gets its own order-0 descriptor, frozen (refcount 0), with the
    /// old descriptor's flags but the prep-checked ones, plus `keep`; mapping, index + i
    /// and memcg_data; the old descriptor's order becomes 0 (the memdesc plan's split:
    /// new descriptors where v6.19 turns tail struct pages into folios).
    static func splitFolio(_ machine: Machine, _ folio: Folio, keep: UInt64, descriptors: [UInt64]) {
        let flags = folio.flags, mapping = folio.mapping, index = folio.index, memcg = folio.memcgData
        for (n, address) in descriptors.enumerated() {
            let i = n + 1
            let new = machine.fillFolioDescriptor(at: address, folio.pfn + i, order: 0, refcount: 0)
            new.flags = (flags & ~machine.checkAtPrep) | (flags & keep)
            new.mapping = mapping
            new.index = index &+ UInt64(i)
            new.memcgData = memcg
        }
        folio.setUInt8(machine.layout.folioOrder, 0)
    }

    // MARK: ZONE_DEVICE

    /// The folio descriptor of every device folio, allocated as one array when the
    /// pagemap is made. Deliberately: the memdesc plan allocates a folio descriptor when
    /// a folio is made (`folio_alloc()`, kernelnewbies MatthewWilcox/FolioAlloc) and says
    /// nothing of device memory; device pages are made once by `memremap_pages()` and
    /// handed out by their driver through `zone_device_page_init()`, which cannot fail
    /// for want of memory, so the model gives each page (each compound page of
    /// `vmemmap_shift`) its descriptor up front, as v6.19 gives each its struct page.
    static func attachZoneDevice(_ machine: Machine, pages: Int, shift: Int) -> UInt64? {
        machine.heap.allocate(size: (pages >> shift) * machine.layout.folioSize, alignment: Layouts.memdescDescriptorAlignment, kind: .folio)
    }

    static func detachZoneDevice(_ machine: Machine, _ pgmap: DevPagemap) {
        machine.heap.free(pgmap.descriptors, size: (pgmap.range.count >> pgmap.vmemmapShift) * machine.layout.folioSize,
                          alignment: Layouts.memdescDescriptorAlignment, kind: .folio)
    }

    /// The descriptor `attachZoneDevice` made for the device page (compound page) `pfn`.
    @inline(__always)
    private static func zoneDeviceDescriptor(_ machine: Machine, _ pfn: Int, pgmap: DevPagemap) -> Folio {
        let address = pgmap.descriptors &+ UInt64(((pfn - pgmap.range.start) >> pgmap.vmemmapShift) * machine.layout.folioSize)
        return Folio(raw: machine.heap.pointer(address), address: address, pfn: pfn, context: machine.context)
    }

    /// The own descriptors of a device folio's pages after the head, for its split.
    static func ownDescriptors(_ machine: Machine, _ folio: Folio, pgmap: DevPagemap) -> [UInt64] {
        (folio.pfn + 1..<folio.pfn + folio.nrPages).map { zoneDeviceDescriptor(machine, $0, pgmap: pgmap).address }
    }

    /// The pages' words point to the device folio's descriptor (type File, as every
    /// folio's: page_folio() finds it); ZONE_DEVICE is a zone number, in memdesc32's
    /// page flags (`page_zonenum()`) and, for memdesc8, by pfn from the zone spans
    /// (kernel-facts.md 5.4). The descriptor keeps `flags` (node, zone, PG_reserved:
    /// "we copy page->flags from the first page to the folio", KN-Memdescs/Path),
    /// `pgmap` in the lru union (offset 8, as v6.19's struct folio), `zone_device_data`
    /// NULL, and the refcount (1 for MEMORY_DEVICE_GENERIC, else 0).
    static func initZoneDeviceFolio(_ machine: Machine, _ head: Int, order: Int, flags: UInt64, pgmap: DevPagemap) {
        let layout = machine.layout, ctx = machine.context
        if layout.flags >= 0 {
            for pfn in head..<(head + (1 << order)) {
                let page = Page(unchecked: pfn, ctx)
                page.flags = flags
                page.privateValue = 0
            }
        }
        let folio = machine.fillFolioDescriptor(at: zoneDeviceDescriptor(machine, head, pgmap: pgmap).address, head, order: order,
                                                refcount: pgmap.type == .generic ? 1 : 0)
        folio.flags = flags
        folio.pgmap = pgmap.address
        folio.setWord(layout.folioZoneDeviceData, 0)
    }

    /// `zone_device_page_init()` on the page's own descriptor, which its `1 << order`
    /// pages then point to (a page that was a tail of a larger device folio points back
    /// at its own): flags but bits 0-7 (order, head, PG_locked), mapping and index
    /// (`share`) 0, `pgmap`, refcount 1, `_mapcount` -1, `_pincount` 0, the order, and
    /// locked. `zone_device_data` is left as it was, as the kernel leaves the page's.
    static func zoneDevicePageInit(_ machine: Machine, _ page: Page, pgmap: DevPagemap, order: Int) -> Folio {
        let layout = machine.layout
        let own = zoneDeviceDescriptor(machine, page.pfn, pgmap: pgmap)
        let flags = own.flags, data = own.word(layout.folioZoneDeviceData)
        let folio = machine.fillFolioDescriptor(at: own.address, page.pfn, order: order, refcount: 1)
        folio.flags = flags & ~0xff
        folio.mapping = 0
        folio.index = 0
        folio.pgmap = pgmap.address
        folio.setWord(layout.folioZoneDeviceData, data)
        _ = folio.tryLock()
        return folio
    }

    /// The page's own descriptor's `zone_device_data` word (the model's place for it:
    /// memdesc32's page has no free word, its `private` being the buddy order and
    /// `_mapcount`, and memdesc8's page is the memdesc word alone).
    static func zoneDeviceData(_ machine: Machine, _ page: Page) -> UnsafeMutableRawPointer? {
        guard let folio = pageFolio(machine, page), let pgmap = machine.registry.object(at: folio.pgmap, as: DevPagemap.self),
              pgmap.range.contains(page.pfn) else { return nil }
        return zoneDeviceDescriptor(machine, page.pfn, pgmap: pgmap).field(machine.layout.folioZoneDeviceData, machine.layout.wordSize)
    }

    // MARK: Mapcounts

    /// Only the folio descriptor counts mappings.
    @inline(__always)
    static func pageMapcountOffset(_ layout: ModelLayout) -> Int { -1 }

    // MARK: Slabs and page tables

    /// A `memdesc_slab` from the descriptor heap, every page's word pointing to it (type
    /// Slab), the pages frozen.
    static func attachSlab(_ machine: Machine, _ head: Page, order: Int) -> DescriptorBytes? {
        guard let address = machine.heap.allocate(size: machine.layout.slabDescriptorSize, alignment: Layouts.memdescDescriptorAlignment, kind: .slab) else {
            return nil
        }
        stampDescriptor(machine.context, head.pfn, count: 1 << order, address | UInt64(MemdescType.slab.rawValue))
        return slabBytes(machine, address)
    }

    static func slabDescriptor(_ machine: Machine, _ pfn: Int) -> DescriptorBytes? {
        let word = Page(unchecked: pfn, machine.context).memdesc
        guard word & MemdescWord.typeMask == UInt64(MemdescType.slab.rawValue) else { return nil }
        return slabBytes(machine, word & ~MemdescWord.typeMask)
    }

    private static func slabBytes(_ machine: Machine, _ address: UInt64) -> DescriptorBytes {
        DescriptorBytes(raw: machine.heap.pointer(address), pfn: -1, span: machine.layout.slabDescriptorSize, context: machine.context)
    }

    /// The first of the pages whose words point to the same slab (a slab never spans a
    /// hole in the memmap: the walk stops at one).
    static func slabHead(_ machine: Machine, _ pfn: Int) -> Int {
        let word = Page(unchecked: pfn, machine.context).memdesc
        guard word & MemdescWord.typeMask == UInt64(MemdescType.slab.rawValue) else { return -1 }
        var head = pfn
        while machine.memmap.isValid(pfn: head - 1), Page(unchecked: head - 1, machine.context).memdesc == word { head -= 1 }
        return head
    }

    static func detachSlab(_ machine: Machine, _ pfn: Int, order: Int) {
        let address = Page(unchecked: pfn, machine.context).memdesc & ~MemdescWord.typeMask
        machine.context.stampMemdesc(pfn, count: 1 << order, miscWord(order: order))
        machine.heap.free(address, size: machine.layout.slabDescriptorSize, alignment: Layouts.memdescDescriptorAlignment, kind: .slab)
    }

    /// The `memdesc_ptdesc` the page's word points to.
    @inline(__always)
    static func ptdesc(_ ctx: MemmapContextPointer, _ pfn: Int) -> DescriptorBytes {
        let address = Page(unchecked: pfn, ctx).memdesc & ~MemdescWord.typeMask
        return DescriptorBytes(raw: ctx.pointee.heapHost + Int(truncatingIfNeeded: address &- ctx.pointee.heapBase), pfn: -1,
                               span: ctx.pointee.layout.ptdescDescriptorSize, context: ctx)
    }

    /// A `memdesc_ptdesc` from the descriptor heap, every page's word pointing to it
    /// (type PTdesc). The pages keep their refcount: `pagetable_free()` drops it.
    static func attachPtdesc(_ machine: Machine, _ page: Page, order: Int) -> Bool {
        guard let address = machine.heap.allocate(size: machine.layout.ptdescDescriptorSize, alignment: Layouts.memdescDescriptorAlignment, kind: .ptdesc) else {
            return false
        }
        machine.context.stampMemdesc(page.pfn, count: 1 << order, address | UInt64(MemdescType.ptdesc.rawValue))
        return true
    }

    static func detachPtdesc(_ machine: Machine, _ page: Page, order: Int) -> Bool {
        let word = page.memdesc
        guard word & MemdescWord.typeMask == UInt64(MemdescType.ptdesc.rawValue) else {
            machine.diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(page.pfn), reason: "pagetable_free: page is not a ptdesc"))
            return false
        }
        machine.heap.free(word & ~MemdescWord.typeMask, size: machine.layout.ptdescDescriptorSize, alignment: Layouts.memdescDescriptorAlignment, kind: .ptdesc)
        machine.context.stampMemdesc(page.pfn, count: 1 << order, miscWord(order: order))
        return true
    }
}
