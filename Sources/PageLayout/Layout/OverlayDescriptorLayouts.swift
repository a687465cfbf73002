// The descriptors that overlay struct page today: struct ptdesc
// (include/linux/mm_types.h:572-626), struct slab (mm/slab.h:41-114) and struct zpdesc
// (mm/zpdesc.h:32-50), v6.19. Each has static asserts (TABLE_MATCH, SLAB_MATCH,
// ZPDESC_MATCH) pinning its words to struct page's; the layouts here satisfy them.

extension Layouts {
    /// struct ptdesc: "Memory descriptor for page tables. This struct overlays struct
    /// page for now."
    public static func ptdesc(_ config: LayoutConfig) -> StructLayout {
        let t = CTypes(config)
        var decls: [Decl] = [
            .member("pt_flags", t.memdescFlags),
            .union([
                .member("pt_rcu_head", t.rcuHead, note: "for freeing page table pages"),
                .member("pt_list", t.listHead, note: "x86 pgds, s390 gmap shadow pages"),
                .group(arm: "pmd_huge_pte", [
                    .member("_pt_pad_1", t.ulong.asKind(.padding), note: "aliases compound_head"),
                    .member("pmd_huge_pte", t.pointer("pgtable_t"), note: "protected by ptl, for THPs"),
                ]),
            ]),
            .member("__page_mapping", t.ulong.asKind(.padding), note: "aliases page->mapping; unused"),
            .union([
                .member("pt_index", t.ulong, note: "s390 gmap"),
                .member("pt_mm", t.pointer("struct mm_struct"), note: "x86 pgds"),
                .member("pt_frag_refcount", t.atomic, note: "powerpc"),
                .member("pt_share_count", t.atomic, note: "hugetlb PMD sharing"),
            ]),
            // ALLOC_SPLIT_PTLOCKS is 0 without lockdep/spinlock debugging: the lock is
            // embedded in the padding word.
            .union([.member("_pt_pad_2", t.ulong.asKind(.padding)), .member("ptl", t.spinlock)]),
            .member("__page_type", t.uint, note: "same as page->page_type (PGTY_table)"),
            .member("__page_refcount", t.atomic, note: "same as page->_refcount"),
        ]
        if config.memcg { decls.append(.member("pt_memcg_data", t.ulong)) }
        let layout = StructLayout.describe("ptdesc", decls)
        return layout.with(rules: [LayoutRule(
            field: "pt_list", offset: config.wordSize, size: config.wordSize, mask: 0x1,
            rule: "aliases compound_head (TABLE_MATCH): pt_list.next, _pt_pad_1 and pt_rcu_head.next keep bit 0 clear",
            source: "include/linux/mm_types.h:608-620")])
    }

    /// `struct freelist_counters` (mm/slab.h): the freelist pointer and the counters
    /// SLUB updates together with one double-word cmpxchg.
    static func freelistCounters(_ t: CTypes, _ config: LayoutConfig) -> [Decl] {
        var counterArms: [Decl] = [.member("counters", t.ulong)]
        // v6.19 has only the three bitfields here; the 64-bit `stride` member after
        // them arrived in 7.0 (commit 7a8e71bc619d) and is left out.
        counterArms.append(.group(arm: "inuse", [.bitfields(t.uint, [("inuse", 16), ("objects", 15), ("frozen", 1)])]))
        var arms: [Decl] = [.group(arm: "freelist", [
            .member("freelist", t.pointer("void"), note: "first free object"),
            .union(counterArms),
        ])]
        // freelist_full_t (u128 on 64-bit, u64 on 32-bit) exists only where
        // system_has_freelist_aba, which mm/slab.h undefines without
        // CONFIG_HAVE_ALIGNED_STRUCT_PAGE.
        if config.arch.haveAlignedStructPage {
            let full = config.arch.bitsPerLong == 64
                ? CType("freelist_full_t", size: 16, align: 16, kind: .value)
                : t.u64.asKind(.value, spelling: "freelist_full_t")
            arms.append(.member("freelist_counters", full, note: "double-word cmpxchg of freelist + counters"))
        }
        return [.union(arms)]
    }

    /// struct slab: "Reuses the bits in struct page".
    public static func slab(_ config: LayoutConfig) -> StructLayout {
        let t = CTypes(config)
        let listArms: [Decl] = [
            .member("slab_list", t.listHead),
            .group(arm: "llnode", [
                .member("llnode", t.llistNode, note: "deferred deactivate_slab()"),
                .member("flush_freelist", t.pointer("void")),
            ]),
            .group(arm: "next", [
                .member("next", t.pointer("struct slab"), note: "CONFIG_SLUB_CPU_PARTIAL"),
                .member("slabs", t.int, note: "nr of slabs left"),
            ]),
        ]
        var decls: [Decl] = [
            .member("flags", t.memdescFlags),
            .member("slab_cache", t.pointer("struct kmem_cache"), note: "aliases compound_head: bit 0 clear"),
            .union([
                .group(arm: "slab_list", [.union(listArms)] + freelistCounters(t, config)),
                .member("rcu_head", t.rcuHead),
            ]),
            .member("__page_type", t.uint, note: "PGTY_slab"),
            .member("__page_refcount", t.atomic),
        ]
        if config.memcg || config.slabObjExt {
            decls.append(.member("obj_exts", t.ulong, note: "aliases memcg_data"))
        }
        let layout = StructLayout.describe("slab", decls)
        return layout.with(rules: [LayoutRule(
            field: "slab_cache", offset: config.wordSize, size: config.wordSize, mask: 0x1,
            rule: "aliases compound_head (SLAB_MATCH(compound_head, slab_cache)): a kmem_cache pointer keeps bit 0 clear",
            source: "mm/slab.h:96-114")])
    }

    /// struct zpdesc: zsmalloc's descriptor, overlaying struct page.
    public static func zpdesc(_ config: LayoutConfig) -> StructLayout {
        let t = CTypes(config)
        let decls: [Decl] = [
            .member("flags", t.ulong.asKind(.flags)),
            .member("lru", t.listHead),
            .member("movable_ops", t.ulong, note: "aliases page->mapping"),
            .union([
                .member("next", t.pointer("struct zpdesc"), note: "next zpdesc of the zspage"),
                .member("handle", t.ulong, note: "huge zspage"),
            ]),
            .member("zspage", t.pointer("struct zspage"), note: "aliases page->private"),
            .member("first_obj_offset", t.uint, note: "low 24 bits: offset (max 16 MiB); top 8 bits: PGTY_zsmalloc"),
            .member("_refcount", t.atomic),
        ]
        let layout = StructLayout.describe("zpdesc", decls)
        return layout.with(rules: [LayoutRule(
            field: "first_obj_offset", offset: layout.offset(of: "first_obj_offset") ?? 0, size: 4,
            mask: 0xff00_0000,
            rule: "aliases page_type: the top byte is PGTY_zsmalloc (0xf6); only the low 24 bits hold the first object's offset",
            source: "mm/zpdesc.h:32-50")])
    }
}
