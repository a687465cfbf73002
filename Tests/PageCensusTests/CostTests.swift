import PageLayout
import Testing
@testable import PageCensus

@Suite struct CostTests {
    let census = SyntheticMachine.standard().census()
    let config = LayoutConfig(arch: .x86_64)

    @Test func descriptorCounts() {
        let counts = DescriptorCounts(census)
        #expect(counts.smallFolios.reduce(0, +) == 3)     // page cache, shmem, anon order 0
        #expect(counts.largeFolios.reduce(0, +) == 14)    // 11 page cache, THP, hugetlb, huge zero folio
        #expect(counts.totalSlabs == 2)
        #expect(counts.totalPtdescs == 1)
        #expect(counts.totalZpdescs == 5)                 // vmstat nr_zspages
        #expect(counts.largeFolios[Int(PageKind.free.rawValue)] == 0)
    }

    /// x86-64 sizes derived by hand from the structures, not read back from the layouts
    /// the costs are computed from: struct page 64 (80 with the dma-pinned field, 32 and
    /// 8 on the memdesc path); page-ext's entry flags 8 + pin client 8 = 16; the memdesc
    /// descriptors, each padded to the 16-byte slab alignment: folio 80 (flags 8, lru 16,
    /// mapping, index, private 8 each, _refcount, _mapcount, _pincount 4 each, _order 1
    /// + 3, pfn 8, memcg_data 8), slab 64 (flags, slab_cache, a 32-byte union of
    /// slab_list + the 16-byte-aligned freelist/counters pair, obj_exts: 56), ptdesc 48
    /// (pt_flags 8, three 8/16-byte unions 32, pt_memcg_data 8), zpdesc 64 (flags, lru,
    /// movable_ops, next/handle, zspage: 48, first_obj_offset 4, _refcount 4: 56).
    static func expectedSizes(_ design: Design) -> (page: Int, pageExt: Int, descriptors: (folio: Int, slab: Int, ptdesc: Int, zpdesc: Int)) {
        switch design {
        case .dmaPinnedField: (80, 0, (0, 0, 0, 0))
        case .pageExt: (64, 16, (0, 0, 0, 0))
        case .memdesc32: (32, 0, (80, 64, 48, 64))
        case .memdesc8: (8, 0, (80, 64, 48, 64))
        case .mainline, .lruPinned, .lruPinnedRearranged, .proxy: (64, 0, (0, 0, 0, 0))
        }
    }

    @Test func everyDesignCostsMemmapPlusDescriptorsPlusPageExt() {
        for cost in CensusCosts.compute(census, config: config) {
            let sizes = Self.expectedSizes(cost.design)
            #expect(cost.memmapBytes == 12288 * sizes.page)
            #expect(cost.pageExtBytes == 12288 * sizes.pageExt)
            // The census: 17 folios (3 small, 14 large), 2 slabs, 1 page table, 5 zspages.
            let d = sizes.descriptors
            let descriptors = 17 * d.folio + 2 * d.slab + d.ptdesc + 5 * d.zpdesc
            #expect(cost.descriptorBytes == descriptors, "\(cost.design)")
            #expect(cost.totalBytes == 12288 * (sizes.page + sizes.pageExt) + descriptors)
            #expect(cost.inUsePages == 16384 - 4096 - 4096 - 2047)
            #expect(cost.perKind.reduce(0, +) == cost.totalBytes)
            #expect(cost.perKind[Int(PageKind.free.rawValue)] == 2047 * (sizes.page + sizes.pageExt))
            #expect(cost.percentOfRAM == 100 * Double(cost.totalBytes) / Double(12288 * 4096))
        }
    }

    @Test func overridesAndBreakEvenOrder() throws {
        let defaults = CensusCosts.compute(census, config: config, designs: [.memdesc32, .memdesc8, .mainline])
        // An order-k folio pays 2^k struct pages plus one 80-byte descriptor: the 8-byte
        // layout beats 64 × 2^k from order 1 (8·2 + 80 = 96 < 128; 88 ≥ 64 at order 0),
        // the 32-byte one from order 2 (32·4 + 80 = 208 < 256; 144 ≥ 128 at order 1).
        #expect(defaults[1].breakEvenOrder == 1)
        #expect(defaults[0].breakEvenOrder == 2)
        #expect(defaults[2].breakEvenOrder == nil)
        // real-machine-census.md §1: with a 128-byte large folio, the 32-byte layout gains
        // from order 3, the 8-byte one from order 2.
        let overrides = try DescriptorSizes.parseOverrides(["folio=80", "folio-large=128"])
        let sized = CensusCosts.compute(census, config: config, designs: [.memdesc32, .memdesc8], overrides: overrides)
        #expect(sized[0].breakEvenOrder == 3)
        #expect(sized[1].breakEvenOrder == 2)
        let others = 2 * 64 + 48 + 5 * 64   // slabs, the ptdesc and the zpdescs, as above
        #expect(sized[1].descriptorBytes == 3 * 80 + 14 * 128 + others)
    }

    @Test func badOverridesAreTypedErrors() {
        for bad in ["folio", "folio=0", "page=8", "folio=abc", "slab=99999999"] {
            #expect(throws: CensusError.self) { try DescriptorSizes.parseOverrides([bad]) }
        }
    }

    @Test func fleetAddsUp() {
        let fleet = Census.fleet([census, census])
        #expect(fleet.pfns == 2 * census.pfns)
        #expect(fleet[.pageCache].pages == 2 * census[.pageCache].pages)
        #expect(fleet.buddyBlocks == census.buddyBlocks.map { 2 * $0 })
        #expect(fleet.cgroups == [7: 4094, 9: 1028])
        let one = CensusCosts.compute(census, config: config)
        let two = CensusCosts.compute(fleet, config: config)
        for (a, b) in zip(one, two) { #expect(b.totalBytes == 2 * a.totalBytes) }
        #expect(fleet.info.machine == "fleet of 2 machines")
    }

    /// The kernel version is an input: with CONFIG_SLAB_OBJ_EXT but no MEMCG, 6.6's
    /// struct page (linux-6.6.y mm_types.h:181-185: nothing after _refcount but
    /// `#ifdef CONFIG_MEMCG memcg_data`) is 56 bytes padded to 64, so the dma-pinned
    /// field's 4 bytes fit and its memmap costs 64 per pfn; v6.19's (and 6.12's, with
    /// `_unused_slab_obj_exts` after _refcount) grows to 72, padded to 80.
    @Test func designCostsUseTheKernelVersionsStructPage() {
        let config = LayoutConfig(arch: .x86_64, memcg: false, slabObjExt: true)
        let pfns = census.pfnsWithMemmap
        let old = CensusCosts.compute(census, config: config, designs: [.dmaPinnedField, .mainline], kernel: .v6_6)
        let new = CensusCosts.compute(census, config: config, designs: [.dmaPinnedField, .mainline])
        #expect(old.map(\.memmapBytes) == [pfns * 64, pfns * 64])
        #expect(new.map(\.memmapBytes) == [pfns * 80, pfns * 64])
    }
}
