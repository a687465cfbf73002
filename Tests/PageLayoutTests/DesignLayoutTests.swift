// The struct page variants of the pin-tracking designs (seeds 000-003) and the memdesc
// designs, and what they cost.
import PageLayout
import Testing

@Suite struct DesignLayoutTests {
    let x86 = LayoutConfig(arch: .x86_64)

    @Test func hubbardsDmaPinnedCountGrowsStructPageTo80Bytes() {
        let page = Layouts.structPage(x86, design: .dmaPinnedField)
        #expect(page.offset(of: "_dma_pinned_count") == 56)
        #expect(page.offset(of: "memcg_data") == 64)
        #expect(page.size == 80)
        // The folio follows the bigger page: page 1 starts at 80.
        #expect(Layouts.folio(x86, design: .dmaPinnedField).offset(of: "_flags_1") == 80)
        // 32-bit: 32 -> 36, padded to 40 on x86 (with or without MEMCG).
        #expect(Layouts.structPage(LayoutConfig(arch: .i386, memcg: false, slabObjExt: false), design: .dmaPinnedField).size == 40)
    }

    @Test func lruPinFieldsAliasZoneDevicePgmap() throws {
        let page = Layouts.structPage(x86, design: .lruPinned)
        #expect(page.size == 64)
        let flags = try #require(page.field("dma_pinned_flags"))
        let count = try #require(page.field("dma_pinned_count"))
        #expect(flags.offset == 8 && count.offset == 16)
        #expect(flags.armPath == ["page_cache_anon", "dma_pinned"])
        let clobbered = page.fields(overlapping: flags.offset, size: count.end - flags.offset)
            .filter { $0.arm == "zone_device" }.map(\.name)
        #expect(clobbered == ["_unused_pgmap_compound_head", "zone_device_data"])
        // In the folio, the pin words sit exactly on pgmap.
        let folio = Layouts.folio(x86, design: .lruPinned)
        #expect(folio.aliases(of: "dma_pinned_flags").map(\.name).contains("pgmap"))
        #expect(page.rules.contains { $0.field == "dma_pinned_count" && $0.rule.contains("corrupts") })
    }

    @Test func wilcoxRearrangedArmMovesPgmapOutOfThePinWords() throws {
        let page = Layouts.structPage(x86, design: .lruPinnedRearranged)
        #expect(page.size == 64)
        let flags = try #require(page.field("dma_pinned_flags"))
        let count = try #require(page.field("dma_pinned_count"))
        let overlapped = page.fields(overlapping: flags.offset, size: count.end - flags.offset).map(\.name)
        #expect(!overlapped.contains("pgmap"))
        #expect(!overlapped.contains("zone_device_data"))
        #expect(overlapped.contains("_zd_pad_2") && overlapped.contains("_zd_pad_3"))
        #expect(page.offset(of: "_zd_pad_1") == 24)
        #expect(page.offset(of: "pgmap") == 32)
        #expect(page.offset(of: "zone_device_data") == 40)
        // The price: pgmap and zone_device_data now share index and private, which
        // device-private pages keep for their source page (seed 001, Glisse).
        #expect(page.aliases(of: "pgmap").map(\.name).contains("__folio_index"))
        #expect(page.aliases(of: "zone_device_data").map(\.name).contains("private"))
        let folio = Layouts.folio(x86, design: .lruPinnedRearranged)
        #expect(folio.offset(of: "pgmap") == 32)
        #expect(!folio.aliases(of: "dma_pinned_flags").map(\.name).contains("pgmap"))
        #expect(!page.rules.contains { $0.rule.contains("corrupts") })
    }

