// The checks a page passes on its way back to the allocator, and the bad-page report
// (mm/page_alloc.c: __free_pages_prepare(), free_tail_page_prepare(),
// page_expected_state(), page_bad_reason(), bad_page(); mm/debug.c: __dump_page()).
import PageLayout
import Synchronization

extension Machine {
    /// TAIL_MAPPING = (void *)0x400 + POISON_POINTER_DELTA [include/linux/poison.h].
    var tailMapping: UInt64 { (layout.wordSize == 8 ? 0xdead_0000_0000_0000 : 0) + 0x400 }

    /// Linux: `__free_pages_prepare()` of the struct-page schemes (the dispatch is
    /// `freePagesPrepare(_:order:)` in Physical/Descriptors/). Returns false, after a
    /// `bad_page()` report, when the page must not be freed (it is then leaked, as the
    /// kernel does).
    func freePagesPrepareStructPage(_ page: Page, order: Int) -> Bool {
        let prepMask = checkAtPrep
        let compound = page.isHead
        var bad = 0
        if order > 0 {
            // `folio->_nr_pages = 0` (NR_PAGES_IN_LARGE_FOLIO): page 1's word that is
            // memcg_data on an order-0 page.
            if compound { Folio(raw: page.raw, address: page.address, pfn: page.pfn, context: context).setUInt32(layout.folioNrPages, 0) }
            for i in 1..<(1 << order) {
                let tail = Page(unchecked: page.pfn + i, context)
                if compound, !freeTailPagePrepare(head: page, tail, index: i) { bad += 1 }
                tail.flags &= ~prepMask
            }
        }
        // folio_test_anon(): FOLIO_MAPPING_ANON in the mapping's bit 0.
        if page.mapping & 1 != 0 { page.mapping = 0 }
        // Reset the page_type (which overlays _mapcount).
        if page.hasType { page.pageType = UInt32.max }
        if let reason = badReason(page, checkFlags: checkAtFree) {
            badPage(page, reason: reason)
            bad += 1
        }
        if bad > 0 { return false }
        page.flags &= ~prepMask
        page.privateValue = 0
        return true
    }

    /// Linux: `page_bad_reason()`: the last matching cause wins, as in the kernel.
    func badReason(_ page: Page, checkFlags: UInt64) -> String? {
        var reason: String?
        if page.mapcountRaw != -1 { reason = "nonzero mapcount" }
        if page.mapping != 0 { reason = "non-NULL mapping" }
        if page.refcount != 0 { reason = "nonzero _refcount" }
        if page.flags & checkFlags != 0 { reason = "PAGE_FLAGS_CHECK_AT_FREE flag(s) set" }
        if layout.memcgData >= 0, page.memcgData != 0 { reason = "page still charged to cgroup" }
        return reason
    }

    /// Linux: `free_tail_page_prepare()`: the first tail's folio fields, the second's
    /// deferred list, every other tail's TAIL_MAPPING, PageTail and compound_head; then
    /// `mapping` and `compound_head` are cleared whatever the outcome.
    private func freeTailPagePrepare(head: Page, _ tail: Page, index: Int) -> Bool {
        let folio = Folio(raw: head.raw, address: head.address, pfn: head.pfn, context: context)
        let is64 = layout.wordSize == 8
        var reason: String?
        switch index {
        case 1:
            if let m = folio.largeMapcountRaw, m != -1 { reason = "nonzero large_mapcount" }
            else if layoutConfig.pageMapcount, let n = folio.nrPagesMapped, n != 0 { reason = "nonzero nr_pages_mapped" }
            else if layoutConfig.mmID, layout.folioMmIdMapcount >= 0, mmIdMapcount(folio, 0) != -1 { reason = "nonzero mm mapcount 0" }
            else if layoutConfig.mmID, layout.folioMmIdMapcount >= 0, mmIdMapcount(folio, 1) != -1 { reason = "nonzero mm mapcount 1" }
            else if is64, let e = folio.entireMapcountRaw, e != -1 { reason = "nonzero entire_mapcount" }
            else if is64, let pins = folio.pincount, pins != 0 { reason = "nonzero pincount" }
        case 2:
            if layout.folioDeferredList >= 0 {
                let list = head.address &+ UInt64(layout.folioDeferredList)
                if context.next(list) != list { reason = "on deferred list" }
            }
            if reason == nil, !is64 {
                if let e = folio.entireMapcountRaw, e != -1 { reason = "nonzero entire_mapcount" }
                else if layout.folioPincount >= 0, folio.atomic(layout.folioPincount) != 0 { reason = "nonzero pincount" }
            }
        case 3 where hugetlbEnabled:
            break
        default:
            if tail.mapping != tailMapping { reason = "corrupted mapping in tail page" }
        }
        if reason == nil, !tail.isTail { reason = "PageTail not set" }
        if reason == nil, tail.compoundHeadWord != head.address | 1 { reason = "compound_head not consistent" }
        if let reason { badPage(tail, reason: reason) }
        tail.mapping = 0
        tail.compoundHeadWord = 0
        return reason == nil
    }

