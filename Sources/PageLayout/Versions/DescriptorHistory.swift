// struct folio, ptdesc and slab of 6.12 and 6.6, mirroring linux-6.12.y (6.12.63) and
// linux-6.6.y (6.6.57) include/linux/mm_types.h (`struct folio`, `struct ptdesc`) and
// mm/slab.h (`struct slab`, the SLUB arm). 6.12 against v6.19: page->flags is a plain `unsigned long` (`__page_flags` in ptdesc and
// slab); the folio spans three pages, with `_folio_nr_pages` in page 1 and page 2 shared
// by the hugetlb fields and `_flags_2a`/`_head_2a`/`_deferred_list`; no `pgmap` or `share`
// in page 0, no `_mm_id*`; struct slab has no `llnode` arm (deferred deactivate_slab()).
// zpdesc did not exist yet. 6.6 against 6.12: page 1 has `unsigned long _folio_avail`
// where 6.12 has `_large_mapcount`; page 0 ends at memcg_data; ptdesc has no pt_index or
// pt_share_count and calls its refcount `_refcount`; SLUB's slab has `__unused` for
// `__page_type` and `memcg_data` (MEMCG) for `obj_exts`.

extension Layouts {
    /// The first words of the folio's page 0 from 6.1 to 6.12: `unsigned long flags`, the
    /// lru/mlock_count union, mapping and a plain `index`.
    static func olderFolioHead(_ t: CTypes) -> [Decl] {
        [.member("flags", t.ulong.asKind(.flags)),
         .union([.member("lru", t.listHead),
                 .group(arm: "mlock_count", [.member("__filler", t.pointer("void").asKind(.padding)),
                                             .member("mlock_count", t.uint)])]),
         .member("mapping", t.pointer("struct address_space")),
         .member("index", t.ulong, note: "pgoff_t")]
    }

    /// struct folio of 6.12 or 6.6.
    static func olderFolio(_ config: LayoutConfig, version: KernelVersion) -> StructLayout {
        let t = CTypes(config)
        guard let page = historicStructPage(config, version: version) else { return folio(config) }
        var page0: [Decl] = olderFolioHead(t) + [
            .union([.member("private", t.pointer("void")), .member("swap", t.ulong.asKind(.value, spelling: "swp_entry_t"))]),
            .member("_mapcount", t.atomic),
            .member("_refcount", t.atomic),
        ]
        if config.memcg {
            page0.append(.member("memcg_data", t.ulong))
        } else if config.slabObjExt, version >= .v6_12 {
            page0.append(.member("_unused_slab_obj_exts", t.ulong.asKind(.padding)))
        }
        if version >= .v6_12 {
            if config.wantPageVirtual { page0.append(.member("virtual", t.pointer("void"))) }
            if config.lastCpupidNotInPageFlags { page0.append(.member("_last_cpupid", t.int)) }
        }
        var page1: [Decl] = [
            .member("_flags_1", t.ulong.asKind(.flags), note: "folio order in bits 0-7"),
            .member("_head_1", t.ulong.asKind(.pointer), note: "tail encoding: head | 1"),
            version >= .v6_12 ? .member("_large_mapcount", t.atomic) : .member("_folio_avail", t.ulong.asKind(.padding)),
            .member("_entire_mapcount", t.atomic), .member("_nr_pages_mapped", t.atomic), .member("_pincount", t.atomic),
        ]
        if config.arch.bitsPerLong == 64 { page1.append(.member("_folio_nr_pages", t.uint)) }
        let page2: [Decl] = [.union([
            .group(arm: "hugetlb", [
                .member("_flags_2", t.ulong.asKind(.flags)), .member("_head_2", t.ulong.asKind(.pointer)),
                .member("_hugetlb_subpool", t.pointer("void")), .member("_hugetlb_cgroup", t.pointer("void")),
                .member("_hugetlb_cgroup_rsvd", t.pointer("void")), .member("_hugetlb_hwpoison", t.pointer("void")),
            ]),
            .group(arm: "deferred", [
                .member("_flags_2a", t.ulong.asKind(.flags)), .member("_head_2a", t.ulong.asKind(.pointer)),
                .member("_deferred_list", t.listHead),
            ]),
        ])]
        let decls: [Decl] = [page0, page1, page2].map { .overlay(size: page.size, align: page.align, $0) }
        let layout = StructLayout.describe("folio", decls)
        return layout.with(rules: folioRules(layout), note: "Linux \(version) include/linux/mm_types.h")
    }

    /// v6.19's struct ptdesc under 6.12's names: `unsigned long __page_flags` first.
    static func ptdesc612(_ config: LayoutConfig) -> StructLayout {
        renaming(ptdesc(config), ["pt_flags": ("__page_flags", "unsigned long")], dropping: [], note: "Linux 6.12 include/linux/mm_types.h")
    }

