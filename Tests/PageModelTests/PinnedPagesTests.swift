import PageLayout
@testable import PageModel
import Testing

/// The PinnedPages token: unpin(dirty:), the leak report of a dropped token, per-site
/// tallies, all-or-nothing pinning.
@Suite struct PinnedPagesTests {
    @Test(arguments: Design.allCases)
    func unpinDirtyMarksFolios(design: Design) throws {
        let machine = try Machine(ramBytes: 128 << 20, design: design)
        let a = try #require(machine.folioAlloc(.highuserMovable, order: 0))
        let b = try #require(machine.folioAlloc(.highuserMovable, order: 1))
        let pages = [a.headPage, try #require(b.page(0)), try #require(b.page(1)), machine.zeroPage]
        let pinned = try machine.pinPages(pages, site: "driver")
        #expect(pinned.count == 4)
        #expect(machine.pins.outstandingBySite == ["driver": 3])
        #expect(machine.exactPins(a) == 1)
        #expect(machine.exactPins(b) == 2)
        #expect(!a.testFlag(machine.flagBits.dirty))
        pinned.unpin(dirty: true)
        #expect(a.testFlag(machine.flagBits.dirty))
        #expect(b.testFlag(machine.flagBits.dirty))
        #expect(!a.testFlag(machine.flagBits.locked))
        #expect(machine.pins.outstandingBySite.isEmpty)
        #expect(a.refcount == 1)
        #expect(b.refcount == 1)
        #expect(machine.pinStats.outstanding == 0)
        #expect(machine.nodePinCounters(nid: 0) == (3, 3))
        #expect(machine.diagnostics.count == 0)
    }

    static func pinAndDrop(_ machine: Machine, _ folio: Folio) throws {
        _ = try machine.pinPages([folio.headPage], site: "leaky_driver.c:42")
    }

    @Test(arguments: Design.allCases)
    func droppedTokenIsALeak(design: Design) throws {
        let machine = try Machine(ramBytes: 128 << 20, design: design)
        let folio = try #require(machine.folioAlloc(.highuserMovable, order: 0))
        try Self.pinAndDrop(machine, folio)
        let leaks = machine.diagnostics.of(kind: .leak)
        #expect(leaks.count == 1)
        #expect(leaks.first?.pfn == UInt64(folio.pfn))
        #expect(leaks.first?.reason.contains("leaky_driver.c:42") == true)
        #expect(machine.pinStats.leakedTokens == 1)
        #expect(machine.pinStats.leakedPins == 1)
        // Not unpinned silently: the pin is still there, and still counted at its site.
        #expect(machine.exactPins(folio) == 1)
        #expect(machine.folioMaybeDMAPinned(folio))
        #expect(machine.pins.outstandingBySite == ["leaky_driver.c:42": 1])
        #expect(machine.pins.leakedBySite == ["leaky_driver.c:42": 1])
        machine.unpinUserPages([machine.pins.tracker.gupResult(for: folio.headPage, in: machine)])
        #expect(machine.exactPins(folio) == 0)
        #expect(folio.refcount == 1)
    }

    @Test func defaultSiteIsTheCaller() throws {
        let machine = try Machine(ramBytes: 128 << 20)
        let folio = try #require(machine.folioAlloc(.highuserMovable, order: 0))
        let pinned = try machine.pinPages([folio.headPage])
        #expect(pinned.site == "PageModelTests/PinnedPagesTests.swift:\(#line - 1)")
        pinned.unpin()
    }

    /// All or nothing: a failing page unpins the ones pinned before it.
    @Test(arguments: Design.allCases)
    func failureUnpinsWhatWasPinned(design: Design) throws {
        let machine = try Machine(ramBytes: 128 << 20, design: design)
        let good = try #require(machine.folioAlloc(.highuserMovable, order: 0))
        let freed = try #require(machine.folioAlloc(.highuserMovable, order: 0))
        freed.setRefcount(0)
        #expect(throws: Errno.ENOMEM) { _ = try machine.pinPages([good.headPage, freed.headPage]) }
        #expect(machine.exactPins(good) == 0)
        #expect(good.refcount == 1)
        #expect(machine.pins.outstandingBySite.isEmpty)
        #expect(machine.pinStats.outstanding == 0)
        #expect(machine.heap.usage()[.dynamicPage]?.count ?? 0 == 0)
        freed.setRefcount(1)
    }
}