    /// CONFIG_HUGETLB_PAGE: page 3's mapping word holds hugetlb fields.
    var hugetlbEnabled: Bool { config.kernel.isEnabled("HUGETLB_PAGE") || config.kernel.isEnabled("HUGETLBFS") }

    func mmIdMapcount(_ folio: Folio, _ i: Int) -> Int32 {
        let offset = layout.folioMmIdMapcount
        return layout.wordSize == 8
            ? folio.int32(offset + 4 * i)
            : Int32(folio.int16(offset + 2 * i))
    }

    /// Linux: `bad_page()`: report "BUG: Bad page state" with a dump, reset the mapcount
    /// so that the page no longer looks like a buddy page, and leave it out of the
    /// allocator.
    func badPage(_ page: Page, reason: String) {
        let dump = dumpPage(page, reason: reason)
        context.resetBadPage(page)
        counters.badPages.add(1, ordering: .relaxed)
        diagnostics.record(Diagnostic(kind: .badPage, pfn: UInt64(page.pfn), reason: reason, dump: dump))
    }

    /// Linux: `dump_page()`: refcount, mapcount, mapping, index, pfn, the flags by name,
    /// the page type and the raw words of the struct page.
    public func dumpPage(_ page: Page, reason: String? = nil) -> String {
        let hex = { (v: UInt64) in String(v, radix: 16) }
        let width = layout.wordSize * 2
        let pad = { (v: UInt64) -> String in let s = hex(v); return String(repeating: "0", count: max(0, width - s.count)) + s }
        var lines: [String] = []
        let typed = page.hasType
        let mapcount = typed ? 0 : Int(page.mapcountRaw) + 1
        lines.append("page: refcount:\(page.refcount) mapcount:\(mapcount) mapping:\(pad(page.mapping)) index:0x\(hex(page.index)) pfn:0x\(hex(UInt64(page.pfn)))")
        if page.isTail {
            lines.append("head: 0x\(hex(page.compoundHeadWord & ~1))")
        }
        if layout.flags >= 0 {
            let flags = page.flags
            var names = flagsBudget.flags.filter { flags & (1 << UInt64($0.bit)) != 0 }.map { String($0.name.dropFirst(3)) }
            names.append("node=\(page.nid)")
            names.append("zone=\(page.zoneIndex)")
            lines.append("flags: 0x\(hex(flags))(\(names.joined(separator: "|")))")
        }
        if layout.memdesc >= 0 {
            let word = page.memdesc
            let type = MemdescType(rawValue: UInt8(word & MemdescWord.typeMask)).map(\.description) ?? "?"
            lines.append("memdesc: 0x\(pad(word)) (type \(word & MemdescWord.typeMask): \(type))")
        }
        if typed, let type = page.type {
            let value = layout.pageTypeBase ? UInt64(page.pageType) : UInt64(type.rawValue)
            lines.append("page_type: \(hex(value))(\(type))")
        }
        let words = stride(from: 0, to: layout.pageSize, by: layout.wordSize).map { pad(page.word($0)) }
        for start in stride(from: 0, to: words.count, by: 32 / layout.wordSize) {
            lines.append("raw: " + words[start..<min(words.count, start + 32 / layout.wordSize)].joined(separator: " "))
        }
        if let reason { lines.append("page dumped because: \(reason)") }
        return lines.joined(separator: "\n")
    }
}
