import PageLayout
@testable import PageModel
import Testing

/// The proxy design (seed 003): one dynamic_page per pinned page from the descriptor
/// heap, freed on unpin; get_page()/put_page() on a proxy caught.
@Suite struct PinProxyTests {
    @Test func oneAllocationPerPinFreedOnUnpin() throws {
        let machine = try Machine(ramBytes: 128 << 20, design: .proxy)
        // struct dynamic_page: struct page 64 + vaddr 8 + pfn 8 = 80 bytes, a multiple of
        // the heap's 16-byte alignment.
        let proxySize = 80
        let small = try #require(machine.folioAlloc(.highuserMovable, order: 0))
        let large = try #require(machine.folioAlloc(.highuserMovable, order: 2))
        let pages = [small.headPage, try #require(large.page(1)), try #require(large.page(2))]
        let pinned = try machine.pinPages(pages)
        #expect(machine.heap.usage()[.dynamicPage]?.count == 3)
        #expect(machine.heap.usage()[.dynamicPage]?.bytes == 3 * proxySize)
        #expect(machine.pinCosts.pinAllocations == 3)
        #expect(machine.pinCosts.livePinObjects == 3)
        #expect(machine.pinCosts.bytesPerPin == proxySize)
        // GUP results are proxies: the bytes are not the memmap's, the pfn is the page's.
        for (result, page) in zip(pinned.pages, pages) {
            #expect(result.pfn == page.pfn)
            #expect(result.raw != page.raw)
            #expect(machine.proxyTarget(result) == page)
            #expect(machine.proxyTarget(page) == nil)
        }
        #expect(small.refcount == 2)
        #expect(large.refcount == 3)
        #expect(machine.folioMaybeDMAPinned(large))
        pinned.unpin()
        #expect(machine.heap.usage()[.dynamicPage]?.count == 0)
        #expect(small.refcount == 1)
        #expect(large.refcount == 1)
        #expect(!machine.folioMaybeDMAPinned(large))
        #expect(machine.pinCosts.pinAllocations == 3)
        #expect(machine.diagnostics.count == 0)
    }

    @Test func getPageOnAProxyIsCaught() throws {
        let machine = try Machine(ramBytes: 128 << 20, design: .proxy)
        let folio = try #require(machine.folioAlloc(.highuserMovable, order: 0))
        let pinned = try machine.pinPages([folio.headPage])
        let proxy = pinned.pages[0]
        machine.getPage(proxy)
        // Redirected to the real page: no reference lost in the proxy's copy.
        #expect(folio.refcount == 3)
        #expect(machine.pinStats.proxyMisuses == 1)
        let report = try #require(machine.diagnostics.all.last)
        #expect(report.kind == .warn)
        #expect(report.pfn == UInt64(folio.pfn))
        #expect(report.reason.contains("get_page() on a GUP proxy"))
        machine.putPage(proxy)
        #expect(machine.pinStats.proxyMisuses == 2)
        #expect(folio.refcount == 2)
        // The unpin goes through the proxy.
        machine.unpinUserPage(proxy)
        #expect(folio.refcount == 1)
        #expect(machine.heap.usage()[.dynamicPage]?.count == 0)
        #expect(machine.diagnostics.count == 2)
        _ = consume pinned   // already unpinned page by page: this records the token's leak
        #expect(machine.pinStats.leakedTokens == 1)
    }

    /// Seed 003: a page pinned twice has two dynamic_pages; unpinning through the older
    /// one frees that one and leaves the newer one, which GUP still hands out for the page.
    @Test func unpinThroughAnOlderProxyFreesThatOne() throws {
        let machine = try Machine(ramBytes: 128 << 20, design: .proxy)
        let tracker = try #require(machine.pins.tracker as? ProxyPins)
        let folio = try #require(machine.folioAlloc(.highuserMovable, order: 0))
        let first = try machine.pinPages([folio.headPage])
        let second = try machine.pinPages([folio.headPage])
        let older = first.pages[0], newer = second.pages[0]
        #expect(older.raw != newer.raw)
        #expect(tracker.proxies(of: folio) == 2)
        first.unpin()
        #expect(tracker.proxies(of: folio) == 1)
        #expect(machine.heap.usage()[.dynamicPage]?.count == 1)
        #expect(tracker.gupResult(for: folio.headPage, in: machine).raw == newer.raw)
        #expect(machine.folioMaybeDMAPinned(folio))
        second.unpin()
        #expect(tracker.proxies(of: folio) == 0)
        #expect(!machine.folioMaybeDMAPinned(folio))
        #expect(folio.refcount == 1)
        #expect(machine.diagnostics.count == 0)
    }
}
