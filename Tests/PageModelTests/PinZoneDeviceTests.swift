import PageLayout
@testable import PageModel
import Testing

/// Pinning a MEMORY_DEVICE_GENERIC page (idle at refcount 1, so zone_device_page_init()
/// does not apply): lru-pinned overwrites the folio's pgmap (seed 001), the rearranged
/// arm does not, page-ext has no entry for device memory.
@Suite struct PinZoneDeviceTests {
    static let designs: [Design] = [.mainline, .dmaPinnedField, .lruPinned, .lruPinnedRearranged, .pageExt, .proxy, .memdesc32, .memdesc8]

    @Test(arguments: designs)
    func genericDevicePage(design: Design) throws {
        let machine = try Machine(ramBytes: 128 << 20, design: design)
        let pgmap = try machine.memremapPages(type: .generic, bytes: machine.config.sectionBytes, ops: DevPagemapOps())
        let page = try #require(machine.page(pgmap.range.start + 5))
        #expect(machine.pagePgmap(page) === pgmap)
        let folio = try #require(machine.pageFolio(page))
        #expect(folio.refcount == 1)
        if design == .pageExt {
            #expect(throws: Errno.ENOMEM) { try machine.tryGrabFolio(folio) }
            #expect(machine.pinStats.refusedGrabs == 1)
            #expect(!machine.folioMaybeDMAPinned(folio))
            return
        }
        try machine.tryGrabFolio(folio)
        #expect(machine.folioMaybeDMAPinned(folio))
        machine.unpinUserPage(page)
        #expect(folio.refcount == 1)
        #expect(!machine.folioMaybeDMAPinned(folio))
        let corruptions = machine.diagnostics.of(kind: .corruption)
        if design == .lruPinned {
            // The pin wrote PageDmaPinned into folio->pgmap (offset 8) and the count into
            // zone_device_data; the last unpin's INIT_LIST_HEAD left list pointers there.
            #expect(machine.pagePgmap(page) == nil)
            #expect(folio.pgmap == folio.address + 8)
            #expect(machine.pinStats.corruptions == 1)
            #expect(corruptions.count == 1)
            #expect(corruptions.first?.pfn == UInt64(page.pfn))
            #expect(corruptions.first?.reason.contains("folio->pgmap (offset 8)") == true)
            #expect(corruptions.first?.reason.contains("zone_device_data") == true)
            // Freeing it later finds the damage too (free_zone_device_folio()).
            machine.folioPut(folio)
            #expect(machine.diagnostics.of(kind: .corruption).count == 2)
        } else {
            #expect(machine.pagePgmap(page) === pgmap)
            #expect(machine.pinStats.corruptions == 0)
            #expect(corruptions.isEmpty)
            #expect(machine.diagnostics.count == 0)
        }
        #expect(machine.pinStats.outstanding == 0)
    }

    /// While pinned under lru-pinned the pgmap word holds the pin flags (0x2): the next
    /// use of the page (folio_maybe_dma_pinned()) reports the damage, once.
    @Test func lruPinnedDamageIsSeenOnNextUse() throws {
        let machine = try Machine(ramBytes: 128 << 20, design: .lruPinned)
        let pgmap = try machine.memremapPages(type: .generic, bytes: machine.config.sectionBytes, ops: DevPagemapOps())
        let page = try #require(machine.page(pgmap.range.start))
        let folio = try #require(machine.pageFolio(page))
        try machine.tryGrabFolio(folio, refs: 3)
        #expect(folio.pgmap == LRUPinnedPins.pageDmaPinned)
        #expect(page.zoneDeviceData == 3)
        #expect(machine.pinStats.corruptions == 0)
        #expect(machine.folioMaybeDMAPinned(folio))
        #expect(machine.folioMaybeDMAPinned(folio))
        #expect(machine.pinStats.corruptions == 1)
        #expect(machine.pagePgmap(page) == nil)
        machine.gupPutFolio(folio, refs: 3)
        #expect(machine.pinStats.corruptions == 1)
        #expect(machine.diagnostics.of(kind: .corruption).count == 1)
    }
}

/// lru-pinned on an ordinary folio: the first pin takes it off its LRU (PageDmaPinned |
/// WasLru in the lru.next word, the isolation reference held), the last unpin puts it
/// back.
@Suite struct PinLRUTests {
    @Test(arguments: [Design.lruPinned, .lruPinnedRearranged])
    func pinTakesTheFolioOffItsLRU(design: Design) throws {
        let machine = try Machine(ramBytes: 128 << 20, design: design)
        let folio = try #require(machine.folioAlloc(.highuserMovable, order: 0))
        machine.folioAddLRU(folio)
        let sizes = { machine.lruvecs[0].sizes.values.reduce(0, +) }
        #expect(sizes() == 1)
        try machine.tryGrabFolio(folio, refs: 2)
        #expect(sizes() == 0)
        #expect(!folio.testFlag(machine.flagBits.lru))
        #expect(folio.headPage.loadWord(atOffset: machine.layout.lruDmaPinnedFlags) == LRUPinnedPins.pageDmaPinned | LRUPinnedPins.pageDmaPinnedWasLru)
        #expect(folio.refcount == 4)   // owner + isolation + 2 pins
        #expect(machine.pins.tracker.referencesHeld(folio, pins: 2, in: machine) == 3)
        machine.gupPutFolio(folio)
        #expect(sizes() == 0)
        machine.gupPutFolio(folio)
        #expect(sizes() == 1)
        #expect(folio.testFlag(machine.flagBits.lru))
        #expect(folio.refcount == 1)
        #expect(!machine.folioMaybeDMAPinned(folio))
        #expect(machine.diagnostics.count == 0)
    }
}
