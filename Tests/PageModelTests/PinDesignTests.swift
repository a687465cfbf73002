import PageLayout
@testable import PageModel
import Testing

/// Every pin-tracking design through the one protocol: exact counts, the zero page,
/// statistics, and the kernel's misuse cases.
@Suite struct PinDesignTests {
    static func machine(_ design: Design) throws -> Machine { try Machine(ramBytes: 128 << 20, design: design) }

    /// The references one pin holds on an order-0 folio.
    static func perPinReferences(_ design: Design) -> Int32 { design == .mainline ? 1024 : 1 }

    @Test(arguments: Design.allCases)
    func smallFolioPinAndUnpin(design: Design) throws {
        let machine = try Self.machine(design)
        #expect(machine.pins.tracker.design == design)
        let folio = try #require(machine.folioAlloc(.highuserMovable, order: 0))
        #expect(!machine.folioMaybeDMAPinned(folio))
        try machine.tryGrabFolio(folio)
        #expect(folio.refcount == 1 + Self.perPinReferences(design))
        #expect(machine.folioMaybeDMAPinned(folio))
        #expect(machine.exactPins(folio) == 1)
        try machine.tryGrabFolio(folio, refs: 2)
        #expect(folio.refcount == 1 + 3 * Self.perPinReferences(design))
        #expect(machine.exactPins(folio) == 3)
        #expect(machine.nodePinCounters(nid: 0) == (3, 0))
        machine.gupPutFolio(folio, refs: 2)
        #expect(machine.folioMaybeDMAPinned(folio))
        machine.unpinUserPage(folio.headPage)
        #expect(folio.refcount == 1)
        #expect(!machine.folioMaybeDMAPinned(folio))
        let stats = machine.pinStats
        #expect(stats.pinsAcquired == 3)
        #expect(stats.pinsReleased == 3)
        #expect(stats.outstanding == 0)
        #expect(stats.falsePositives == 0)
        #expect(stats.falseNegatives == 0)
        #expect(machine.nodePinCounters(nid: 0) == (3, 3))
        #expect(machine.diagnostics.count == 0)
        machine.folioPut(folio)
        #expect(folio.refcount == 0)
    }

    /// Large folios: exact counts on every design (mainline: `_pincount` + one reference
    /// per pin, since order ≥ 1 has a pincount on 64-bit).
    @Test(arguments: Design.allCases)
    func largeFolioExactCounts(design: Design) throws {
        let machine = try Self.machine(design)
        let folio = try #require(machine.folioAlloc(.highuserMovable, order: 2))
        try machine.tryGrabFolio(folio, refs: 4, page: folio.page(0))
        try machine.tryGrabFolio(folio, refs: 1, page: folio.page(3))
        #expect(folio.refcount == 6)
        #expect(machine.exactPins(folio) == 5)
        switch design {
        case .mainline, .memdesc32, .memdesc8: #expect(folio.pincount == 5)
        case .dmaPinnedField: #expect((machine.pins.tracker as? DMAPinnedFieldPins)?.count(of: folio) == 5)
        case .lruPinned, .lruPinnedRearranged: #expect((machine.pins.tracker as? LRUPinnedPins)?.count(of: folio) == 5)
        case .pageExt: #expect((machine.pins.tracker as? PageExtPins)?.count(pfn: folio.pfn, in: machine) == 5)
        case .proxy: #expect((machine.pins.tracker as? ProxyPins)?.proxies(of: folio) == 5)
        }
        // An order-2 folio counts its pins in PAGE_SIZE units: 5 of its 4 pages' pins.
        #expect(machine.nodePinCounters(nid: 0).acquired == 5)
        machine.gupPutFolio(folio, refs: 5)
        #expect(folio.refcount == 1)
        #expect(!machine.folioMaybeDMAPinned(folio))
        #expect(machine.pinStats.outstanding == 0)
        #expect(machine.diagnostics.count == 0)
    }

    @Test(arguments: Design.allCases)
    func zeroPageIsANoOp(design: Design) throws {
        let machine = try Self.machine(design)
        let zero = machine.zeroPage
        let before = zero.bytes
        try machine.tryGrabPage(zero, refs: 3)
        machine.unpinUserPage(zero)
        if let folio = machine.pageFolio(zero) {
            try machine.tryGrabFolio(folio)
            machine.gupPutFolio(folio)
            machine.folioAddPin(folio)
        }
        #expect(zero.bytes == before)
        #expect(machine.pinStats == PinStats())
        #expect(machine.nodePinCounters(nid: 0) == (0, 0))
        #expect(machine.diagnostics.count == 0)
    }

