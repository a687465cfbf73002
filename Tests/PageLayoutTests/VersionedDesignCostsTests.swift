import Testing
@testable import PageLayout

/// What the designs cost on an older kernel's struct page (`Design.costs(_:kernel:)`).
/// Expected sizes are added up by hand from each version's include/linux/mm_types.h
/// (x86_64: 8-byte words, struct page aligned to 2 * sizeof(unsigned long) with
/// CONFIG_HAVE_ALIGNED_STRUCT_PAGE): flags 8 + the five-word union 40 + page_type ∪
/// _mapcount 4 + _refcount 4 = 56, then what the config adds after _refcount.
@Suite struct VersionedDesignCostsTests {
    /// A config with CONFIG_SLAB_OBJ_EXT (memory allocation profiling) but no MEMCG.
    /// v6.19 and 6.12 (linux-6.12.y mm_types.h:183-187) keep `unsigned long
    /// _unused_slab_obj_exts` after _refcount (56 + 8 = 64), so seed 000's 4-byte
    /// `_dma_pinned_count` after _refcount moves it to 64: 72, padded to 80. 6.6
    /// (linux-6.6.y mm_types.h:181-185) has only `#ifdef CONFIG_MEMCG memcg_data`: its
    /// struct page is 56 padded to 64, and the count fits in the padding: 60 -> 64.
    @Test func dmaPinnedFieldFitsWhereTheVersionHasPadding() {
        let config = LayoutConfig(arch: .x86_64, memcg: false, slabObjExt: true)
        #expect(Design.mainline.costs(config, kernel: .v6_6).structPageSize == 64)
        #expect(Design.dmaPinnedField.costs(config, kernel: .v6_6).structPageSize == 64)
        #expect(Design.dmaPinnedField.costs(config, kernel: .v6_12).structPageSize == 80)
        #expect(Design.dmaPinnedField.costs(config, kernel: .v6_19).structPageSize == 80)
        #expect(Design.dmaPinnedField.costs(config, kernel: .v6_1).structPageSize == 64)
        #expect(Design.dmaPinnedField.costs(config, kernel: .v5_15).structPageSize == 64)
    }

    /// With MEMCG (memcg_data after _refcount, every version), the count pushes
    /// memcg_data from 56 to 64: 72, padded to 80, on 5.15 as on v6.19. page-ext keeps
    /// the version's 64-byte struct page and adds struct page_ext's `unsigned long flags`
    /// (5.15 include/linux/page_ext.h:35-37) and the 8-byte pin client: 16 per page.
    /// proxy's `struct dynamic_page` is the 64-byte page plus vaddr and pfn: 80.
    /// lru-pinned keeps the version's struct page. The memdesc designs do not change.
    @Test func everyDesignOn515() {
        let config = LayoutConfig(arch: .x86_64)
        #expect(Design.dmaPinnedField.costs(config, kernel: .v5_15).structPageSize == 80)
        let pageExt = Design.pageExt.costs(config, kernel: .v5_15)
        #expect(pageExt.structPageSize == 64 && pageExt.pageExtBytesPerPage == 16)
        #expect(Design.proxy.costs(config, kernel: .v5_15).bytesPerPin == 80)
        #expect(Design.lruPinned.costs(config, kernel: .v5_15).structPageSize == 64)
        #expect(Design.memdesc8.costs(config, kernel: .v5_15) == Design.memdesc8.costs(config))
        #expect(Design.memdesc32.costs(config, kernel: .v6_1) == Design.memdesc32.costs(config))
    }

    /// On 32-bit i386, 5.15's struct page is flags 4 + union 20 + 4 + 4 + memcg_data 4 =
    /// 36 (5.15 mm_types.h:70-230), aligned to 2 * sizeof(unsigned long) = 8
    /// (arch/x86/Kconfig selects HAVE_ALIGNED_STRUCT_PAGE with SLUB on 32-bit too): 40.
    /// The dma-pinned count after _refcount (32) moves memcg_data to 36: 40 again, the
    /// padding takes it.
    @Test func thirtyTwoBit515() {
        let config = LayoutConfig(arch: .i386)
        #expect(Design.mainline.costs(config, kernel: .v5_15).structPageSize == 40)
        #expect(Design.dmaPinnedField.costs(config, kernel: .v5_15).structPageSize == 40)
    }
}
