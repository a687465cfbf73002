// What each design would cost on an older kernel version: the 64-byte-family designs
// change struct page, so their memmap is that version's struct page with the design's
// change applied (StructPageHistory.swift); page_ext's header is `struct page_ext {
// unsigned long flags; }` with clients appended unrounded in every version PageLab knows
// (5.15.135 and 6.1.166 include/linux/page_ext.h:35-37, mm/page_ext.c:80-93 and
// 89-111, as v6.19's); the memdesc designs are proposals for kernels after v6.19 and cost
// the same whatever version a census was taken on.

extension Design {
    /// The design's memory costs on `config` for kernel `version`:
    ///
    /// - mainline, lru-pinned, lru-pinned-rearranged: the version's struct page (the pin
    ///   fields of seed 002 overlay the `lru` words, which every version has);
    /// - dma-pinned-field: the version's struct page with `_dma_pinned_count` after
    ///   `_refcount`, so it costs nothing where that version's struct page has 4 bytes of
    ///   padding at that place and a whole alignment step where it has none;
    /// - page-ext: the version's struct page, and the same page_ext entry;
    /// - proxy: the version's struct page, and a `struct dynamic_page` embedding it;
    /// - memdesc32, memdesc8: `costs(config)`.
    ///
    /// 6.18 and 6.19 share v6.19's struct page: `costs(config)`.
    public func costs(_ config: LayoutConfig, kernel version: KernelVersion) -> DesignCosts {
        let current = costs(config)
        guard !allocatesDescriptors,
              let page = Layouts.historicStructPage(config, version: version, dmaPinnedCount: self == .dmaPinnedField)
        else { return current }
        return DesignCosts(
            design: self, structPageSize: page.size, descriptorSizes: current.descriptorSizes,
            pageExtBytesPerPage: current.pageExtBytesPerPage,
            bytesPerPin: self == .proxy ? Layouts.dynamicPage(config, page: page).size : 0)
    }
}
