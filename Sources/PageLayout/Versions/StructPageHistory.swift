// struct page of the kernel versions before v6.16 that PageLab knows, each mirroring that
// version's include/linux/mm_types.h (`struct page { ... } _struct_page_alignment;`):
//   5.15: linux-5.15.y (5.15.135) mm_types.h:70-230 (slab, compound and page-table arms in page)
//   6.1:  Debian linux-headers-6.1.0-47-common (6.1.170) mm_types.h:71-250 (slab moved to struct slab)
//   6.6:  linux-6.6.y (6.6.57) mm_types.h (page-table arm moved to struct ptdesc)
//   6.12: linux-6.12.y (6.12.63) mm_types.h (page_pool's pp_ref_count; page_type first)
// 6.18 and 6.19 share v6.19's struct page (StructPageLayout.swift): `index` became
// `__folio_index` in 6.16 and page->flags became `memdesc_flags_t` in 6.18.

extension Layouts {
    /// struct page of kernel `version` (mainline design), or nil for 6.18 and 6.19, which
    /// use `classicStructPage`. `dmaPinnedCount` adds seed 000's `atomic_t
    /// _dma_pinned_count` right after `_refcount`, as the dma-pinned-field design does to
    /// v6.19's (pageTail), to cost that design on this version's layout.
    static func historicStructPage(_ config: LayoutConfig, version: KernelVersion, dmaPinnedCount: Bool = false) -> StructLayout? {
        guard version < .v6_18 else { return nil }
        let t = CTypes(config)
        let is64 = config.arch.bitsPerLong == 64
        let lru = Decl.member("lru", t.listHead, note: "Pageout list, e.g. active_list")
        var lruArms: [Decl] = [lru]
        if version >= .v6_1 {
            lruArms += [.group(arm: "mlock_count", [.member("__filler", t.pointer("void"), note: "keeps bit 0 clear"),
                                                    .member("mlock_count", t.uint)]),
                        .member("buddy_list", t.listHead), .member("pcp_list", t.listHead)]
        }
        let index = Decl.member("index", t.ulong, note: "pgoff_t: offset within mapping")
        let pageCache = Decl.group(arm: "page_cache_anon", [
            version >= .v6_1 ? .union(lruArms) : lru,
            .member("mapping", t.pointer("struct address_space"), note: "low bits: PAGE_MAPPING_ANON 0x1, PAGE_MAPPING_MOVABLE 0x2"),
            version >= .v6_6 ? .union([index, .member("share", t.ulong, note: "share count for fsdax")]) : index,
            .member("private", t.ulong),
        ])
        var pool: [Decl] = [
            .member("pp_magic", t.ulong), .member("pp", t.pointer("struct page_pool")),
            .member("_pp_mapping_pad", t.ulong.asKind(.padding)), .member("dma_addr", t.ulong),
        ]
        pool.append(version >= .v6_12 ? .member("pp_ref_count", t.atomicLong)
                    : .union([.member("dma_addr_upper", t.ulong), .member("pp_frag_count", t.atomicLong)]))
        var arms: [Decl] = [pageCache, .group(arm: "page_pool", pool)]
        if version == .v5_15 {
            // The slab arm (struct slab took it in 5.17).
            let partial = Decl.group(arm: "next", [.member("next", t.pointer("struct page")),
                                                   .member("pages", is64 ? t.int : t.short),
                                                   .member("pobjects", is64 ? t.int : t.short)])
            arms.append(.group(arm: "slab", [
                .union([.member("slab_list", t.listHead), partial]),
                .member("slab_cache", t.pointer("struct kmem_cache"), note: "aliases compound_head: bit 0 clear"),
                .member("freelist", t.pointer("void")),
                .union([.member("s_mem", t.pointer("void")), .member("counters", t.ulong),
                        .group(arm: "inuse", [.bitfields(t.uint, [("inuse", 16), ("objects", 15), ("frozen", 1)])])]),
            ]))
        }
        if version < .v6_6 {
            // The compound page fields (struct folio took them in 6.3-6.5).
            var tail: [Decl] = [.member("compound_head", t.ulong.asKind(.pointer), note: "head page | 1 (bit zero is set)"),
                                .member("compound_dtor", t.u8.asKind(.value, spelling: "unsigned char")),
                                .member("compound_order", t.u8.asKind(.value, spelling: "unsigned char")),
                                .member("compound_mapcount", t.atomic)]
            if version == .v5_15 {
                tail.append(.member("compound_nr", t.uint))
            } else {
                tail.append(.member("compound_pincount", t.atomic))
                if is64 { tail += [.member("compound_nr", t.uint), .member("_private_1", t.ulong)] }
            }
            arms.append(.group(arm: "tail", tail))
            let second: [Decl] = version == .v5_15
                ? [.member("_compound_pad_1", t.ulong.asKind(.padding)), .member("hpage_pinned_refcount", t.atomic),
                   .member("deferred_list", t.listHead)]
                : [.member("_compound_pad_1", t.ulong.asKind(.padding)), .member("_compound_pad_2", t.ulong.asKind(.padding)),
                   .member("deferred_list", t.listHead)]
            arms.append(.group(arm: "second_tail", second))
            // The page-table arm (struct ptdesc took it in 6.5). pt_share_count with
            // ARCH_WANT_HUGE_PMD_SHARE (x86) from 6.1; ptl inline as ALLOC_SPLIT_PTLOCKS is 0
            // without spinlock debugging.
            var ptUnion: [Decl] = [.member("pt_mm", t.pointer("struct mm_struct")), .member("pt_frag_refcount", t.atomic)]
            if version >= .v6_1, config.arch != .arm { ptUnion.append(.member("pt_share_count", t.atomic)) }
            arms.append(.group(arm: "page_table", [
                .member("_pt_pad_1", t.ulong.asKind(.padding)), .member("pmd_huge_pte", t.pointer("struct page")),
                .member("_pt_pad_2", t.ulong.asKind(.padding)), .union(ptUnion), .member("ptl", t.spinlock),
            ]))
        } else {
            arms.append(.group(arm: "tail", [.member("compound_head", t.ulong.asKind(.pointer), note: "head page | 1 (bit zero is set)")]))
        }
        arms.append(.group(arm: "zone_device", [.member("pgmap", t.pointer("struct dev_pagemap")),
                                                .member("zone_device_data", t.pointer("void"))]))
        arms.append(.member("rcu_head", t.rcuHead))

        let mapcount = Decl.member("_mapcount", t.atomic, note: "initialised to -1")
        let pageType = Decl.member("page_type", t.uint, note: Self.pageTypeNote(version))
        var typeArms = version >= .v6_12 ? [pageType, mapcount] : [mapcount, pageType]
        if version == .v5_15 { typeArms += [.member("active", t.uint, note: "SLAB"), .member("units", t.int, note: "SLOB")] }
        var decls: [Decl] = [.member("flags", t.ulong.asKind(.flags), note: "atomic flags; node/zone/section on top"),
                             .union(arms), .union(typeArms),
                             .member("_refcount", t.atomic)]
        if dmaPinnedCount { decls.append(.member("_dma_pinned_count", t.atomic, note: "seed 000: grows struct page")) }
        if config.memcg {
            decls.append(.member("memcg_data", t.ulong))
        } else if config.slabObjExt, version >= .v6_12 {
            decls.append(.member("_unused_slab_obj_exts", t.ulong.asKind(.padding)))
        }
        if config.wantPageVirtual { decls.append(.member("virtual", t.pointer("void"))) }
        let cpupid = Decl.member("_last_cpupid", t.int, note: "LAST_CPUPID_NOT_IN_PAGE_FLAGS")
        let kmsan: [Decl] = config.kmsan && version >= .v6_1
            ? [.member("kmsan_shadow", t.pointer("struct page")), .member("kmsan_origin", t.pointer("struct page"))] : []
        // KMSAN came before _last_cpupid until 6.12 swapped them.
        if version >= .v6_12 {
            if config.lastCpupidNotInPageFlags { decls.append(cpupid) }
            decls += kmsan
        } else {
            decls += kmsan
            if config.lastCpupidNotInPageFlags { decls.append(cpupid) }
        }
        let layout = StructLayout.describe("page", decls, aligned: config.structPageAlignment)
        return layout.with(rules: historicPageRules(layout, version: version),
                           note: "Linux \(version) include/linux/mm_types.h")
    }

