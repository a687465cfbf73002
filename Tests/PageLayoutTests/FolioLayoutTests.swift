// struct folio pinned to include/linux/mm_types.h:401-510 (v6.19) and FOLIO_MATCH.
import PageLayout
import Testing

@Suite struct FolioLayoutTests {
    @Test func x86_64FolioOffsets() throws {
        let folio = Layouts.folio(LayoutConfig(arch: .x86_64))
        let expected: [(String, Int)] = [
            ("flags", 0), ("lru", 8), ("pgmap", 8), ("__filler", 8), ("mlock_count", 16), ("mapping", 24),
            ("index", 32), ("private", 40), ("swap", 40), ("_mapcount", 48), ("_refcount", 52), ("memcg_data", 56),
            ("_flags_1", 64), ("_head_1", 72), ("_large_mapcount", 80), ("_nr_pages_mapped", 84),
            ("_entire_mapcount", 88), ("_pincount", 92), ("_mm_id_mapcount", 96), ("_mm_id", 104),
            ("_mm_ids", 104), ("_usable_1", 80), ("_mapcount_1", 112), ("_refcount_1", 116), ("_nr_pages", 120),
            ("_flags_2", 128), ("_head_2", 136), ("_deferred_list", 144),
            ("_flags_3", 192), ("_head_3", 200), ("_hugetlb_subpool", 208), ("_hugetlb_cgroup", 216),
            ("_hugetlb_cgroup_rsvd", 224), ("_hugetlb_hwpoison", 232),
        ]
        for (name, offset) in expected {
            #expect(folio.offset(of: name) == offset, "\(name)")
        }
        #expect(folio.size == 256)
        #expect(folio.align == 16)
    }

    @Test func folioMatchesStructPageWordForWord() throws {
        for arch in Arch.allCases {
            let config = LayoutConfig(arch: arch)
            let page = Layouts.structPage(config)
            let folio = Layouts.folio(config)
            #expect(folio.size == 4 * page.size)
            // FOLIO_MATCH(compound_head, _head_N), (flags, _flags_N), (_mapcount, _mapcount_1) ...
            for n in 1...3 {
                #expect(folio.offset(of: "_flags_\(n)") == n * page.size)
                #expect(folio.offset(of: "_head_\(n)") == page.offset(of: "compound_head").map { $0 + n * page.size })
            }
            #expect(folio.offset(of: "_mapcount_1") == page.offset(of: "_mapcount").map { $0 + page.size })
            #expect(folio.offset(of: "_refcount_1") == page.offset(of: "_refcount").map { $0 + page.size })
            #expect(folio.offset(of: "_nr_pages") == page.offset(of: "memcg_data").map { $0 + page.size })
            #expect(folio.offset(of: "pgmap") == page.offset(of: "compound_head"))
        }
    }

    @Test func thirtyTwoBitFolioKeepsEntireMapcountAndPincountInPageTwo() {
        let folio = Layouts.folio(LayoutConfig(arch: .i386, memcg: false, slabObjExt: false))
        #expect(folio.offset(of: "_large_mapcount") == 40)
        #expect(folio.offset(of: "_mm_id_mapcount") == 48)
        #expect(folio.field("_mm_id_mapcount")?.size == 4)
        #expect(folio.offset(of: "_mm_ids") == 52)
        #expect(folio.offset(of: "_mapcount_1") == 56)
        #expect(folio.field("_nr_pages") == nil)
        #expect(folio.offset(of: "_deferred_list") == 72)
        #expect(folio.offset(of: "_entire_mapcount") == 80)
        #expect(folio.offset(of: "_pincount") == 84)
    }
}
