// What each descriptor design of PageLayout would cost on the memory of a census:
// memmap for every pfn that has a struct page, page_ext where the design needs it, and
// for the memdesc designs one separately allocated descriptor per folio, slab, page
// table and zsmalloc page. Free memory and memmap not initialised yet need none.
import PageLayout

/// Descriptor sizes used for costing, in bytes. They come from PageLayout's layouts
/// (`Design.costs(_:)`), except where the command line overrides them. A large folio
/// may be given its own size (`folio-large`, "Large folios will store more information
/// here", Memdescs/Path); by default it is the folio's.
public struct DescriptorSizes: Sendable, Equatable {
    public var folio: Int
    public var folioLarge: Int
    public var slab: Int
    public var ptdesc: Int
    public var zpdesc: Int

    /// The names `--descriptor-size NAME=BYTES` accepts.
    public static let names = ["folio", "folio-large", "slab", "ptdesc", "zpdesc"]

    public init(_ costs: DesignCosts) {
        folio = costs.descriptorSizes[.folio] ?? 0
        folioLarge = folio
        slab = costs.descriptorSizes[.slab] ?? 0
        ptdesc = costs.descriptorSizes[.ptdesc] ?? 0
        zpdesc = costs.descriptorSizes[.zpdesc] ?? 0
    }

    /// Applies `NAME=BYTES` overrides; `folio` also sets `folio-large` unless that is
    /// given too.
    public mutating func override(_ overrides: [String: Int]) {
        if let v = overrides["folio"] { folio = v; folioLarge = v }
        if let v = overrides["folio-large"] { folioLarge = v }
        if let v = overrides["slab"] { slab = v }
        if let v = overrides["ptdesc"] { ptdesc = v }
        if let v = overrides["zpdesc"] { zpdesc = v }
    }

    /// Parses `NAME=BYTES` arguments with a typed error for anything else.
    public static func parseOverrides(_ arguments: [String]) throws(CensusError) -> [String: Int] {
        var result: [String: Int] = [:]
        for argument in arguments {
            let parts = argument.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, names.contains(parts[0]), let bytes = Int(parts[1]), bytes > 0, bytes <= 1 << 20 else {
                throw .badArgument("--descriptor-size '\(argument)' must be NAME=BYTES with NAME one of \(names.joined(separator: ", ")) and 1 <= BYTES <= 1048576")
            }
            result[parts[0]] = bytes
        }
        return result
    }
}

/// Descriptors the memdesc designs would allocate for a census, by page kind.
public struct DescriptorCounts: Sendable, Equatable {
    /// Order-0 folios, large folios, slabs, page tables and zsmalloc pages per kind,
    /// indexed by `PageKind.rawValue`.
    public var smallFolios = [Int](repeating: 0, count: PageKind.count)
    public var largeFolios = [Int](repeating: 0, count: PageKind.count)
    public var slabs = [Int](repeating: 0, count: PageKind.count)
    public var ptdescs = [Int](repeating: 0, count: PageKind.count)
    public var zpdescs = [Int](repeating: 0, count: PageKind.count)

    /// One folio descriptor per folio of any order (page cache, shmem, anon, hugetlb,
    /// and the huge zero folio); one slab descriptor per slab; one ptdesc per page-table
    /// page; one zpdesc per zsmalloc page (vmstat `nr_zspages`: zsmalloc has no KPF bit,
    /// so those pages are among the untyped ones). Reserved pages, the zero page, other
    /// compounds, untyped and free memory are Misc or Buddy memdescs: no descriptor.
    public init(_ census: Census) {
        for kind in PageKind.allCases {
            let k = Int(kind.rawValue)
            let units = census.units[k]
            switch kind {
            case _ where kind.isFolio:
                smallFolios[k] = units[0]
                largeFolios[k] = units.dropFirst().reduce(0, +)
            case .zeroPage:
                largeFolios[k] = units.dropFirst().reduce(0, +)
            case .slab:
                slabs[k] = units.reduce(0, +)
            case .pageTable:
                ptdescs[k] = units.reduce(0, +)
            case .untyped:
                zpdescs[k] = census.zsmallocPages
            default:
                break
            }
        }
    }

    public var folios: Int { smallFolios.reduce(0, +) + largeFolios.reduce(0, +) }
    public var totalSlabs: Int { slabs.reduce(0, +) }
    public var totalPtdescs: Int { ptdescs.reduce(0, +) }
    public var totalZpdescs: Int { zpdescs.reduce(0, +) }

