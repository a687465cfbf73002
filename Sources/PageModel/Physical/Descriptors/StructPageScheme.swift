// The struct-page overlay family (mainline and the 2018 designs): a 64-byte struct page
// (32 on 32-bit) whose unions are overlaid by struct folio, struct slab and struct
// ptdesc (include/linux/mm_types.h), free blocks marked by page_type and `private`
// (mm/page_alloc.c), tails found through compound_head (include/linux/page-flags.h).
import PageLayout

enum StructPageScheme: DescriptorScheme {
    static var foliosAreDescriptors: Bool { false }
    static var miscPagesHaveRefcount: Bool { true }
    static func slabLayout(_ config: LayoutConfig) -> StructLayout { Layouts.slab(config) }
    static func ptdescLayout(_ config: LayoutConfig) -> StructLayout { Layouts.ptdesc(config) }

    // MARK: Boot

    /// `__init_single_page()`: flags, `_mapcount = -1` (page_mapcount_reset()), an empty
    /// `lru` (INIT_LIST_HEAD), `_last_cpupid = -1` where it has a field, and the refcount
    /// (1 for reserved pages, 0 for pages memblock hands to the buddy allocator).
    /// The offsets and the word size are read once, before the loop: each store through
    /// a view may alias the context (both are raw memory), so the views' own accessors
    /// reload them per field (8 of the 53 instructions a page cost at machine build,
    /// measured with callgrind, against 45 at 6c19c2f). The fields all exist in a struct
    /// page, and each address still comes from the checked `field(_:_:)`.
    @inline(__always)
    static func initPages(_ ctx: MemmapContextPointer, _ pfns: Range<Int>, flags: UInt64, reserved: Bool, lastCpupid: Int) {
        let l = ctx.pointee.layout, word = l.wordSize
        for pfn in pfns {
            let page = Page(unchecked: pfn, ctx)
            RawMemory.storeWord(flags, page.field(l.flags, word), wordSize: word)
            RawMemory.atomicSet(page.field(l.mapcount, 4), -1)
            let link = ctx.pageAddress(pfn) &+ UInt64(l.link)
            RawMemory.storeWord(link, page.field(l.link, word), wordSize: word)
            RawMemory.storeWord(link, page.field(l.link + word, word), wordSize: word)
            if lastCpupid >= 0 { page.field(lastCpupid, 4).storeBytes(of: -1, as: Int32.self) }
            page.field(l.refcount, 4).storeBytes(of: reserved ? 1 : 0, as: Int32.self)
        }
    }

    static func initZeroPage(_ ctx: MemmapContextPointer, _ pfn: Int) {}

    // MARK: Free blocks

    /// The struct page's `buddy_list`.
    static var freeLinkTableBytesPerPfn: Int { 0 }

    @inline(__always)
    static func freeLinkAddress(_ ctx: MemmapContextPointer, _ pfn: Int) -> UInt64 {
        ctx.pageAddress(pfn) &+ UInt64(ctx.pointee.layout.link)
    }

    @inline(__always)
    static func pfn(_ ctx: MemmapContextPointer, ofFreeLink address: UInt64) -> Int {
        ctx.pfn(ofPageAddress: address &- UInt64(ctx.pointee.layout.link)) ?? -1
    }

    /// The order in `private`, then `__SetPageBuddy()` (page_type = PGTY_buddy << 24, or
    /// PG_buddy cleared before 6.12).
    @inline(__always)
    static func setBuddy(_ ctx: MemmapContextPointer, _ pfn: Int, order: Int) {
        let page = Page(unchecked: pfn, ctx)
        page.privateValue = UInt64(order)
        page.setType(.buddy)
    }

    @inline(__always)
    static func clearBuddy(_ ctx: MemmapContextPointer, _ pfn: Int) {
        let page = Page(unchecked: pfn, ctx)
        page.mapcountRaw = -1
        page.privateValue = 0
    }

