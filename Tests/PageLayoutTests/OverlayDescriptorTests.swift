// ptdesc, slab and zpdesc pinned to their TABLE_MATCH / SLAB_MATCH / ZPDESC_MATCH asserts.
import PageLayout
import Testing

@Suite struct OverlayDescriptorTests {
    @Test(arguments: Arch.allCases)
    func overlaysMatchStructPageWords(arch: Arch) {
        let config = LayoutConfig(arch: arch)
        let page = Layouts.structPage(config)
        let ptdesc = Layouts.ptdesc(config), slab = Layouts.slab(config), zpdesc = Layouts.zpdesc(config)
        let matches: [(StructLayout, String, String)] = [
            (ptdesc, "flags", "pt_flags"), (ptdesc, "compound_head", "pt_list"), (ptdesc, "compound_head", "_pt_pad_1"),
            (ptdesc, "mapping", "__page_mapping"), (ptdesc, "__folio_index", "pt_index"),
            (ptdesc, "rcu_head", "pt_rcu_head"), (ptdesc, "page_type", "__page_type"),
            (ptdesc, "_refcount", "__page_refcount"), (ptdesc, "memcg_data", "pt_memcg_data"),
            (slab, "flags", "flags"), (slab, "compound_head", "slab_cache"), (slab, "page_type", "__page_type"),
            (slab, "_refcount", "__page_refcount"), (slab, "memcg_data", "obj_exts"),
            (zpdesc, "flags", "flags"), (zpdesc, "lru", "lru"), (zpdesc, "mapping", "movable_ops"),
            (zpdesc, "__folio_index", "next"), (zpdesc, "__folio_index", "handle"), (zpdesc, "private", "zspage"),
            (zpdesc, "page_type", "first_obj_offset"), (zpdesc, "_refcount", "_refcount"),
        ]
        for (layout, pageField, field) in matches {
            #expect(layout.offset(of: field) == page.offset(of: pageField), "\(layout.name).\(field)")
        }
        for layout in [ptdesc, slab, zpdesc] { #expect(layout.size <= page.size, "\(layout.name)") }
    }

    @Test func slabFreelistIsDoubleWordAligned() throws {
        let slab = Layouts.slab(LayoutConfig(arch: .x86_64))
        #expect(slab.size == 64)
        #expect(slab.offset(of: "slab_list") == 16)
        #expect(slab.offset(of: "freelist") == 32)
        #expect(slab.offset(of: "counters") == 40)
        #expect(slab.offset(of: "freelist_counters") == 32)
        let objects = try #require(slab.field("objects"))
        #expect(objects.offset == 40 && objects.bitOffset == 16 && objects.bitWidth == 15)
        #expect(slab.field("frozen")?.bitOffset == 31)
        // 32-bit ARM has no freelist_full_t (no aligned struct page): no double-word cmpxchg.
        #expect(Layouts.slab(LayoutConfig(arch: .arm)).field("freelist_counters") == nil)
    }

    @Test func zpdescIs56BytesOnX86_64() {
        let zpdesc = Layouts.zpdesc(LayoutConfig(arch: .x86_64))
        #expect(zpdesc.size == 56)
        #expect(zpdesc.offset(of: "first_obj_offset") == 48)
        #expect(zpdesc.rules.first?.mask == 0xff00_0000)
    }
}
