// The descriptors of a kernel version: v6.19's computed layouts, with what each older
// version the model knows has differently.

extension Layouts {
    /// The descriptors of kernel `version` for `design`, struct page first, and a note
    /// naming what is not modelled for that version (nil when nothing is left out).
    ///
    /// 6.19: `all(config, design:)`. 6.18: the same, but struct slab's double-word
    /// member is `freelist_aba_t freelist_counter` (linux-6.18.y mm/slab.h:21-41; v6.19
    /// made it `struct freelist_counters` with `freelist_counters`). Older versions: their
    /// own struct page (StructPageHistory.swift); 6.6 and 6.12 also their folio, ptdesc
    /// and slab (DescriptorHistory.swift); 6.1 its folio and slab (it has no ptdesc);
    /// 5.15 has none of the three, and its "slab" is the members of struct page its
    /// allocator uses. 6.1 and 6.6 take the allocator's struct slab (SLAB, SLOB:
    /// SlabAllocators.swift); an allocator the version does not have is an error. The pin-tracking designs are
    /// variants of v6.19's layout, so an older version takes the mainline design only.
    public static func all(_ config: LayoutConfig, design: Design, kernel version: KernelVersion) throws(LayoutError)
        -> (structs: [StructLayout], omitted: String?) {
        if let error = allocatorError(config.slabAllocator, version: version) { throw error }
        if version == .reference { return (all(config, design: design), nil) }
        guard design == .mainline else {
            throw .invalidName(kind: "design", name: design.rawValue,
                               reason: "the designs are variants of v\(KernelVersion.reference)'s layout; kernel \(version) takes --design mainline")
        }
        if version == .v6_18 {
            return (all(config, design: design).map { $0.name == "slab" ? slab618($0) : $0 }, nil)
        }
        guard let page = historicStructPage(config, version: version) else { return (all(config, design: design), nil) }
        if version == .v6_12 { return ([page, olderFolio(config, version: version), ptdesc612(config), slab612(config)], nil) }
        if version == .v6_6 {
            let slab = config.slabAllocator == .slab ? slab66SLAB(config) : slab66(config)
            return ([page, olderFolio(config, version: version), ptdesc66(config), slab], nil)
        }
        if version == .v6_1 {
            let slab = switch config.slabAllocator {
            case .slub: slab61(config)
            case .slab: slab61SLAB(config)
            case .slob: slab61SLOB(config)
            }
            return ([page, folio61(config), slab],
                    "6.1 has no struct ptdesc (6.5 split it from struct page, whose page-table arm is shown)")
        }
        return ([page, slab515(page, allocator: config.slabAllocator)],
                "5.15 has no struct folio (5.16), slab (5.17) or ptdesc (6.5): their fields are struct page's arms; the slab shown is what \(config.slabAllocator) uses of struct page")
    }

    /// sizeof(struct page) of kernel `version`'s mainline layout.
    public static func structPageSize(_ config: LayoutConfig, kernel version: KernelVersion) -> Int {
        historicStructPage(config, version: version)?.size ?? structPage(config).size
    }

    /// v6.19's struct slab under 6.18's names.
    static func slab618(_ slab: StructLayout) -> StructLayout {
        renaming(slab, ["freelist_counters": ("freelist_counter", "freelist_aba_t")], dropping: [],
                 note: "Linux 6.18 mm/slab.h: freelist_aba_t freelist_counter")
    }
}
