// The memdesc designs: the 32-byte struct page of the 2025 path, the 8-byte memdesc
// word, and the descriptors they point to (kernelnewbies MatthewWilcox/Memdescs and
// Memdescs/Path; ../shared/reference/kernel-facts.md 5.1-5.5). Proposals, not v6.19:
// the member lists follow the pages' text; sizes follow from the C layout rules.

extension Layouts {
    /// Alignment and size granule of every struct a memdesc points to: "allocated from a
    /// slab with 16-byte alignment", so the low 4 bits of the pointer carry the type.
    public static let memdescDescriptorAlignment = 16

    /// The 32-byte struct page of the memdesc path (KN-Path, raw revision):
    /// `flags; union { buddy_list; pcp_list; struct { memdesc; _refcount; } };
    /// union { private; struct { _mapcount; } }`.
    static func memdesc32Page(_ config: LayoutConfig) -> StructLayout {
        let t = CTypes(config)
        let decls: [Decl] = [
            .member("flags", t.memdescFlags, note: "kept in the page so page_zone() keeps working"),
            .union([
                .member("buddy_list", t.listHead),
                .member("pcp_list", t.listHead),
                .group(arm: "memdesc", [
                    .member("memdesc", t.ulong.asKind(.pointer), note: "descriptor pointer | type (bits 0-3)"),
                    .member("_refcount", t.int.asKind(.atomic), note: "0 for folios: the folio holds the count"),
                ]),
            ]),
            .union([
                .member("private", t.ulong),
                .member("_mapcount", t.int.asKind(.atomic), note: "only folios?"),
            ]),
        ]
        let layout = StructLayout.describe("page", decls, aligned: config.structPageAlignment)
        let word = layout.field("memdesc")
        return layout.with(
            rules: [
                LayoutRule(field: "memdesc", offset: word?.offset ?? 0, size: word?.size ?? 0, mask: 0xf,
                           rule: "memdesc type in bits 0-3, descriptor address (16-byte aligned) above",
                           source: "kernelnewbies MatthewWilcox/Memdescs"),
                LayoutRule(field: "memdesc", offset: word?.offset ?? 0, size: word?.size ?? 0, mask: 0x3,
                           rule: "buddy_list.next overlaps memdesc and an aligned list pointer has its low two bits clear, so types 0, 4, 8 and 12 all read as Buddy",
                           source: "kernelnewbies MatthewWilcox/Memdescs/Path (print revision)"),
            ],
            note: "memdesc path, 2025: 32-byte struct page (\"halves the size of memmap\")")
    }

    /// The final memdesc form: `struct page { u64 memdesc; }`. No page->flags: node,
    /// zone and section move to the descriptors (or the Misc word's high bits).
    static func memdesc8Page(_ config: LayoutConfig) -> StructLayout {
        let t = CTypes(config)
        let layout = StructLayout.describe("page", [
            .member("memdesc", t.u64.asKind(.pointer), note: "type in bits 0-3; pointer or inline data above"),
        ])
        return layout.with(
            rules: [
                LayoutRule(field: "memdesc", offset: 0, size: 8, mask: MemdescWord.typeMask,
                           rule: "memdesc type (revision C: 0 Misc, 1 Buddy, 2 File, 3 Anon, 4 KSM, 5 Slab, 6 Bump, 7 Movable, 8 PTdesc, 9 HWPoison, 10 PerCPU, 11 acctmem, 12 ZPDesc, 13 Managed)",
                           source: "kernelnewbies MatthewWilcox/Memdescs (revision C)"),
                LayoutRule(field: "memdesc", offset: 0, size: 8, mask: MemdescWord.miscSubtypeMask,
                           rule: "Misc (type 0): subtype in bits 4-10", source: "kernelnewbies MatthewWilcox/Memdescs"),
                LayoutRule(field: "memdesc", offset: 0, size: 8, mask: MemdescWord.mappableBit,
                           rule: "Misc: bit 11 set if the page may be mapped to userspace (as a PFNMAP: no refcount)",
                           source: "kernelnewbies MatthewWilcox/Memdescs"),
                LayoutRule(field: "memdesc", offset: 0, size: 8, mask: MemdescWord.orderMask,
                           rule: "Misc: allocation order in bits 12-17; section/node/zone in the high bits",
                           source: "kernelnewbies MatthewWilcox/Memdescs"),
            ],
            note: "memdesc end goal: 8-byte struct page")
    }

