import PageLayout
@testable import PageModel
import Testing

/// The memmap is the layout: a field written through one union arm reads back through
/// its alias, at the offsets PageLayout computes.
@Suite struct LayoutAliasingTests {
    @Test(arguments: [Arch.x86_64, .i386])
    func folioPgmapIsThePagesFirstUnionWord(arch: Arch) throws {
        let machine = try Machine(config: MachineConfig(ramBytes: 256 << 20, arch: arch))
        let page = try #require(machine.allocPages(.kernel))
        let page0 = Layouts.structPage(machine.config.layout)
        let folioLayout = Layouts.folio(machine.config.layout)
        let folio = try #require(machine.pageFolio(page))
        let value: UInt64 = arch.bitsPerLong == 64 ? 0xffff_c900_0000_1230 : 0xd000_1230
        #expect(folio.storeWord(value, atOffset: try #require(folioLayout.offset(of: "pgmap"))))
        #expect(page.loadWord(atOffset: try #require(page0.offset(of: "compound_head"))) == value)
        #expect(page.loadWord(atOffset: try #require(page0.offset(of: "_unused_pgmap_compound_head"))) == value)
        #expect(page.loadWord(atOffset: try #require(page0.offset(of: "pp_magic"))) == value)
        #expect(!page.isTail)   // a pointer keeps bit 0 clear
        page.compoundHeadWord = 0
        // page_type and _mapcount are one word.
        page.pageType = UInt32(PageType.slab.rawValue) << 24
        #expect(page.load32(atOffset: try #require(page0.offset(of: "_mapcount"))) == 0xf500_0000)
        #expect(page.type == .slab)
        page.pageType = UInt32.max
        #expect(page.mapcountRaw == -1)
        machine.freePages(page, order: 0)
        #expect(machine.diagnostics.count == 0)
    }

    @Test func refcountSitsWhereTheLayoutSays() throws {
        let machine = try Machine(ramBytes: 256 << 20)
        let page = try #require(machine.allocPages(.kernel))
        #expect(machine.layout.refcount == 52)   // FOLIO_MATCH(_refcount) on x86_64
        #expect(page.load32(atOffset: 52) == 1)
        page.refInc()
        #expect(page.bytes[52] == 2)
        #expect(!page.refDecAndTest())
        #expect(page.refDecAndTest())
        #expect(page.refAddUnless(1, unless: 0) == false)
    }

    @Test func lruPinnedFieldsOverwriteTheZoneDevicePgmap() throws {
        // The 2018 lru-pinned design keeps dma_pinned_flags in lru.next, which is where
        // v6.19 keeps folio->pgmap: a pin on a ZONE_DEVICE page loses its pagemap.
        let machine = try Machine(config: MachineConfig(ramBytes: 256 << 20, design: .lruPinned))
        let page0 = Layouts.structPage(machine.config.layout, design: .lruPinned)
        let folio = Layouts.folio(machine.config.layout, design: .lruPinned)
        #expect(page0.offset(of: "dma_pinned_flags") == folio.offset(of: "pgmap"))
        let rearranged = Layouts.folio(machine.config.layout, design: .lruPinnedRearranged)
        let rearrangedMachine = try Machine(config: MachineConfig(ramBytes: 256 << 20, design: .lruPinnedRearranged))
        #expect(rearrangedMachine.layout.folioPgmap == rearranged.offset(of: "pgmap"))
        #expect(rearrangedMachine.layout.folioPgmap != machine.layout.folioPgmap)
    }
}
