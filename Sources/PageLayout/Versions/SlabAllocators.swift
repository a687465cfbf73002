// The slab allocators a kernel version offers and their struct slab: SLUB everywhere;
// SLAB until 6.7 (removed in 6.8) and SLOB until 6.3 (removed in 6.4), each with its own
// arm of struct slab in mm/slab.h (5.17 to 6.7) or of struct page's slab arm (5.15):
//   5.15: linux-5.15.y include/linux/mm_types.h, the "slab, slob and slub" arm of struct
//         page (s_mem shares counters' word; SLAB's `active` and SLOB's `units` share
//         _mapcount's)
//   6.1:  linux-6.1.y (6.1.166) mm/slab.h:9-64 (SLAB 12-22, SLUB 23-47, SLOB 48-54)
//   6.6:  linux-6.6.y (6.6.57) mm/slab.h:42-102 (SLAB 45-57, SLUB 58-93)
//   (first read from Android's GrapheneOS/kernel_common-6.1 @626340182a and -6.6
//   @60a7afd50f; the stable trees' struct slab is the same, member for member)

/// The slab allocator a configuration selects (CONFIG_SLUB, CONFIG_SLAB, CONFIG_SLOB).
public enum SlabAllocator: String, Sendable, Hashable, Codable, CaseIterable, CustomStringConvertible {
    case slub, slab, slob

    /// The Kconfig symbol that selects it.
    public var configName: String { "CONFIG_\(rawValue.uppercased())" }
    public var description: String { rawValue.uppercased() }

    /// The first version without it: SLOB was removed in 6.4 (commit "mm/slob: remove
    /// slob.c"), SLAB in 6.8 ("mm/slab: remove mm/slab.c and slab_def.h"); SLUB stays.
    public var removedIn: KernelVersion? {
        switch self {
        case .slub: nil
        case .slab: KernelVersion(6, 8)
        case .slob: KernelVersion(6, 4)
        }
    }

    /// Whether kernel `version` has this allocator.
    public func exists(in version: KernelVersion) -> Bool {
        removedIn.map { version < $0 } ?? true
    }
}

extension KernelConfig {
    /// The allocator the configuration selects: SLAB or SLOB when set to y, else SLUB
    /// (the default of every version PageLab knows).
    public var slabAllocator: SlabAllocator {
        if isEnabled("SLAB") { return .slab }
        if isEnabled("SLOB") { return .slob }
        return .slub
    }
}

extension Layouts {
    /// The error (exit status 2) for a configuration whose allocator `version` does not
    /// have, or nil.
    static func allocatorError(_ allocator: SlabAllocator, version: KernelVersion) -> LayoutError? {
        guard !allocator.exists(in: version), let removed = allocator.removedIn else { return nil }
        return .optionNotInVersion(option: allocator.configName, version: version.description,
                                   reason: "\(allocator) was removed in \(removed); its configurations select CONFIG_SLUB")
    }

    /// struct slab of 6.1 with SLAB (linux-6.1.y mm/slab.h:12-22): the list/rcu union, slab_cache,
    /// freelist (an array of free object indexes), s_mem and `unsigned int active`.
    static func slab61SLAB(_ config: LayoutConfig) -> StructLayout {
        let t = CTypes(config)
        return olderSlab(config, allocator: .slab, version: .v6_1, [
            .union([.member("slab_list", t.listHead, note: "aliases compound_head: bit 0 clear"),
                    .member("rcu_head", t.rcuHead)]),
            .member("slab_cache", t.pointer("struct kmem_cache")),
            .member("freelist", t.pointer("void"), note: "array of free object indexes"),
            .member("s_mem", t.pointer("void"), note: "first object"),
            .member("active", t.uint),
        ])
    }

    /// struct slab of 6.1 with SLOB (linux-6.1.y mm/slab.h:48-54): slab_list, two unused words around
    /// freelist, `long units` and `unsigned int __unused_2`.
    static func slab61SLOB(_ config: LayoutConfig) -> StructLayout {
        let t = CTypes(config)
        return olderSlab(config, allocator: .slob, version: .v6_1, [
            .member("slab_list", t.listHead, note: "aliases compound_head: bit 0 clear"),
            .member("__unused_1", t.pointer("void").asKind(.padding)),
            .member("freelist", t.pointer("void"), note: "first free block"),
            .member("units", t.ulong.asKind(.value, spelling: "long")),
            .member("__unused_2", t.uint.asKind(.padding)),
        ])
    }

    /// struct slab of 6.6 with SLAB (linux-6.6.y mm/slab.h:45-57): slab_cache first (aliasing
    /// compound_head), then slab_list, freelist and s_mem in a union with rcu_head, and
    /// `unsigned int active`.
    static func slab66SLAB(_ config: LayoutConfig) -> StructLayout {
        let t = CTypes(config)
        return olderSlab(config, allocator: .slab, version: .v6_6, [
            .member("slab_cache", t.pointer("struct kmem_cache"), note: "aliases compound_head: bit 0 clear"),
            .union([.group(arm: "slab_list", [.member("slab_list", t.listHead),
                                              .member("freelist", t.pointer("void"), note: "array of free object indexes"),
                                              .member("s_mem", t.pointer("void"), note: "first object")]),
                    .member("rcu_head", t.rcuHead)]),
            .member("active", t.uint),
        ])
    }

    /// `__page_flags`, an allocator's members, `__page_refcount` and (MEMCG) memcg_data.
    private static func olderSlab(_ config: LayoutConfig, allocator: SlabAllocator, version: KernelVersion,
                                  _ members: [Decl]) -> StructLayout {
        let t = CTypes(config)
        var decls: [Decl] = [.member("__page_flags", t.ulong.asKind(.flags))] + members
        decls.append(.member("__page_refcount", t.atomic))
        if config.memcg { decls.append(.member("memcg_data", t.ulong)) }
        let layout = StructLayout.describe("slab", decls)
        return layout.with(note: "Linux \(version) mm/slab.h (\(allocator))")
    }

    /// What an allocator of 5.15 (which has no struct slab: 5.17 split it out) uses of
    /// struct page: flags, the members of the slab arm it reads (SLAB: s_mem, not
    /// counters; SLOB: not slab_cache, next or counters), its word of the _mapcount
    /// union (`active`, `units`) and _refcount, at struct page's own offsets.
    static func slab515(_ page: StructLayout, allocator: SlabAllocator) -> StructLayout {
        let unused: Set<String> = switch allocator {
        case .slub: ["s_mem"]
        case .slab: ["next", "pages", "pobjects", "counters", "inuse", "objects", "frozen"]
        case .slob: ["next", "pages", "pobjects", "slab_cache", "s_mem", "counters", "inuse", "objects", "frozen"]
        }
        let ownWord: String? = switch allocator {
        case .slub: nil
        case .slab: "active"
        case .slob: "units"
        }
        let fields = page.fields.filter { field in
            if field.name == "flags" || field.name == "_refcount" || field.name == "memcg_data" { return true }
            if field.isIn(arm: "slab") { return !unused.contains(field.name) }
            return field.name == ownWord
        }
        return StructLayout(name: "slab", size: page.size, align: page.align, fields: fields,
                            note: "Linux 5.15 has no struct slab: the members \(allocator) uses of struct page (include/linux/mm_types.h)")
    }
}
