// struct page, mirrors include/linux/mm_types.h:79-222 (v6.19), with the variants the
// pin-tracking designs of DESIGN.md make to it (seeds 000, 001, 002).

extension Layouts {
    /// The main union of struct page: "Five words (20/40 bytes) are available in this
    /// union. WARNING: bit 0 of the first word is used for PageTail()".
    static func pageMainUnion(_ t: CTypes, design: Design) -> Decl {
        var lruArms: [Decl] = [
            .member("lru", t.listHead, note: "Pageout list, e.g. active_list, under lruvec->lru_lock"),
            .member("buddy_list", t.listHead, note: "free page on a buddy free list"),
            .member("pcp_list", t.listHead, note: "free page on a per-cpu list"),
            .member("pcp_llist", t.llistNode, note: "free page on a per-cpu lockless list"),
        ]
        if design == .lruPinned || design == .lruPinnedRearranged {
            // J. Hubbard, "[PATCH v2 5/6] mm: track gup pages with page->dma_pinned_*
            // fields" (Jul 2018, seed 002): valid only while the page is off the LRU.
            lruArms.append(.group(arm: "dma_pinned", [
                .member("dma_pinned_flags", t.ulong.asKind(.flags),
                        note: "aliases lru.next; bit 0 stays clear (PageTail), pin flags from bit 1"),
                .member("dma_pinned_count", t.atomic,
                        note: "aliases lru.prev; only meaningful while PageDmaPinned"),
            ]))
        }
        let pageCache = Decl.group(arm: "page_cache_anon", [
            .union(lruArms),
            .member("mapping", t.pointer("struct address_space"),
                    note: "low bits: FOLIO_MAPPING_ANON 0x1, FOLIO_MAPPING_ANON_KSM 0x2"),
            .union([
                .member("__folio_index", t.ulong, note: "offset within mapping (pgoff_t)"),
                .member("share", t.ulong, note: "share count for fsdax"),
            ]),
            .member("private", t.ulong,
                    note: "buffer_heads if PagePrivate, swp_entry_t if swapcache, buddy order if PageBuddy"),
        ])
        let pagePool = Decl.group(arm: "page_pool", [
            .member("pp_magic", t.ulong, note: "magic value to avoid recycling non page_pool pages"),
            .member("pp", t.pointer("struct page_pool")),
            .member("_pp_mapping_pad", t.ulong.asKind(.padding)),
            .member("dma_addr", t.ulong),
            .member("pp_ref_count", t.atomicLong),
        ])
        let tail = Decl.group(arm: "tail", [
            .member("compound_head", t.ulong.asKind(.pointer), note: "head page | 1 (bit zero is set)"),
        ])
        let zoneDevice: Decl
        if design == .lruPinnedRearranged {
            // M. Wilcox's re-ordered ZONE_DEVICE arm (seed 001), with 2018's hmm_data
            // under its v6.19 name: the pad words take the LRU and mapping slots, so
            // pgmap and zone_device_data move to the index and private words.
            zoneDevice = .group(arm: "zone_device", [
                .member("_zd_pad_2", t.ulong.asKind(.padding), note: "LRU"),
                .member("_zd_pad_3", t.ulong.asKind(.padding), note: "LRU"),
                .member("_zd_pad_1", t.ulong.asKind(.padding), note: "uses mapping"),
                .member("pgmap", t.pointer("struct dev_pagemap"), note: "moved out of the lru words (seed 001)"),
                .member("zone_device_data", t.pointer("void"), note: "2018: hmm_data"),
            ])
        } else {
            zoneDevice = .group(arm: "zone_device", [
                .member("_unused_pgmap_compound_head", t.pointer("void"),
                        note: "used for compound_head or the folio's pgmap"),
                .member("zone_device_data", t.pointer("void"),
                        note: "device-private pages keep mapping/index/private of the source page"),
            ])
        }
        let rcu = Decl.member("rcu_head", t.rcuHead, note: "to free a page by RCU")
        return .union([pageCache, pagePool, tail, zoneDevice, rcu])
    }