    /// 1024 plain get_page() references on a small folio: mainline's bias reads them as
    /// a pin (a counted false positive); the exact designs do not.
    @Test(arguments: Design.allCases)
    func plainReferencesLookPinnedOnlyUnderMainline(design: Design) throws {
        let machine = try Self.machine(design)
        let folio = try #require(machine.folioAlloc(.highuserMovable, order: 0))
        for _ in 0..<1024 { machine.getPage(folio.headPage) }
        #expect(folio.refcount == 1025)
        #expect(machine.folioMaybeDMAPinned(folio) == (design == .mainline))
        #expect(machine.pinStats.falsePositives == (design == .mainline ? 1 : 0))
        #expect(machine.pinStats.falseNegatives == 0)
        for _ in 0..<1024 { machine.putPage(folio.headPage) }
        #expect(!machine.folioMaybeDMAPinned(folio))
        #expect(machine.diagnostics.count == 0)
    }

    /// put_page() where unpin_user_page() was needed. The first put takes a reference
    /// the design cannot tell from the owner's (mainline: it silently eats one of the
    /// bias' 1024); the exact count notices the second, which would take the pin's own
    /// share (and under the exact designs free a pinned page): reported and refused.
    @Test(arguments: Design.allCases)
    func putPageWhereUnpinWasNeeded(design: Design) throws {
        let machine = try Self.machine(design)
        let folio = try #require(machine.folioAlloc(.highuserMovable, order: 0))
        try machine.tryGrabFolio(folio)
        machine.putPage(folio.headPage)
        #expect(machine.diagnostics.count == 0)
        #expect(folio.refcount == Self.perPinReferences(design))
        machine.putPage(folio.headPage)
        #expect(folio.refcount == Self.perPinReferences(design))
        #expect(machine.pinStats.putsOfPinnedReferences == 1)
        let report = try #require(machine.diagnostics.all.last)
        #expect(report.kind == .warn)
        #expect(report.pfn == UInt64(folio.pfn))
        #expect(report.reason.contains("unpin_user_page() was needed"))
        #expect(machine.folioMaybeDMAPinned(folio))
        // The unpin drops the last references: the folio is freed, no underflow.
        machine.unpinUserPage(folio.headPage)
        #expect(folio.refcount == 0)
        #expect(machine.diagnostics.of(kind: .bug).isEmpty)
        #expect(machine.pinStats.outstanding == 0)
    }

    /// An unpin of a folio that is not pinned is recorded and refused: no trap, no pin
    /// lost or doubled, no reference dropped.
    @Test(arguments: Design.allCases)
    func unpinOfUnpinnedIsRefused(design: Design) throws {
        let machine = try Self.machine(design)
        let folio = try #require(machine.folioAlloc(.highuserMovable, order: 0))
        machine.unpinUserPage(folio.headPage)
        #expect(folio.refcount == 1)
        try machine.tryGrabFolio(folio)
        machine.gupPutFolio(folio, refs: 2)
        #expect(folio.refcount == 1 + Self.perPinReferences(design))
        #expect(machine.exactPins(folio) == 1)
        #expect(machine.pinStats.unpinsOfUnpinned == 2)
        #expect(machine.diagnostics.of(kind: .warn).count == 2)
        #expect(machine.nodePinCounters(nid: 0) == (1, 0))
        machine.gupPutFolio(folio)
        #expect(folio.refcount == 1)
        #expect(machine.pinStats.outstanding == 0)
    }

    /// GUP-fast: add-unless-zero on the refcount, then the pin; a folio being freed
    /// (refcount 0) makes it fall back with nothing taken.
    @Test(arguments: Design.allCases)
    func fastGrab(design: Design) throws {
        let machine = try Self.machine(design)
        let folio = try #require(machine.folioAlloc(.highuserMovable, order: 0))
        let got = try #require(machine.tryGrabFolioFast(folio.headPage, refs: 2))
        #expect(got == folio)
        #expect(folio.refcount == 1 + 2 * Self.perPinReferences(design))
        #expect(machine.exactPins(folio) == 2)
        machine.gupPutFolio(folio, refs: 2)
        #expect(folio.refcount == 1)
        let zero = machine.zeroPage
        #expect(machine.tryGrabFolioFast(zero)?.pfn == machine.pageFolio(zero)?.pfn)
        folio.setRefcount(0)   // being freed
        #expect(machine.tryGrabFolioFast(folio.headPage) == nil)
        #expect(folio.refcount == 0)
        #expect(machine.pinStats.outstanding == 0)
        #expect(machine.nodePinCounters(nid: 0) == (2, 2))
        folio.setRefcount(1)
        machine.folioPut(folio)
    }

    /// A refcount ≤ 0 is try_grab_folio's WARN and ENOMEM on every design.
    @Test(arguments: Design.allCases)
    func grabOfAFreedFolioIsENOMEM(design: Design) throws {
        let machine = try Self.machine(design)
        let folio = try #require(machine.folioAlloc(.highuserMovable, order: 0))
        folio.setRefcount(0)
        #expect(throws: Errno.ENOMEM) { try machine.tryGrabFolio(folio) }
        #expect(machine.diagnostics.of(kind: .warn).count == 1)
        #expect(machine.pinStats.refusedGrabs == 1)
        #expect(machine.exactPins(folio) == 0)
        folio.setRefcount(1)
        machine.folioPut(folio)
    }