    @Test func writesThroughOneArmLandOnAnother() throws {
        // Write a tail page's compound_head (head | 1) into a byte image of struct page,
        // then read the same bytes through the page-cache arm: lru.next has bit 0 set,
        // which is why every other user of the word must keep that bit clear.
        let page = Layouts.structPage(x86)
        var bytes = [UInt8](repeating: 0, count: page.size)
        func store(_ field: LayoutField, _ value: UInt64) {
            for i in 0..<field.size { bytes[field.offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
        }
        func load(_ field: LayoutField) -> UInt64 {
            (0..<field.size).reduce(UInt64(0)) { $0 | UInt64(bytes[field.offset + $1]) << (8 * UInt64($1)) }
        }
        let head: UInt64 = 0xffff_ea00_0000_0040
        store(try #require(page.field("compound_head")), head | 1)
        let lru = try #require(page.field("lru"))
        let lruNext = LayoutField(name: "lru.next", offset: lru.offset, size: 8, type: "struct list_head *", kind: .pointer)
        #expect(load(lruNext) == head | 1)
        #expect(load(try #require(page.field("_unused_pgmap_compound_head"))) & 1 == 1)
        // page_pool's pp_ref_count is the page-cache arm's private.
        store(try #require(page.field("pp_ref_count")), 3)
        #expect(load(try #require(page.field("private"))) == 3)
        // A page type in the top byte of page_type reads as a huge negative _mapcount.
        store(try #require(page.field("page_type")), 0xf000_0000)
        #expect(Int32(bitPattern: UInt32(load(try #require(page.field("_mapcount"))))) < -1)
    }

    @Test func memdesc32PageIs32Bytes() {
        let page = Layouts.structPage(x86, design: .memdesc32)
        #expect(page.size == 32)
        #expect(page.offset(of: "memdesc") == 8)
        #expect(page.offset(of: "_refcount") == 16)
        #expect(page.offset(of: "private") == 24)
        #expect(page.offset(of: "_mapcount") == 24)
        #expect(Set(page.aliases(of: "memdesc").map(\.name)) == ["buddy_list", "pcp_list"])
        #expect(page.rules.contains { $0.field == "memdesc" && $0.mask == 0xf })
    }

    @Test func memdescFolioIsAbout80Bytes() {
        let folio = Layouts.folio(x86, design: .memdesc32)
        #expect(folio.name == "memdesc_folio")
        #expect(folio.size == 80)
        #expect(folio.align == 16)
        #expect(folio.offset(of: "_refcount") == 48)
        #expect(folio.offset(of: "_pincount") == 56)
        #expect(folio.offset(of: "pfn") == 64)
        #expect(Layouts.folio(x86, design: .memdesc8) == folio)
    }

    @Test func everyDesignCostsWhatItsLayoutsSay() {
        let mainline = Design.mainline.costs(x86)
        #expect(mainline.structPageSize == 64 && mainline.descriptorSizes.isEmpty)
        #expect(mainline.pageExtBytesPerPage == 0 && mainline.bytesPerPin == 0)
        #expect(Design.dmaPinnedField.costs(x86).structPageSize == 80)
        #expect(Design.lruPinned.costs(x86).structPageSize == 64)
        #expect(Design.lruPinnedRearranged.costs(x86).structPageSize == 64)
        let pageExt = Design.pageExt.costs(x86)
        #expect(pageExt.structPageSize == 64 && pageExt.pageExtBytesPerPage == 16)
        #expect(pageExt.fixedBytesPerPage == 80)
        #expect(Design.pageExt.costs(LayoutConfig(arch: .i386)).pageExtBytesPerPage == 12)
        let proxy = Design.proxy.costs(x86)
        #expect(proxy.structPageSize == 64 && proxy.bytesPerPin == 80)
        let md32 = Design.memdesc32.costs(x86)
        #expect(md32.structPageSize == 32)
        #expect(md32.descriptorSizes == [.folio: 80, .slab: 64, .ptdesc: 48, .zpdesc: 64])
        let md8 = Design.memdesc8.costs(x86)
        #expect(md8.structPageSize == 8)
        #expect(md8.descriptorSizes == md32.descriptorSizes)
        for design in [Design.memdesc32, .memdesc8] {
            for (_, size) in design.costs(LayoutConfig(arch: .i386)).descriptorSizes { #expect(size % 16 == 0) }
        }
    }

    @Test func everyDesignListsItsDescriptors() {
        for design in Design.allCases {
            let all = Layouts.all(x86, design: design)
            #expect(all.first?.name == "page")
            #expect(all.first == Layouts.structPage(x86, design: design))
            #expect(Set(all.map(\.name)).count == all.count)
        }
        #expect(Layouts.all(x86, design: .mainline).map(\.name) == ["page", "folio", "ptdesc", "slab", "zpdesc"])
        #expect(Layouts.all(x86, design: .pageExt).last?.name == "page_ext")
        #expect(Layouts.all(x86, design: .proxy).last?.name == "dynamic_page")
        #expect(Layouts.all(x86, design: .memdesc8).map(\.name)
                == ["page", "memdesc_folio", "memdesc_slab", "memdesc_ptdesc", "memdesc_zpdesc", "scamem"])
    }
}