    /// What a page_type word holds in `version`.
    static func pageTypeNote(_ version: KernelVersion) -> String {
        version >= .v6_12 ? "typed folios: type in the top byte (PGTY_buddy 0xf0 ... PGTY_unaccepted 0xf7)"
            : "PAGE_TYPE_BASE 0xf0000000; a type is a cleared bit (PG_buddy 0x80, PG_offline 0x100, PG_table 0x200, PG_guard 0x400)"
    }

    /// The kernel's rules on struct page's shared words in `version`.
    static func historicPageRules(_ layout: StructLayout, version: KernelVersion) -> [LayoutRule] {
        var rules = pageRules(layout, design: .mainline).filter { $0.field == "compound_head" }
        let typed = version >= .v6_12
        let pageType = typed
            ? "top byte 0xf0-0xf7 is a page type (PGTY_buddy 0xf0 ... PGTY_unaccepted 0xf7); below 0x80 the word is _mapcount, initialised to -1"
            : "a page type is PAGE_TYPE_BASE 0xf0000000 with its type bit cleared (PG_buddy 0x80, PG_offline 0x100, PG_table 0x200, PG_guard 0x400\(version == .v6_6 ? ", PG_hugetlb 0x800" : "")); a value above PAGE_MAPCOUNT_RESERVE (-128) is _mapcount"
        rules += [
            layout.rule(on: "mapping", mask: 0x3,
                        "low bits are type tags: PAGE_MAPPING_ANON 0x1 (anon_vma), PAGE_MAPPING_MOVABLE 0x2 (non-LRU movable), KSM 0x3",
                        source: "Linux \(version) include/linux/page-flags.h (PAGE_MAPPING_ANON, PAGE_MAPPING_MOVABLE)"),
            layout.rule(on: "page_type", mask: typed ? 0xff00_0000 : 0xffff_ffff, pageType,
                        source: "Linux \(version) include/linux/page-flags.h (\(typed ? "enum pagetype" : "PAGE_TYPE_BASE"))"),
        ].compactMap { $0 }
        return rules
    }
}