    /// folio_add_pin(): one more pin, one more reference; not counted in
    /// nr_foll_pin_acquired (as in the kernel), counted exactly in the statistics.
    @Test(arguments: Design.allCases)
    func addPin(design: Design) throws {
        let machine = try Self.machine(design)
        let folio = try #require(machine.folioAlloc(.highuserMovable, order: 0))
        machine.folioAddPin(folio)   // not pinned: refused
        #expect(folio.refcount == 1)
        try machine.tryGrabFolio(folio)
        machine.folioAddPin(folio)
        #expect(folio.refcount == 1 + 2 * Self.perPinReferences(design))
        #expect(machine.exactPins(folio) == 2)
        #expect(machine.nodePinCounters(nid: 0) == (1, 0))
        machine.gupPutFolio(folio, refs: 2)
        #expect(folio.refcount == 1)
        #expect(machine.nodePinCounters(nid: 0) == (1, 2))
        #expect(machine.pinStats.pinsAcquired == 2)
        #expect(machine.pinStats.outstanding == 0)
        #expect(machine.diagnostics.count == 1)
    }

    /// Σ acquired − Σ released = outstanding, over a mix of folios and orders.
    @Test(arguments: Design.allCases)
    func acquiredMinusReleasedIsOutstanding(design: Design) throws {
        let machine = try Self.machine(design)
        var folios: [Folio] = []
        for order in [0, 0, 1, 3, 0, 2] { folios.append(try #require(machine.folioAlloc(.highuserMovable, order: order))) }
        var expected = 0
        for (i, folio) in folios.enumerated() {
            try machine.tryGrabFolio(folio, refs: Int32(i + 1))
            expected += i + 1
        }
        for folio in folios.prefix(3) { machine.gupPutFolio(folio, refs: 1) }
        expected -= 3
        let stats = machine.pinStats
        #expect(stats.outstanding == expected)
        #expect(stats.outstanding == folios.reduce(0) { $0 + machine.exactPins($1) })
        let node = machine.nodePinCounters(nid: 0)
        #expect(node.acquired - node.released == expected)
        for (i, folio) in folios.enumerated() { machine.gupPutFolio(folio, refs: Int32(i + 1) - (i < 3 ? 1 : 0)) }
        #expect(machine.pinStats.outstanding == 0)
        for folio in folios { #expect(folio.refcount == 1) }
        #expect(machine.diagnostics.count == 0)
    }

    /// The costs on x86-64, each derived by hand from the structures (not read back
    /// from the layouts the costs are computed from): struct page is 64 bytes
    /// (mm_types.h); dma-pinned-field adds an atomic_t (68, padded to 80 as DESIGN.md
    /// says); memdesc32 and memdesc8 shrink it to 32 and 8 bytes and allocate a folio
    /// descriptor of flags 8 + lru 16 + mapping 8 + index 8 + private 8 + _refcount 4 +
    /// _mapcount 4 + _pincount 4 + _order 1 (+3) + pfn 8 + memcg_data 8 = 80 bytes (a
    /// multiple of the 16-byte slab alignment); page-ext adds a page_ext entry of flags 8
    /// + dma_pinned_flags 4 + dma_pinned_count 4 = 16 bytes for each of the 32 768 pfns
    /// of the 128 MiB machine's one section; proxy allocates a dynamic_page of struct
    /// page 64 + vaddr 8 + pfn 8 = 80 bytes per pin.
    @Test(arguments: Design.allCases)
    func costs(design: Design) throws {
        let machine = try Self.machine(design)
        let costs = machine.pinCosts
        #expect(costs.design == design)
        let expected: (page: Int, growth: Int, folio: Int, pageExt: Int, perPin: Int) = switch design {
        case .dmaPinnedField: (80, 16, 0, 0, 0)
        case .memdesc32: (32, -32, 80, 0, 0)
        case .memdesc8: (8, -56, 80, 0, 0)
        case .pageExt: (64, 0, 0, 16, 0)
        case .proxy: (64, 0, 0, 0, 80)
        case .mainline, .lruPinned, .lruPinnedRearranged: (64, 0, 0, 0, 0)
        }
        #expect(costs.structPageBytes == expected.page)
        #expect(costs.structPageGrowthBytes == expected.growth)
        #expect(costs.descriptorBytesPerFolio == expected.folio)
        #expect(costs.pageExtBytesPerPage == expected.pageExt)
        #expect(costs.pageExtBytes == expected.pageExt * 32_768)
        #expect(costs.bytesPerPin == expected.perPin)
        #expect(costs.pinAllocations == 0)
    }
}