    @inline(__always)
    static func buddyOrder(_ ctx: MemmapContextPointer, _ pfn: Int) -> Int {
        let page = Page(unchecked: pfn, ctx)
        let buddy = ctx.pointee.layout.pageTypeBase ? PageTypeBase.test(page.pageType, .buddy) : page.pageType >> 24 == UInt32(PageType.buddy.rawValue)
        guard buddy else { return -1 }
        return Int(truncatingIfNeeded: page.privateValue)
    }

    @inline(__always)
    static func pcpPrivate(order: Int) -> UInt64 { UInt64(order) }

    // MARK: Bare pages

    @inline(__always)
    static func prepNewPages(_ ctx: MemmapContextPointer, _ pfn: Int, order: Int) {
        let page = Page(unchecked: pfn, ctx)
        page.privateValue = 0
        page.setRefcount(1)
    }

    @inline(__always)
    static func isCompoundHead(_ page: Page) -> Bool { page.isHead }

    static func freePagesPrepare(_ machine: Machine, _ pfn: Int, order: Int) -> Bool {
        machine.freePagesPrepareStructPage(Page(unchecked: pfn, machine.context), order: order)
    }

    @inline(__always)
    static func resetBadPage(_ page: Page) { page.mapcountRaw = -1 }

    /// Nothing: v6.19 marks no vmalloc page (no page type, no flag); it is a plain page
    /// with refcount 1 that vfree() drops with `__free_page()`.
    @inline(__always)
    static func markVmalloc(_ ctx: MemmapContextPointer, _ pfn: Int, mappable: Bool) {}

    /// No scamem: every page has its own refcount, which v6.19's vm_insert_page() and
    /// GUP take.
    @inline(__always)
    static func stampScamem(_ ctx: MemmapContextPointer, _ pfn: Int, address: UInt64) -> Bool { false }
    @inline(__always)
    static func pageScamem(_ ctx: MemmapContextPointer, _ pfn: Int) -> UInt64 { 0 }

    // MARK: Folios

    /// Bit 0 of `compound_head` marks a tail; the rest is the head's address.
    @inline(__always)
    static func compoundHead(_ machine: Machine, _ page: Page) -> Page {
        let word = page.compoundHeadWord
        if word & 1 != 0, let head = machine.memmap.page(atAddress: word &- 1) { return head }
        return page
    }

    /// The folio is the head struct page.
    @inline(__always)
    static func pageFolio(_ machine: Machine, _ page: Page) -> Folio? {
        let head = compoundHead(machine, page)
        return Folio(raw: head.raw, address: head.address, pfn: head.pfn, context: head.context)
    }

    static func stampFolio(_ ctx: MemmapContextPointer, _ pfn: Int, order: Int, descriptor address: UInt64) {}

    /// ZONE_DEVICE folios go back to their pagemap; others lose PG_large_rmappable and go
    /// to `free_frozen_pages()`, whose checks are the struct page's.
    static func freeFolio(_ machine: Machine, _ folio: Folio) {
        let order = folio.order
        if machine.isZoneDevice(folio.pfn) {
            machine.freeZoneDeviceFolio(folio)
            return
        }
        // folio_unqueue_deferred_split(): the model keeps no split queue, so a folio
        // still on one is a bad page in free_tail_page_prepare().
        if order > 0, let second = folio.page(1) { second.clearFlag(machine.flagBits.workingset) }
        machine.freeFrozenPages(folio.pfn, order: order)
    }

