// Every descriptor a design uses, laid out for one configuration.

/// The descriptor layouts of PageLab's designs. Each one is computed from a
/// LayoutConfig by the C layout engine; no size or offset is typed in per config.
public enum Layouts {
    /// struct page as the design lays it out: 64 bytes on x86_64 for mainline (80 with
    /// Hubbard's `_dma_pinned_count`), 32 for memdesc32, 8 for memdesc8.
    /// Linux: `struct page` (include/linux/mm_types.h).
    public static func structPage(_ config: LayoutConfig, design: Design = .mainline) -> StructLayout {
        switch design {
        case .memdesc32: memdesc32Page(config)
        case .memdesc8: memdesc8Page(config)
        default: classicStructPage(config, design: design)
        }
    }

    /// The design's folio: struct folio over four struct pages, or, for the memdesc
    /// designs, the separately allocated `memdesc_folio`. Linux: `struct folio`.
    public static func folio(_ config: LayoutConfig, design: Design = .mainline) -> StructLayout {
        switch design {
        case .memdesc32, .memdesc8: memdescFolio(config)
        default: classicFolio(config, design: design)
        }
    }

    /// Every descriptor the design uses, struct page first.
    public static func all(_ config: LayoutConfig, design: Design) -> [StructLayout] {
        let page = structPage(config, design: design)
        switch design {
        case .mainline, .dmaPinnedField, .lruPinned, .lruPinnedRearranged:
            return [page, folio(config, design: design), ptdesc(config), slab(config), zpdesc(config)]
        case .pageExt:
            return [page, folio(config, design: design), ptdesc(config), slab(config), zpdesc(config), pageExt(config)]
        case .proxy:
            return [page, folio(config, design: design), ptdesc(config), slab(config), zpdesc(config), dynamicPage(config)]
        case .memdesc32:
            return [page] + DescriptorKind.allCases.map { descriptor($0, config) }
        case .memdesc8:
            return [page] + DescriptorKind.allCases.map { descriptor($0, config) } + [scamem(config)]
        }
    }

    /// A separately allocated memdesc descriptor.
    public static func descriptor(_ kind: DescriptorKind, _ config: LayoutConfig) -> StructLayout {
        switch kind {
        case .folio: memdescFolio(config)
        case .slab: memdescSlab(config)
        case .ptdesc: memdescPtdesc(config)
        case .zpdesc: memdescZpdesc(config)
        }
    }
}
