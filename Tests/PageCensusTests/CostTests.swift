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

    @Test func everyDesignCostsMemmapPlusDescriptorsPlusPageExt() {
        for cost in CensusCosts.compute(census, config: config) {
            let layout = cost.design.costs(config)
            #expect(cost.memmapBytes == 12288 * layout.structPageSize)
            #expect(cost.pageExtBytes == 12288 * layout.pageExtBytesPerPage)
            let d = layout.descriptorSizes
            let folios: Int = 17 * (d[.folio] ?? 0)
            let slabs: Int = 2 * (d[.slab] ?? 0)
            let ptdescs: Int = d[.ptdesc] ?? 0
            let zpdescs: Int = 5 * (d[.zpdesc] ?? 0)
            let descriptors = folios + slabs + ptdescs + zpdescs
            #expect(cost.descriptorBytes == descriptors, "\(cost.design)")
            #expect(cost.totalBytes == cost.memmapBytes + cost.pageExtBytes + descriptors)
            #expect(cost.inUsePages == 16384 - 4096 - 4096 - 2047)
            #expect(cost.perKind.reduce(0, +) == cost.totalBytes)
            #expect(cost.perKind[Int(PageKind.free.rawValue)] == 2047 * layout.fixedBytesPerPage)
            #expect(cost.percentOfRAM == 100 * Double(cost.totalBytes) / Double(12288 * 4096))
        }
    }

    @Test func overridesAndBreakEvenOrder() throws {
        let defaults = CensusCosts.compute(census, config: config, designs: [.memdesc32, .memdesc8, .mainline])
        let folio = Design.memdesc8.costs(config).descriptorSizes[.folio] ?? 0
        // 8 + folio/2^k < 64 and 32 + folio/2^k < 64, from the layout's folio size.
        #expect(defaults[1].breakEvenOrder == (0...18).first { 8 << $0 + folio < 64 << $0 })
        #expect(defaults[0].breakEvenOrder == (0...18).first { 32 << $0 + folio < 64 << $0 })
        #expect(defaults[2].breakEvenOrder == nil)
        // real-machine-census.md §1: with a 128-byte large folio, the 32-byte layout gains
        // from order 3, the 8-byte one from order 2.
        let overrides = try DescriptorSizes.parseOverrides(["folio=80", "folio-large=128"])
        let sized = CensusCosts.compute(census, config: config, designs: [.memdesc32, .memdesc8], overrides: overrides)
        #expect(sized[0].breakEvenOrder == 3)
        #expect(sized[1].breakEvenOrder == 2)
        let d = Design.memdesc8.costs(config).descriptorSizes
        let others: Int = 2 * (d[.slab] ?? 0) + (d[.ptdesc] ?? 0) + 5 * (d[.zpdesc] ?? 0)
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
}
