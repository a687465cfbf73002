// struct page pinned to include/linux/mm_types.h (v6.19) on each architecture.
import PageLayout
import Testing

@Suite struct StructPageLayoutTests {
    let x86 = Layouts.structPage(LayoutConfig(arch: .x86_64))

    @Test func x86_64StructPageIs64BytesAtTheKernelOffsets() throws {
        #expect(x86.size == 64)
        #expect(x86.align == 16)
        let expected: [(String, Int, Int)] = [
            ("flags", 0, 8), ("lru", 8, 16), ("compound_head", 8, 8), ("mapping", 24, 8),
            ("__folio_index", 32, 8), ("private", 40, 8), ("_mapcount", 48, 4), ("page_type", 48, 4),
            ("_refcount", 52, 4), ("memcg_data", 56, 8),
            ("pp_magic", 8, 8), ("pp", 16, 8), ("_pp_mapping_pad", 24, 8), ("dma_addr", 32, 8),
            ("pp_ref_count", 40, 8), ("_unused_pgmap_compound_head", 8, 8), ("zone_device_data", 16, 8),
            ("rcu_head", 8, 16), ("buddy_list", 8, 16), ("pcp_list", 8, 16), ("pcp_llist", 8, 8), ("share", 32, 8),
        ]
        for (name, offset, size) in expected {
            let field = try #require(x86.field(name), "\(name)")
            #expect(field.offset == offset, "\(name)")
            #expect(field.size == size, "\(name)")
        }
        #expect(x86.holes.isEmpty)
    }

    @Test func unionArmsAreNamedAndShareTheFirstWord() {
        #expect(x86.arms == ["page_cache_anon", "page_pool", "tail", "zone_device", "rcu_head", "page_type", "_mapcount"])
        #expect(x86.field("compound_head")?.arm == "tail")
        #expect(x86.field("buddy_list")?.armPath == ["page_cache_anon", "buddy_list"])
        #expect(x86.field("lru", arm: "page_cache_anon") != nil)
        #expect(x86.field("lru", arm: "tail") == nil)
        let firstWord = Set(x86.fields(overlapping: 8, size: 8).map(\.name))
        #expect(firstWord == ["lru", "buddy_list", "pcp_list", "pcp_llist", "pp_magic", "compound_head",
                              "_unused_pgmap_compound_head", "rcu_head"])
        #expect(x86.fields(overlapping: 52, size: 4).map(\.name) == ["_refcount"])
    }

    @Test func kernelRulesOnSharedWordsAreData() throws {
        let tail = try #require(x86.rules.first { $0.field == "compound_head" })
        #expect(tail.offset == 8 && tail.mask == 0x1)
        let mapping = try #require(x86.rules.first { $0.field == "mapping" })
        #expect(mapping.offset == 24 && mapping.mask == 0x3)
        #expect(x86.rules(overlapping: 8, size: 1).map(\.field) == ["compound_head"])
    }

    @Test func thirtyTwoBitStructPageFollowsAlignment() {
        let plain = LayoutConfig(arch: .i386, memcg: false, slabObjExt: false)
        #expect(Layouts.structPage(plain).size == 32)
        #expect(Layouts.structPage(plain).offset(of: "_refcount") == 28)
        #expect(Layouts.structPage(plain).offset(of: "mapping") == 12)
        // MEMCG: 36 bytes, padded to i386's 8-byte (2 * sizeof(long)) alignment.
        let i386 = Layouts.structPage(LayoutConfig(arch: .i386))
        #expect(i386.size == 40)
        #expect(i386.offset(of: "memcg_data") == 32)
        #expect(i386.holes == [LayoutHole(offset: 36, size: 4, isTailPadding: true)])
        // 32-bit ARM does not select HAVE_ALIGNED_STRUCT_PAGE: 36 stays 36.
        #expect(Layouts.structPage(LayoutConfig(arch: .arm)).size == 36)
        #expect(Layouts.structPage(LayoutConfig(arch: .arm)).align == 4)
        #expect(Layouts.structPage(LayoutConfig(arch: .i386PAE)).size == 40)
    }

    @Test func configDependentMembersGrowStructPage() {
        // Without MEMCG and SLAB_OBJ_EXT the members total 56 bytes; x86 pads back to 64.
        let bare = Layouts.structPage(LayoutConfig(arch: .x86_64, memcg: false, slabObjExt: false))
        #expect(bare.size == 64)
        #expect(bare.holes == [LayoutHole(offset: 56, size: 8, isTailPadding: true)])
        let objExt = Layouts.structPage(LayoutConfig(arch: .x86_64, memcg: false, slabObjExt: true))
        #expect(objExt.offset(of: "_unused_slab_obj_exts") == 56)
        #expect(objExt.field("memcg_data") == nil)
        // LAST_CPUPID_NOT_IN_PAGE_FLAGS: 68 bytes, padded to 80.
        let cpupid = Layouts.structPage(LayoutConfig(arch: .x86_64, lastCpupidNotInPageFlags: true))
        #expect(cpupid.offset(of: "_last_cpupid") == 64)
        #expect(cpupid.size == 80)
        // KMSAN adds two pointers.
        let kmsan = Layouts.structPage(LayoutConfig(arch: .x86_64, kmsan: true))
        #expect(kmsan.offset(of: "kmsan_shadow") == 64)
        #expect(kmsan.offset(of: "kmsan_origin") == 72)
        #expect(kmsan.size == 80)
        // WANT_PAGE_VIRTUAL on 32-bit: +4.
        let virt = Layouts.structPage(LayoutConfig(arch: .arm, wantPageVirtual: true))
        #expect(virt.offset(of: "virtual") == 36)
        #expect(virt.size == 40)
    }
}