    /// Bytes of descriptors for one kind at the given sizes.
    public func bytes(_ kind: PageKind, _ sizes: DescriptorSizes) -> Int {
        let k = Int(kind.rawValue)
        return smallFolios[k] * sizes.folio + largeFolios[k] * sizes.folioLarge + slabs[k] * sizes.slab
            + ptdescs[k] * sizes.ptdesc + zpdescs[k] * sizes.zpdesc
    }
}

/// One design's cost on one census.
public struct DesignCensusCost: Sendable, Equatable {
    public var design: Design
    public var structPageSize: Int
    /// Descriptor sizes used (all zero for designs without separate descriptors).
    public var sizes: DescriptorSizes
    public var hasDescriptors: Bool
    public var memmapBytes: Int
    public var descriptorBytes: Int
    public var pageExtBytes: Int
    public var totalBytes: Int { memmapBytes + descriptorBytes + pageExtBytes }
    /// Total as a percentage of System RAM.
    public var percentOfRAM: Double
    /// Bytes for in-use memory (every kind but hole, uninitialised and free).
    public var inUseBytes: Int
    public var inUsePages: Int
    public var inUseBytesPerPage: Double { inUsePages == 0 ? 0 : Double(inUseBytes) / Double(inUsePages) }
    /// Bytes for everything else (free, uninitialised memmap, holes with a memmap).
    public var notInUseBytes: Int { totalBytes - inUseBytes }
    /// Bytes per page kind, indexed by `PageKind.rawValue`.
    public var perKind: [Int]
    /// The smallest folio order at which this design's per-page cost (struct page plus
    /// the folio descriptor shared by 2^order pages) is below the baseline's struct
    /// page; nil for designs without descriptors, or when no order gets there.
    public var breakEvenOrder: Int?
}

public enum CensusCosts {
    /// Costs every design on `config` for `census`, with optional descriptor size
    /// overrides. The baseline for the break-even order is mainline's struct page.
    /// `structPageSize`, when given, is mainline's sizeof(struct page) as the kernel says
    /// it (the running kernel's BTF, or a `--kernel` version's layout) instead of the
    /// v6.19 layout computed from `config`. `kernel` is the version whose struct page
    /// every design is costed on (`Design.costs(_:kernel:)`: the 64-byte-family designs
    /// change that version's struct page, not v6.19's).
    public static func compute(_ census: Census, config: LayoutConfig = LayoutConfig(arch: .x86_64),
                               designs: [Design] = Design.allCases, overrides: [String: Int] = [:],
                               structPageSize: Int? = nil, kernel: KernelVersion = .reference) -> [DesignCensusCost] {
        let counts = DescriptorCounts(census)
        let baseline = structPageSize ?? Design.mainline.costs(config, kernel: kernel).structPageSize
        let ramBytes = Double(census.ramPages > 0 ? census.ramPages : census.pfnsWithMemmap) * Double(census.pageSize)
        return designs.map { design in
            let costs = design.costs(config, kernel: kernel)
            let pageSize = design == .mainline ? baseline : costs.structPageSize
            let hasDescriptors = !costs.descriptorSizes.isEmpty
            var sizes = DescriptorSizes(costs)
            if hasDescriptors { sizes.override(overrides) }
            var perKind = [Int](repeating: 0, count: PageKind.count)
            var memmap = 0, descriptors = 0, pageExt = 0, inUse = 0
            for kind in PageKind.allCases {
                let stats = census[kind]
                let m = stats.memmapPages * pageSize
                let e = stats.memmapPages * costs.pageExtBytesPerPage
                let d = hasDescriptors ? counts.bytes(kind, sizes) : 0
                perKind[Int(kind.rawValue)] = m + e + d
                memmap += m; pageExt += e; descriptors += d
                if kind.isInUse { inUse += m + e + d }
            }
            var breakEven: Int?
            if hasDescriptors {
                breakEven = (0...Census.maxFolioOrder).first { order in
                    let folio = order == 0 ? sizes.folio : sizes.folioLarge
                    return (pageSize << order) + folio < baseline << order
                }
            }
            let total = memmap + descriptors + pageExt
            return DesignCensusCost(
                design: design, structPageSize: pageSize, sizes: sizes, hasDescriptors: hasDescriptors,
                memmapBytes: memmap, descriptorBytes: descriptors, pageExtBytes: pageExt,
                percentOfRAM: ramBytes > 0 ? 100 * Double(total) / ramBytes : 0,
                inUseBytes: inUse, inUsePages: census.inUsePages, perKind: perKind, breakEvenOrder: breakEven)
        }
    }
}
