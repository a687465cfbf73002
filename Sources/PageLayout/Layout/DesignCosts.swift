// What each design costs per page and per descriptor, read off its layouts.

/// The descriptors the memdesc designs allocate separately, one slab object each.
public enum DescriptorKind: String, CaseIterable, Sendable, Codable {
    case folio, slab, ptdesc, zpdesc
}

/// What a design costs per page and per descriptor, derived from the layouts (never
/// typed in).
public struct DesignCosts: Sendable, Equatable, Codable {
    public let design: Design
    /// Bytes of memmap per pfn (64 for mainline on x86_64, 8 for memdesc8).
    public let structPageSize: Int
    /// Separately allocated descriptor sizes (16-byte multiples, as the memdesc plan
    /// requires); empty for designs without them.
    public let descriptorSizes: [DescriptorKind: Int]
    /// page_ext bytes per pfn the design forces (page-ext: header + pin client); 0 otherwise.
    public let pageExtBytesPerPage: Int
    /// Bytes allocated per pinned page (proxy: sizeof(struct dynamic_page)); 0 otherwise.
    public let bytesPerPin: Int

    public init(design: Design, structPageSize: Int, descriptorSizes: [DescriptorKind: Int],
                pageExtBytesPerPage: Int, bytesPerPin: Int) {
        self.design = design
        self.structPageSize = structPageSize
        self.descriptorSizes = descriptorSizes
        self.pageExtBytesPerPage = pageExtBytesPerPage
        self.bytesPerPin = bytesPerPin
    }

    /// Bytes per pfn that every page pays, whatever it holds: memmap plus page_ext.
    public var fixedBytesPerPage: Int { structPageSize + pageExtBytesPerPage }
}

extension Design {
    /// The design's memory costs on `config`, read from its layouts.
    public func costs(_ config: LayoutConfig) -> DesignCosts {
        let page = Layouts.structPage(config, design: self)
        var descriptors: [DescriptorKind: Int] = [:]
        if allocatesDescriptors {
            for kind in DescriptorKind.allCases { descriptors[kind] = Layouts.descriptor(kind, config).size }
        }
        return DesignCosts(
            design: self,
            structPageSize: page.size,
            descriptorSizes: descriptors,
            pageExtBytesPerPage: self == .pageExt ? Layouts.pageExt(config).size : 0,
            bytesPerPin: self == .proxy ? Layouts.dynamicPage(config).size : 0)
    }
}