    /// The separately allocated folio of the memdesc path (~80 B on 64-bit): flags, lru,
    /// mapping, index, private, _refcount, _mapcount, pincount, order ("3 bytes
    /// available"), pfn, memcg (KN-Path; KN-FolioAlloc initialises the same members).
    public static func memdescFolio(_ config: LayoutConfig) -> StructLayout {
        let t = CTypes(config)
        return memdescDescriptor("memdesc_folio", [
            .member("flags", t.memdescFlags, note: "copied from the first page's flags"),
            // v6.19 struct folio's `union { lru; pgmap; }` (include/linux/mm_types.h): a
            // ZONE_DEVICE folio is never on an LRU. zone_device_data, a struct page field
            // in v6.19 (offset 16, right after the pgmap word), has no place in the memdesc
            // plan: the model keeps it in the second lru word of the device page's own
            // descriptor (memremapPages allocates one per device page).
            .union([
                .member("lru", t.listHead),
                .group(arm: "zone_device", [
                    .member("pgmap", t.pointer("struct dev_pagemap"), note: "Metadata for ZONE_DEVICE mappings"),
                    .member("zone_device_data", t.pointer("void"), note: "the model's place for it (the memdesc plan has none)"),
                ]),
            ]),
            .member("mapping", t.pointer("struct address_space"), note: "low bits: FOLIO_MAPPING_ANON 0x1, KSM 0x3"),
            .member("index", t.ulong),
            .member("private", t.pointer("void")),
            .member("_refcount", t.atomic),
            .member("_mapcount", t.atomic, note: "initialised to -1"),
            .member("_pincount", t.atomic, note: "exact pin count, every order"),
            .member("_order", t.u8, note: "3 bytes available after it"),
            .member("pfn", t.ulong),
            .member("memcg_data", t.ulong),
        ])
    }

    /// struct slab as a separately allocated memdesc: mm/slab.h's members without the
    /// words that only exist to overlay struct page (`__page_type`, `__page_refcount`).
    public static func memdescSlab(_ config: LayoutConfig) -> StructLayout {
        let t = CTypes(config)
        return memdescDescriptor("memdesc_slab", [
            .member("flags", t.memdescFlags),
            .member("slab_cache", t.pointer("struct kmem_cache")),
            .union([
                .group(arm: "slab_list", [.member("slab_list", t.listHead)] + freelistCounters(t, config)),
                .member("rcu_head", t.rcuHead),
            ]),
            .member("obj_exts", t.ulong),
        ])
    }

    /// struct ptdesc as a separately allocated memdesc: its own members without the
    /// struct page overlay words (`__page_mapping`, `__page_type`, `__page_refcount`).
    public static func memdescPtdesc(_ config: LayoutConfig) -> StructLayout {
        let t = CTypes(config)
        return memdescDescriptor("memdesc_ptdesc", [
            .member("pt_flags", t.memdescFlags),
            .union([
                .member("pt_rcu_head", t.rcuHead),
                .member("pt_list", t.listHead),
                .group(arm: "pmd_huge_pte", [
                    .member("_pt_pad_1", t.ulong.asKind(.padding)),
                    .member("pmd_huge_pte", t.pointer("pgtable_t")),
                ]),
            ]),
            .union([
                .member("pt_index", t.ulong),
                .member("pt_mm", t.pointer("struct mm_struct")),
                .member("pt_frag_refcount", t.atomic),
                .member("pt_share_count", t.atomic),
            ]),
            .union([.member("_pt_pad_2", t.ulong.asKind(.padding)), .member("ptl", t.spinlock)]),
            .member("pt_memcg_data", t.ulong),
        ])
    }

    /// struct zpdesc as a separately allocated memdesc: mm/zpdesc.h's members, with
    /// `first_obj_offset` no longer sharing its top byte with a page type.
    public static func memdescZpdesc(_ config: LayoutConfig) -> StructLayout {
        let t = CTypes(config)
        return memdescDescriptor("memdesc_zpdesc", [
            .member("flags", t.memdescFlags),
            .member("lru", t.listHead),
            .member("movable_ops", t.ulong),
            .union([.member("next", t.pointer("struct zpdesc")), .member("handle", t.ulong)]),
            .member("zspage", t.pointer("struct zspage")),
            .member("first_obj_offset", t.uint),
            .member("_refcount", t.atomic),
        ])
    }

    /// scamem, "scattered memory" (seed 004): `struct scamem { unsigned int nr;
    /// refcount_t refcount; struct page *pages[]; }`; the size is the header, the
    /// flexible array adds one pointer per page.
    public static func scamem(_ config: LayoutConfig) -> StructLayout {
        let t = CTypes(config)
        let pages = CType("struct page *[]", size: 0, align: config.wordSize, kind: .pointer)
        let layout = StructLayout.describe("scamem", [
            .member("nr", t.uint),
            .member("refcount", t.atomic.asKind(.atomic, spelling: "refcount_t")),
            .member("pages", pages, note: "flexible array: one struct page * per page"),
        ])
        return layout.with(note: "M. Wilcox, Dec 2024 (seed 004); not in v6.19")
    }

    private static func memdescDescriptor(_ name: String, _ decls: [Decl]) -> StructLayout {
        let layout = StructLayout.describe(name, decls, aligned: memdescDescriptorAlignment)
        return layout.with(note: "separately allocated memdesc descriptor (16-byte aligned slab object)")
    }
}