    /// 6.18's struct slab under 6.12's names, without the deferred-deactivation arm.
    static func slab612(_ config: LayoutConfig) -> StructLayout {
        renaming(slab618(slab(config)), ["flags": ("__page_flags", "unsigned long")], dropping: ["llnode", "flush_freelist"],
                 note: "Linux 6.12 mm/slab.h")
    }

    /// struct folio of 6.1 (Debian linux-headers-6.1.0-47-common, 6.1.170,
    /// include/linux/mm_types.h): page 0's fields over a struct page, then page 1's
    /// `_flags_1`, `__head`, `_folio_dtor`, `_folio_order`, `_total_mapcount`, `_pincount`,
    /// `_folio_nr_pages` (64-bit) and `_private_1` as plain members: two pages' worth.
    static func folio61(_ config: LayoutConfig) -> StructLayout {
        let t = CTypes(config)
        guard let page = historicStructPage(config, version: .v6_1) else { return folio(config) }
        var page0: [Decl] = olderFolioHead(t) + [
            .member("private", t.pointer("void")),
            .member("_mapcount", t.atomic),
            .member("_refcount", t.atomic),
        ]
        if config.memcg { page0.append(.member("memcg_data", t.ulong)) }
        var decls: [Decl] = [
            .overlay(size: page.size, align: page.align, page0),
            .member("_flags_1", t.ulong.asKind(.flags)),
            .member("__head", t.ulong.asKind(.pointer), note: "tail encoding: head | 1"),
            .member("_folio_dtor", t.u8.asKind(.value, spelling: "unsigned char")),
            .member("_folio_order", t.u8.asKind(.value, spelling: "unsigned char")),
            .member("_total_mapcount", t.atomic),
            .member("_pincount", t.atomic),
        ]
        if config.arch.bitsPerLong == 64 { decls.append(.member("_folio_nr_pages", t.uint)) }
        decls.append(.member("_private_1", t.ulong))
        let layout = StructLayout.describe("folio", decls)
        return layout.with(rules: folioRules(layout), note: "Linux 6.1 include/linux/mm_types.h")
    }

    /// struct slab of 6.1 with SLUB (linux-6.1.y, 6.1.166, mm/slab.h:9-60): the list arms
    /// first, then slab_cache, where 6.6 on has slab_cache first; no double-word member.
    static func slab61(_ config: LayoutConfig) -> StructLayout {
        let t = CTypes(config)
        var decls: [Decl] = [
            .member("__page_flags", t.ulong.asKind(.flags)),
            .union([
                .member("slab_list", t.listHead, note: "aliases compound_head: bit 0 clear"),
                .member("rcu_head", t.rcuHead),
                .group(arm: "next", [.member("next", t.pointer("struct slab"), note: "CONFIG_SLUB_CPU_PARTIAL"),
                                     .member("slabs", t.int)]),
            ]),
            .member("slab_cache", t.pointer("struct kmem_cache")),
            .member("freelist", t.pointer("void"), note: "first free object"),
            .union([.member("counters", t.ulong),
                    .group(arm: "inuse", [.bitfields(t.uint, [("inuse", 16), ("objects", 15), ("frozen", 1)])])]),
            .member("__unused", t.uint),
            .member("__page_refcount", t.atomic),
        ]
        if config.memcg { decls.append(.member("memcg_data", t.ulong)) }
        let layout = StructLayout.describe("slab", decls)
        return layout.with(note: "Linux 6.1 mm/slab.h (SLUB)")
    }

    /// 6.12's struct ptdesc under 6.6's names, without pt_index and pt_share_count.
    static func ptdesc66(_ config: LayoutConfig) -> StructLayout {
        renaming(ptdesc612(config), ["__page_refcount": ("_refcount", "atomic_t")], dropping: ["pt_index", "pt_share_count"],
                 note: "Linux 6.6 include/linux/mm_types.h")
    }

    /// 6.12's struct slab under 6.6's SLUB names.
    static func slab66(_ config: LayoutConfig) -> StructLayout {
        renaming(slab612(config), ["__page_type": ("__unused", "unsigned int"), "obj_exts": ("memcg_data", "unsigned long")],
                 dropping: config.memcg ? [] : ["obj_exts"], note: "Linux 6.6 mm/slab.h (SLUB)")
    }

    /// `layout` with members renamed (name: (new name, new type)) and some dropped.
    static func renaming(_ layout: StructLayout, _ names: [String: (String, String)], dropping: Set<String>,
                         note: String) -> StructLayout {
        let fields = layout.fields.filter { !dropping.contains($0.name) }.map { field in
            guard let (name, type) = names[field.name] else { return field }
            return LayoutField(name: name, offset: field.offset, size: field.size, armPath: field.armPath, type: type,
                               kind: field.kind, bitOffset: field.bitOffset, bitWidth: field.bitWidth, note: field.note)
        }
        return StructLayout(name: layout.name, size: layout.size, align: layout.align, fields: fields,
                            rules: layout.rules, note: note)
    }
}
