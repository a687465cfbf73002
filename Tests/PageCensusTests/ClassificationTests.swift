import PageLayout
import Testing
@testable import PageCensus

@Suite struct ClassificationTests {
    let machine = SyntheticMachine.standard()

    @Test func everyPfnGetsTheKindItWasBuiltAs() {
        let census = machine.census()
        #expect(census.pfns == 16384)
        for kind in PageKind.allCases {
            #expect(census[kind].pages == machine.expected[Int(kind.rawValue)], "\(kind)")
        }
        #expect(census[.hole].pages == 4096)
        #expect(census[.uninitialised].pages == 4096)
        #expect(census[.untyped].pages == 3)
    }

    @Test func memmapCoversWholeSectionsWithRAM() {
        let census = machine.census()
        #expect(census.pfnsWithMemmap == 3 * 4096)
        #expect(census.ramPages == 3 * 4096)
        #expect(census[.hole].memmapPages == 0)
        #expect(Iomem(parsing: SyntheticMachine.iomem).memmapPages(pagesPerSection: 4096) == 3 * 4096)
    }

    @Test func folioOfEveryOrderFromHeadTailRuns() {
        let census = machine.census()
        let pageCache = census.units[Int(PageKind.pageCache.rawValue)]
        // One folio of each order 0...10, plus the order-2 folio whose tails carry only
        // COMPOUND_TAIL (pre-6.9 kernels) and still count as page cache.
        #expect(Array(pageCache[0...10]) == [1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1])
        #expect(census[.pageCache].heads == 11)
        #expect(census[.pageCache].tails == 2047 - 11 + 3)
        #expect(census.units[Int(PageKind.anon.rawValue)][0] == 1)
        #expect(census.units[Int(PageKind.anon.rawValue)][9] == 1)
        #expect(census.units[Int(PageKind.hugetlb.rawValue)][9] == 1)
        #expect(census.units[Int(PageKind.zeroPage.rawValue)][0] == 1)
        #expect(census.units[Int(PageKind.zeroPage.rawValue)][9] == 1)
        #expect(census.units[Int(PageKind.slab.rawValue)][0] == 1)
        #expect(census.units[Int(PageKind.slab.rawValue)][1] == 1)
        #expect(census.units[Int(PageKind.otherCompound.rawValue)][2] == 1)
        #expect(census.irregularCompounds == 0)
        // KPF_THP marks any large rmappable folio: page cache of orders 1-10, the PMD THP
        // and the huge zero folio.
        #expect(census.thpHeads == [0, 1, 1, 1, 1, 1, 1, 1, 1, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    }

    @Test func freeRunsSplitIntoNaturallyAlignedBuddyBlocks() {
        let census = machine.census()
        #expect(census.buddyBlocks == [Int](repeating: 1, count: 11))
        #expect(census.buddyinfo == [Int](repeating: 1, count: 11))
        #expect(census.buddyOrdersMatching == Array(3...10))
    }

    @Test func slabJunkBitsDoNotMakeAnon() {
        let census = machine.census()
        #expect(census[.slab].pages == 3)
        #expect(census.slabWithAnon == 3)
        #expect(census.slabWithKsm == 2)
        #expect(census[.anon].pages == 513)
    }

    @Test func mapcountAndCgroups() {
        let census = machine.census()
        #expect(census.mapcount[1] == 2047 + 1 + 512)
        #expect(census.mapcount[2] == 1)
        #expect(census.mapcount[0] == 16384 - 2561)
        #expect(census.cgroups == [7: 2047, 9: 514])
        #expect(census[.pageCache].charged == 2047)
        #expect(census[.anon].mapped == 513)
    }

    @Test func chunkSizeDoesNotChangeTheResult() {
        #expect(machine.census(chunk: 4096) == machine.census(chunk: 8192))
        #expect(machine.census(chunk: 4096) == machine.census(chunk: 16384))
    }

    @Test func irregularRunsAreCounted() {
        var m = SyntheticMachine()
        m.compound(order: 2, [.lru, .uptodate], kind: .pageCache)
        m.add(1, [.lru, .uptodate, .compoundTail], kind: .pageCache)  // a fifth page: 5 is no power of two
        let census = m.census()
        #expect(census.irregularCompounds == 1)
        #expect(census[.pageCache].tails == 4)
    }

    @Test func classifyOrderOfPrecedence() {
        #expect(PageKind.classify(0) == .untyped)
        #expect(PageKind.classify(KernelPageFlags([.buddy, .hwpoison]).rawValue) == .hwpoison)
        #expect(PageKind.classify(KernelPageFlags([.slab, .anon]).rawValue) == .slab)
        #expect(PageKind.classify(KernelPageFlags([.pgtable, .anon, .mmap]).rawValue) == .pageTable)
        #expect(PageKind.classify(KernelPageFlags([.swapbacked, .lru]).rawValue) == .shmem)
        #expect(PageKind.classify(KernelPageFlags([.anon, .swapbacked]).rawValue) == .anon)
        #expect(PageKind.classify(KernelPageFlags([.compoundHead]).rawValue) == .otherCompound)
        #expect(PageKind.classify(KernelPageFlags([.reserved]).rawValue) == .reserved)
        #expect(PageKind.classify(KernelPageFlags.nopage.rawValue) == .hole)   // older kernels' holes
        #expect(PageKind.classify(KernelPageFlags([.huge, .compoundTail]).rawValue) == .hugetlb)
    }
}

@Suite struct PictureTests {
    @Test func onePixelPerPfnOrPerBlockWithTheMostCommonKind() {
        let machine = SyntheticMachine.standard()
        let full = machine.census().picture
        #expect(full?.pfnsPerPixel == 1)
        #expect(full?.pixels.count == 16384)
        #expect(full?.pixels[2048] == PageKind.free.rawValue)
        #expect(full?.pixels[8192] == PageKind.hole.rawValue)

        var builder = CensusBuilder(info: machine.info, picture: true, expectedPfns: 16384, pictureMaxPixels: 16)
        builder.consume(flags: machine.flags, counts: machine.counts, cgroups: machine.cgroups)
        let blocks = builder.finish().picture
        #expect(blocks?.pfnsPerPixel == 1024)
        // Block 12: 492 reserved against 513 anon; block 13: 512 hugetlb against 512 zero
        // page, a tie, which goes to the kind listed first.
        #expect(blocks?.pixels == [PageKind.pageCache, .pageCache, .free, .free, .uninitialised, .uninitialised, .uninitialised, .uninitialised,
                                   .hole, .hole, .hole, .hole, .anon, .zeroPage, .reserved, .reserved].map(\.rawValue))
    }
}