    /// Each tail: its flags but the node/zone fields cleared (`~PAGE_FLAGS_CHECK_AT_PREP`:
    /// on page 1 that clears the order byte of `_flags_1` and PG_large_rmappable) and
    /// the head's `keep` flags set, mapping, index + i, then `clear_compound_head()`
    /// (the words of `_large_mapcount`.. on page 1 and `_deferred_list` on page 2 are
    /// overwritten by mapping and the LRU link, as in the kernel); memcg_data. A tail
    /// whose `_mapcount` is not -1 is the kernel's VM_BUG_ON_PAGE: recorded. Then
    /// `ClearPageCompound()` on the head. `_last_cpupid` is not copied: the model never
    /// sets one (every page keeps -1).
    static func splitFolio(_ machine: Machine, _ folio: Folio, keep: UInt64, descriptors: [UInt64]) {
        let ctx = machine.context
        let headFlags = folio.flags, mapping = folio.mapping, index = folio.index, memcg = folio.memcgData
        let mapcount = machine.layout.mapcount
        for i in 1..<folio.nrPages {
            let page = Page(unchecked: folio.pfn + i, ctx)
            if mapcount >= 0, page.int32(mapcount) != -1 {
                machine.diagnostics.record(Diagnostic(kind: .bug, pfn: UInt64(page.pfn), reason: "__split_folio_to_order: tail _mapcount != -1",
                                                      dump: machine.dumpPage(page)))
            }
            page.flags = (page.flags & ~machine.checkAtPrep) | (headFlags & keep)
            let new = Folio(raw: page.raw, address: page.address, pfn: page.pfn, context: ctx)
            new.mapping = mapping
            new.index = index &+ UInt64(i)
            page.compoundHeadWord = 0
            new.memcgData = memcg
        }
        folio.clearFlag(machine.flagBits.head)
    }

    // MARK: ZONE_DEVICE

    /// Nothing beyond the struct pages: the folio is the head struct page.
    static func attachZoneDevice(_ machine: Machine, pages: Int, shift: Int) -> UInt64? { 0 }
    static func detachZoneDevice(_ machine: Machine, _ pgmap: DevPagemap) {}

    /// `__init_zone_device_page()` per page: flags, `_mapcount` -1, an empty `lru`, then
    /// `page_folio(page)->pgmap = pgmap` (the folio field in the lru slot),
    /// `zone_device_data` NULL and the refcount; `memmap_init_compound()` (mm/mm_init.c)
    /// makes the compound page when `order` > 0, its tails at refcount 0.
    static func initZoneDeviceFolio(_ machine: Machine, _ head: Int, order: Int, flags: UInt64, pgmap: DevPagemap) {
        let layout = machine.layout
        for pfn in head..<(head + (1 << order)) {
            let page = Page(unchecked: pfn, machine.context)
            page.flags = flags
            page.mapcountRaw = -1
            let link = page.address &+ UInt64(layout.link)
            page.storeWord(link, atOffset: layout.link)
            page.storeWord(link, atOffset: layout.link + layout.wordSize)
            page.storeWord(pgmap.address, atOffset: layout.folioPgmap)
            page.zoneDeviceData = 0
            page.setRefcount(pgmap.type == .generic ? 1 : 0)
        }
        if order > 0 {
            _ = machine.prepCompound(head, order: order)
            for pfn in (head + 1)..<(head + (1 << order)) { Page(unchecked: pfn, machine.context).setRefcount(0) }
        }
    }

    /// `zone_device_page_init()` (mm/memremap.c): `flags.f &= ~0xff` (order and head
    /// bits), `_nr_pages` 0, mapping NULL, `share` 0 then `pgmap` (in
    /// lru-pinned-rearranged, Wilcox's arm, pgmap lives in the index word, so the order
    /// matters there), refcount 1, locked, `prep_compound_page()` if `order` > 0.
    static func zoneDevicePageInit(_ machine: Machine, _ page: Page, pgmap: DevPagemap, order: Int) -> Folio {
        let folio = Folio(raw: page.raw, address: page.address, pfn: page.pfn, context: page.context)
        // Every page of the range: it may have been part of an earlier folio of another
        // order (a tail of a freed THP, or a page that held the order byte or _nr_pages).
        for i in 0..<(1 << order) {
            let each = i == 0 ? page : Page(unchecked: page.pfn + i, page.context)
            let new = i == 0 ? folio : Folio(raw: each.raw, address: each.address, pfn: each.pfn, context: page.context)
            each.flags &= ~0xff
            // _nr_pages of a folio starting here lies in the next page: cleared for every
            // page but the last of a large range (the next page lies outside it).
            if order == 0 || i + 1 < 1 << order { new.setUInt32(machine.layout.folioNrPages, 0) }
            each.mapping = 0
            // folio->share = 0 first: in lru-pinned-rearranged (Wilcox's arm) pgmap lives in
            // the index word, so the order matters there.
            each.index = 0
            new.pgmap = pgmap.address   // also clears compound_head
        }
        folio.setRefcount(1)
        _ = page.tryLock()
        if order > 0 { _ = machine.prepCompound(page.pfn, order: order) }
        return folio
    }

