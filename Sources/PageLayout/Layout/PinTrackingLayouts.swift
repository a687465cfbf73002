// The out-of-struct-page pin trackers: a page_ext client (include/linux/page_ext.h,
// mm/page_ext.c; seeds 000 option 4 and 002) and the proxy `struct dynamic_page` of
// seed 003.

extension Layouts {
    /// One page_ext entry of the page-ext design: the shared `struct page_ext { unsigned
    /// long flags; }` header, then the pin client at the offset page_ext.c gives it
    /// (`offset = page_ext_size; page_ext_size += ops->size`, no rounding,
    /// mm/page_ext.c:116-138). The client (a flag word and a count) is PageLab's
    /// rendering of the proposal; mainline has no such client.
    public static func pageExt(_ config: LayoutConfig) -> StructLayout {
        let t = CTypes(config)
        let layout = StructLayout.describe("page_ext", [
            .member("flags", t.ulong.asKind(.flags), note: "struct page_ext: PAGE_EXT_OWNER, ... (shared flags)"),
            .member("dma_pinned_flags", t.uint.asKind(.flags), note: "pin client: PageDmaPinned"),
            .member("dma_pinned_count", t.atomic, note: "pin client: exact pin count"),
        ])
        return layout.with(
            rules: [
                LayoutRule(field: "flags", offset: 0, size: config.wordSize,
                           mask: config.arch.bitsPerLong == 64 ? 0x3 : 0xf,
                           rule: "enum page_ext_flags: PAGE_EXT_OWNER (bit 0) and PAGE_EXT_OWNER_ALLOCATED (bit 1) for page_owner; on 32-bit also PAGE_EXT_YOUNG (2) and PAGE_EXT_IDLE (3) for page_idle",
                           source: "include/linux/page_ext.h:25-55"),
                LayoutRule(field: "dma_pinned_flags", offset: layout.offset(of: "dma_pinned_flags") ?? 0, size: 4, mask: 0x1,
                           rule: "PageLab's pin client: bit 0 is PageDmaPinned; the entry is found by lookup_page_ext() under RCU, and is NULL before page_ext is initialised",
                           source: "mm/page_ext.c:240-264,500-560; seeds 000, 002"),
            ],
            note: "seeds 000 (option 4) and 002: pin flag and count in a page_ext client, allocated for every pfn")
    }

    /// `struct dynamic_page { struct page; unsigned long vaddr; unsigned long pfn; ... }`
    /// (M. Wilcox, Dec 2018, seed 003), allocated per pin by GUP and marked by a page
    /// bit. We read the unnamed `struct page;` as an embedded copy of struct page (so a
    /// proxy can be passed where a page is expected), which makes it the largest reading.
    /// `page` is the struct page it embeds: v6.19's by default, an older version's when
    /// costed on that version (`Design.costs(_:kernel:)`).
    public static func dynamicPage(_ config: LayoutConfig, page: StructLayout? = nil) -> StructLayout {
        let t = CTypes(config)
        let page = page ?? classicStructPage(config, design: .proxy)
        let layout = StructLayout.describe("dynamic_page", [
            .member("page", CType("struct page", size: page.size, align: page.align, kind: .record),
                    note: "proxy of the real page; PG bit marks it dynamic"),
            .member("vaddr", t.ulong, note: "user address the pin was taken at"),
            .member("pfn", t.ulong, note: "the real page"),
        ])
        return layout.with(note: "D. Williams / M. Wilcox, Dec 2018 (seed 003): one per pin; never merged")
    }
}
