// struct folio across its four pages, mirrors include/linux/mm_types.h:401-510 (v6.19).
// Offsets are from the start of the folio, so page 1's `_flags_1` is at
// sizeof(struct page); the FOLIO_MATCH static asserts pin every page word.

extension Layouts {
    /// struct folio for the designs that keep a struct page of the 64-byte family.
    static func classicFolio(_ config: LayoutConfig, design: Design) -> StructLayout {
        let t = CTypes(config)
        let page = classicStructPage(config, design: design)
        let is64 = config.arch.bitsPerLong == 64
        // mm_id_mapcount_t / mm_id_t: int / unsigned int on 64-bit, short / unsigned
        // short on 32-bit ("On 32bit, we can cut the required metadata in half").
        let mmIDMapcount = is64 ? t.int : t.short
        let mmID = is64 ? t.uint : t.ushort

        var lruArms: [Decl] = [
            .member("lru", t.listHead),
            .group(arm: "mlock_count", [
                .member("__filler", t.pointer("void").asKind(.padding), note: "always even, to negate PageTail"),
                .member("mlock_count", t.uint, note: "number of times this folio has been mlocked"),
            ]),
        ]
        var indexArms: [Decl] = [.member("index", t.ulong), .member("share", t.ulong)]
        let pgmap = Decl.member("pgmap", t.pointer("struct dev_pagemap"), note: "Metadata for ZONE_DEVICE mappings")
        switch design {
        case .lruPinned:
            lruArms.append(pgmap)
            lruArms.append(pinnedLruArm(t))
        case .lruPinnedRearranged:
            lruArms.append(pinnedLruArm(t))
            indexArms.append(pgmap)   // where Wilcox's re-ordered arm puts it (seed 001)
        default:
            lruArms.append(pgmap)
        }

        var page0: [Decl] = [
            .member("flags", t.memdescFlags),
            .union(lruArms),
            .member("mapping", t.pointer("struct address_space"),
                    note: "low bits: FOLIO_MAPPING_ANON 0x1, FOLIO_MAPPING_ANON_KSM 0x2"),
            .union(indexArms),
            .union([.member("private", t.pointer("void")), .member("swap", t.ulong.asKind(.value, spelling: "swp_entry_t"))]),
            .member("_mapcount", t.atomic),
            .member("_refcount", t.atomic),
        ]
        if design == .dmaPinnedField { page0.append(.member("_dma_pinned_count", t.atomic)) }
        if config.memcg {
            page0.append(.member("memcg_data", t.ulong))
        } else if config.slabObjExt {
            page0.append(.member("_unused_slab_obj_exts", t.ulong.asKind(.padding)))
        }
        if config.wantPageVirtual { page0.append(.member("virtual", t.pointer("void"))) }
        if config.lastCpupidNotInPageFlags { page0.append(.member("_last_cpupid", t.int)) }

        // v6.19 declares _nr_pages_mapped and the _mm_id members unconditionally:
        // CONFIG_PAGE_MAPCOUNT and CONFIG_MM_ID decide whether they are maintained,
        // not where anything lies.
        var mapcounts: [Decl] = [
            .member("_large_mapcount", t.atomic, note: "initialised to -1"),
            .member("_nr_pages_mapped", t.atomic, note: "maintained with CONFIG_PAGE_MAPCOUNT"),
        ]
        if is64 {
            mapcounts.append(.member("_entire_mapcount", t.atomic, note: "initialised to -1"))
            mapcounts.append(.member("_pincount", t.atomic, note: "exact pin count of a large folio"))
        }
        mapcounts.append(.member("_mm_id_mapcount", mmIDMapcount.array(2), note: "initialised to -1"))
        mapcounts.append(.union([.member("_mm_id", mmID.array(2)), .member("_mm_ids", t.ulong)]))
        var page1: [Decl] = [
            .member("_flags_1", t.ulong.asKind(.flags), note: "folio order in bits 0-7"),
            .member("_head_1", t.ulong.asKind(.pointer), note: "tail encoding: head | 1"),
            .union([.group(arm: "mapcounts", mapcounts), .member("_usable_1", t.ulong.asKind(.padding).array(4))]),
            .member("_mapcount_1", t.atomic, note: "the tail page's _mapcount"),
            .member("_refcount_1", t.atomic, note: "the tail page's _refcount, which stays 0"),
        ]
        if design == .dmaPinnedField {
            page1.append(.member("_dma_pinned_count_1", t.atomic, note: "the tail page's _dma_pinned_count"))
        }
        if config.nrPagesInLargeFolio { page1.append(.member("_nr_pages", t.uint)) }

        var page2: [Decl] = [
            .member("_flags_2", t.ulong.asKind(.flags)),
            .member("_head_2", t.ulong.asKind(.pointer)),
            .member("_deferred_list", t.listHead, note: "folios to be split under memory pressure (order > 1)"),
        ]
        if !is64 {
            page2.append(.member("_entire_mapcount", t.atomic, note: "32-bit: in page 2, so order > 1 only"))
            page2.append(.member("_pincount", t.atomic, note: "32-bit: in page 2, so order > 1 only"))
        }
        let page3: [Decl] = [
            .member("_flags_3", t.ulong.asKind(.flags)),
            .member("_head_3", t.ulong.asKind(.pointer)),
            .member("_hugetlb_subpool", t.pointer("void")),
            .member("_hugetlb_cgroup", t.pointer("void")),
            .member("_hugetlb_cgroup_rsvd", t.pointer("void")),
            .member("_hugetlb_hwpoison", t.pointer("void")),
        ]
        let decls: [Decl] = [page0, page1, page2, page3].map { .overlay(size: page.size, align: page.align, $0) }
        let layout = StructLayout.describe("folio", decls)
        return layout.with(rules: pageRules(layout, design: design) + folioRules(layout), note: page.note)
    }

    private static func pinnedLruArm(_ t: CTypes) -> Decl {
        .group(arm: "dma_pinned", [
            .member("dma_pinned_flags", t.ulong.asKind(.flags), note: "seed 002"),
            .member("dma_pinned_count", t.atomic, note: "seed 002"),
        ])
    }

    static func folioRules(_ layout: StructLayout) -> [LayoutRule] {
        var rules: [LayoutRule] = []
        if let lru = layout.field("lru") {
            rules.append(LayoutRule(
                field: "lru", offset: lru.offset, size: lru.size / 2, mask: 0x1,
                rule: "the head's lru.next, __filler and pgmap alias compound_head: they are pointers or even values, so a head page never reads as PageTail",
                source: "include/linux/mm_types.h:499-510 (FOLIO_MATCH(compound_head, lru))"))
        }
        if let flags1 = layout.rule(on: "_flags_1", mask: 0xff,
                                    "folio order (folio_large_order = _flags_1 & 0xff); folio-only flags (PG_has_hwpoisoned, PG_large_rmappable, PG_partially_mapped) sit above bit 7",
                                    source: "include/linux/mm.h:1206-1253, page-flags.h:185-194") {
            rules.append(flags1)
        }
        rules += ["_head_1", "_head_2", "_head_3"].compactMap { head in
            layout.rule(on: head, mask: 0x1, "the tail page's compound_head: head | 1",
                        source: "include/linux/mm_types.h (FOLIO_MATCH(compound_head, \(head)))")
        }
        return rules
    }
}