    /// The members after the main union: `page_type ∪ _mapcount`, `_refcount`, and the
    /// config-dependent tail (`memcg_data`, `virtual`, `_last_cpupid`, KMSAN).
    static func pageTail(_ t: CTypes, _ config: LayoutConfig, design: Design, kmsan: Bool) -> [Decl] {
        var decls: [Decl] = [
            .union([
                .member("page_type", t.uint, note: "typed folios: type in the top byte (PGTY_buddy 0xf0 ...)"),
                .member("_mapcount", t.atomic, note: "initialised to -1"),
            ]),
            .member("_refcount", t.atomic, note: "DO NOT USE DIRECTLY; see page_ref.h"),
        ]
        if design == .dmaPinnedField {
            // J. Hubbard, Dec 2018 (seed 000): "DMA usage count. See get_user_pages*(),
            // put_user_page*()", placed right after _refcount.
            decls.append(.member("_dma_pinned_count", t.atomic, note: "seed 000: grows struct page"))
        }
        if config.memcg {
            decls.append(.member("memcg_data", t.ulong, note: "Memory Control Group data"))
        } else if config.slabObjExt {
            decls.append(.member("_unused_slab_obj_exts", t.ulong.asKind(.padding)))
        }
        if config.wantPageVirtual {
            decls.append(.member("virtual", t.pointer("void"), note: "kernel virtual address (NULL if not kmapped)"))
        }
        if config.lastCpupidNotInPageFlags {
            decls.append(.member("_last_cpupid", t.int, note: "LAST_CPUPID_NOT_IN_PAGE_FLAGS"))
        }
        if kmsan {
            decls.append(.member("kmsan_shadow", t.pointer("struct page")))
            decls.append(.member("kmsan_origin", t.pointer("struct page")))
        }
        return decls
    }

    /// struct page of the 64-byte family (mainline and the designs that keep it).
    static func classicStructPage(_ config: LayoutConfig, design: Design) -> StructLayout {
        let t = CTypes(config)
        let decls: [Decl] = [.member("flags", t.memdescFlags, note: "atomic flags; node/zone/section on top")]
            + [pageMainUnion(t, design: design)]
            + pageTail(t, config, design: design, kmsan: config.kmsan)
        let layout = StructLayout.describe("page", decls, aligned: config.structPageAlignment)
        let note: String? = switch design {
        case .dmaPinnedField: "J. Hubbard, Dec 2018 (seed 000): + atomic_t _dma_pinned_count"
        case .lruPinned: "J. Hubbard v2, Jul 2018 (seed 002): pin fields in the lru words"
        case .lruPinnedRearranged: "seed 002 pin fields + M. Wilcox's re-ordered ZONE_DEVICE arm (seed 001)"
        default: nil
        }
        return layout.with(rules: pageRules(layout, design: design), note: note)
    }

    /// The kernel's rules on the shared words of struct page (and of the structs that
    /// overlay it: the same words carry the same rules).
    static func pageRules(_ layout: StructLayout, design: Design) -> [LayoutRule] {
        var rules = [
            layout.rule(on: "compound_head", mask: 0x1,
                        "PageTail: a tail page stores its head page's address | 1 here; every other user of the first union word (lru.next, pgmap, slab_cache, ...) must keep bit 0 clear",
                        source: "include/linux/mm_types.h:42-64,129 (\"bit 0 of the first word is used for PageTail()\")"),
            layout.rule(on: "mapping", mask: 0x3,
                        "low bits are type tags: FOLIO_MAPPING_ANON 0x1 (anon_vma), FOLIO_MAPPING_ANON_KSM 0x2, KSM = 0x3; 0 with a non-NULL pointer is an address_space",
                        source: "include/linux/page-flags.h:717-720"),
            layout.rule(on: "page_type", mask: 0xff00_0000,
                        "top byte 0xf0-0xf8 is a page type (PGTY_buddy 0xf0 ... PGTY_large_kmalloc 0xf8); otherwise the word is _mapcount, initialised to -1",
                        source: "include/linux/page-flags.h:925-955"),
            layout.rule(on: "dma_pinned_flags", mask: 0x1,
                        "aliases lru.next and compound_head: bit 0 must stay clear; pin flags live from bit 1 and are only valid once the page is off the LRU",
                        source: "seed 002 (J. Hubbard, Jul 2018)"),
        ].compactMap { $0 }
        if let flags = layout.field("dma_pinned_flags") {
            let zoneDeviceVictims = layout.fields(overlapping: flags.offset, size: 2 * flags.size)
                .filter { $0.arm == "zone_device" && $0.kind != .padding }.map(\.name)
            if !zoneDeviceVictims.isEmpty {
                rules.append(LayoutRule(
                    field: "dma_pinned_count", offset: flags.offset, size: 2 * flags.size, mask: UInt64.max,
                    rule: "on ZONE_DEVICE pages these words are \(zoneDeviceVictims.joined(separator: " and ")) (the folio's pgmap): pinning such a page corrupts them",
                    source: "seed 001 (\"page->pgmap and page->hmm_data both get corrupted\")"))
            }
        }
        return rules
    }
}