    /// The struct page's own `zone_device_data` (offset 16 in v6.19).
    static func zoneDeviceData(_ machine: Machine, _ page: Page) -> UnsafeMutableRawPointer? {
        page.field(machine.layout.zoneDeviceData, machine.layout.wordSize)
    }

    // MARK: Mapcounts

    @inline(__always)
    static func pageMapcountOffset(_ layout: ModelLayout) -> Int { layout.mapcount }

    @inline(__always)
    static func anonExclusive(_ page: Page, folio: Folio, bit: Int) -> Bool { page.testFlag(bit) }

    @inline(__always)
    static func setAnonExclusive(_ page: Page, folio: Folio, bit: Int, _ on: Bool) {
        if on { page.setFlag(bit) } else { page.clearFlag(bit) }
    }

    // MARK: Slabs and page tables

    /// Slabs are frozen pages (refcount 0) in v6.19 (alloc_frozen_pages()), marked
    /// PGTY_slab, or PG_slab where the kernel version has that flag (6.6's
    /// `__folio_set_slab()`); struct slab overlays the head page.
    static func attachSlab(_ machine: Machine, _ head: Page, order: Int) -> DescriptorBytes? {
        head.setRefcount(0)
        if machine.flagBits.slab >= 0 { head.setFlag(machine.flagBits.slab) } else { head.setType(.slab) }
        return slabDescriptor(machine, head.pfn)
    }

    /// struct slab is the head page's bytes (`sizeof(struct slab) <= sizeof(struct page)`).
    static func slabDescriptor(_ machine: Machine, _ pfn: Int) -> DescriptorBytes? {
        let page = Page(unchecked: pfn, machine.context)
        return DescriptorBytes(raw: page.raw, pfn: pfn, span: page.span, context: page.context)
    }

    static func slabHead(_ machine: Machine, _ pfn: Int) -> Int {
        compoundHead(machine, Page(unchecked: pfn, machine.context)).pfn
    }

    static func detachSlab(_ machine: Machine, _ pfn: Int, order: Int) {
        let head = Page(unchecked: pfn, machine.context)
        if machine.flagBits.slab >= 0 { head.clearFlag(machine.flagBits.slab) } else { head.pageType = UInt32.max }
        head.setWord(machine.layout.slabCache, 0)
    }

    /// struct ptdesc overlays the struct page.
    @inline(__always)
    static func ptdesc(_ ctx: MemmapContextPointer, _ pfn: Int) -> DescriptorBytes {
        let page = Page(unchecked: pfn, ctx)
        return DescriptorBytes(raw: page.raw, pfn: pfn, span: page.span, context: ctx)
    }

    /// `__folio_set_pgtable()`: PGTY_table (PG_table cleared before 6.12).
    static func attachPtdesc(_ machine: Machine, _ page: Page, order: Int) -> Bool {
        page.setType(.table)
        return true
    }

    static func detachPtdesc(_ machine: Machine, _ page: Page, order: Int) -> Bool {
        guard page.type == .table else {
            machine.diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(page.pfn), reason: "pagetable_free: page is not a page table",
                                                  dump: machine.dumpPage(page)))
            return false
        }
        page.pageType = UInt32.max
        return true
    }
}
