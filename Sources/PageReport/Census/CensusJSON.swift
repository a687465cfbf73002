// `pagelab census --format json`: the keys the README documents.
import PageCensus
import struct PageLayout.KernelVersion

/// The JSON document of a census. Keys: kernel, machine, pfns, pfns_with_memmap,
/// ram_pages, page_size, kinds, folio_orders, thp_heads, buddy_blocks, buddyinfo,
/// descriptors, designs, designs_kernel, mapcount, cgroups, zones, checks, machines, seconds,
/// vmalloc (where /proc/vmallocinfo was read).
public struct CensusJSON: Encodable {
    struct Kind: Encodable {
        let pages, bytes, heads, tails, mapped, memcgCharged: Int
        enum CodingKeys: String, CodingKey { case pages, bytes, heads, tails, mapped; case memcgCharged = "memcg_charged" }
    }
    struct Descriptors: Encodable {
        let folio, folioLarge, slab, ptdesc, zpdesc: Int
        enum CodingKeys: String, CodingKey { case folio, slab, ptdesc, zpdesc; case folioLarge = "folio_large" }
    }
    struct DesignRow: Encodable {
        let design: String
        let structPageSize, memmapBytes, descriptorBytes, pageExtBytes, totalBytes: Int
        let percentOfRam, inUseBytesPerPage: Double
        let inUseBytes, notInUseBytes: Int
        let descriptorSizes: [String: Int]
        let breakEvenOrder: Int?
        let perKindBytes: [String: Int]
        enum CodingKeys: String, CodingKey {
            case design
            case structPageSize = "struct_page_size", memmapBytes = "memmap_bytes", descriptorBytes = "descriptor_bytes"
            case pageExtBytes = "page_ext_bytes", totalBytes = "total_bytes", percentOfRam = "percent_of_ram"
            case inUseBytesPerPage = "in_use_bytes_per_page", inUseBytes = "in_use_bytes", notInUseBytes = "not_in_use_bytes"
            case descriptorSizes = "descriptor_sizes", breakEvenOrder = "break_even_order", perKindBytes = "per_kind_bytes"
        }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(design, forKey: .design)
            try c.encode(structPageSize, forKey: .structPageSize)
            try c.encode(memmapBytes, forKey: .memmapBytes)
            try c.encode(descriptorBytes, forKey: .descriptorBytes)
            try c.encode(pageExtBytes, forKey: .pageExtBytes)
            try c.encode(totalBytes, forKey: .totalBytes)
            try c.encode(percentOfRam, forKey: .percentOfRam)
            try c.encode(inUseBytesPerPage, forKey: .inUseBytesPerPage)
            try c.encode(inUseBytes, forKey: .inUseBytes)
            try c.encode(notInUseBytes, forKey: .notInUseBytes)
            try c.encode(descriptorSizes, forKey: .descriptorSizes)
            try c.encode(breakEvenOrder, forKey: .breakEvenOrder)  // null when there is none
            try c.encode(perKindBytes, forKey: .perKindBytes)
        }
    }
    struct Checks: Encodable {
        let uninitialised, zonesPresentMinusManaged, irregularCompounds, slabWithAnon, slabWithKsm: Int
        let buddyOrdersMatching: [Int]
        enum CodingKeys: String, CodingKey {
            case uninitialised
            case buddyOrdersMatching = "buddy_orders_matching"
            case zonesPresentMinusManaged = "zones_present_minus_managed", irregularCompounds = "irregular_compounds"
            case slabWithAnon = "slab_with_anon", slabWithKsm = "slab_with_ksm"
        }
    }
    struct Machine: Encodable {
        let machine, kernel: String
        let pfns, pfnsWithMemmap, inUsePages: Int
        enum CodingKeys: String, CodingKey { case machine, kernel, pfns; case pfnsWithMemmap = "pfns_with_memmap"; case inUsePages = "in_use_pages" }
    }

    let kernel, machine: String
    let pfns, pfnsWithMemmap, ramPages, pageSize: Int
    let kinds: [String: Kind]
    let folioOrders: [String: [Int]]
    let thpHeads, buddyBlocks, buddyinfo: [Int]
    let descriptors: Descriptors
    let designs: [DesignRow]
    /// The kernel version whose struct page the designs were costed on
    /// (`Design.costs(_:kernel:)`): `--kernel`, else the snapshot's own release, else v6.19.
    let designsKernel: String
    let mapcount: [String: Int]
    let cgroups: [String: Int]
    let zones: [Zone]
    let checks: Checks
    /// The census beside /proc/vmstat and /proc/meminfo (KernelCounterChecks).
    let kernelCounters: [Counter]
    struct Counter: Encodable {
        let name: String
        let census: Int
        let kernel, difference: Int?
        let counter, reason: String
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(census, forKey: .census)
            try c.encode(kernel, forKey: .kernel)   // null when the snapshot has no such counter
            try c.encode(difference, forKey: .difference)
            try c.encode(counter, forKey: .counter)
            try c.encode(reason, forKey: .reason)
        }
        enum CodingKeys: String, CodingKey { case name, census, kernel, difference, counter, reason }
    }
    let machines: [Machine]
    let seconds: Double
    /// What the input files disagreed on (`Census.warnings`); empty when nothing.
    let warnings: [String]
    /// /proc/vmallocinfo's view; absent where it was not read.
    let vmalloc: CensusVmallocJSON?
    /// What /proc/kpageflags means in the kernel version read (absent when none is known).
    let kpageflags: KpageflagsSection?

    enum CodingKeys: String, CodingKey {
        case kernel, machine, pfns, kinds, descriptors, designs, mapcount, cgroups, zones, checks, machines, seconds, buddyinfo, warnings
        case vmalloc, kpageflags
        case kernelCounters = "kernel_counters", designsKernel = "designs_kernel"
        case pfnsWithMemmap = "pfns_with_memmap", ramPages = "ram_pages", pageSize = "page_size"
        case folioOrders = "folio_orders", thpHeads = "thp_heads", buddyBlocks = "buddy_blocks"
    }

    public init(_ census: Census, costs: [DesignCensusCost], machines: [Census] = [], seconds: Double,
                kpageflags: KernelPageFlags.Semantics? = nil, costedOn: KernelVersion = .reference) {
        designsKernel = costedOn.description
        self.kpageflags = kpageflags.map { KpageflagsSection($0, census: census) }
        kernel = census.info.kernelRelease
        machine = census.info.machine
        pfns = census.pfns
        pfnsWithMemmap = census.pfnsWithMemmap
        ramPages = census.ramPages
        pageSize = census.pageSize
        var kinds: [String: Kind] = [:]
        var orders: [String: [Int]] = [:]
        for kind in PageKind.allCases {
            let s = census[kind]
            kinds[kind.key] = Kind(pages: s.pages, bytes: s.pages * census.pageSize, heads: s.heads, tails: s.tails,
                                   mapped: s.mapped, memcgCharged: s.charged)
            let units = census.units[Int(kind.rawValue)]
            if units.contains(where: { $0 > 0 }) {
                let last = units.lastIndex(where: { $0 > 0 }) ?? 0
                orders[kind.key] = Array(units[0...last])
            }
        }
        self.kinds = kinds
        folioOrders = orders
        thpHeads = census.thpHeads
        buddyBlocks = census.buddyBlocks
        buddyinfo = census.buddyinfo
        let counts = DescriptorCounts(census)
        descriptors = Descriptors(folio: counts.smallFolios.reduce(0, +), folioLarge: counts.largeFolios.reduce(0, +),
                                  slab: counts.totalSlabs, ptdesc: counts.totalPtdescs, zpdesc: counts.totalZpdescs)
        designs = costs.map { c in
            DesignRow(design: c.design.rawValue, structPageSize: c.structPageSize, memmapBytes: c.memmapBytes,
                      descriptorBytes: c.descriptorBytes, pageExtBytes: c.pageExtBytes, totalBytes: c.totalBytes,
                      percentOfRam: (c.percentOfRAM * 10000).rounded() / 10000,
                      inUseBytesPerPage: (c.inUseBytesPerPage * 100).rounded() / 100,
                      inUseBytes: c.inUseBytes, notInUseBytes: c.notInUseBytes,
                      descriptorSizes: c.hasDescriptors ? ["folio": c.sizes.folio, "folio_large": c.sizes.folioLarge, "slab": c.sizes.slab,
                                                           "ptdesc": c.sizes.ptdesc, "zpdesc": c.sizes.zpdesc] : [:],
                      breakEvenOrder: c.breakEvenOrder,
                      perKindBytes: Dictionary(uniqueKeysWithValues: PageKind.allCases.map { ($0.key, c.perKind[Int($0.rawValue)]) }))
        }
        mapcount = Dictionary(uniqueKeysWithValues: census.mapcount.map { (String($0.key), $0.value) })
        cgroups = Dictionary(uniqueKeysWithValues: census.cgroups.map { (String($0.key), $0.value) })
        zones = census.zones
        warnings = census.warnings
        vmalloc = census.vmalloc.map(CensusVmallocJSON.init)
        let structPageSize = costs.first { $0.design == .mainline }?.structPageSize ?? 64
        kernelCounters = KernelCounterChecks.checks(census, structPageSize: structPageSize).map {
            Counter(name: $0.name, census: $0.census, kernel: $0.kernel, difference: $0.difference, counter: $0.counter, reason: $0.reason)
        }
        checks = Checks(uninitialised: census[.uninitialised].pages, zonesPresentMinusManaged: census.zonesUnmanaged,
                        irregularCompounds: census.irregularCompounds, slabWithAnon: census.slabWithAnon, slabWithKsm: census.slabWithKsm,
                        buddyOrdersMatching: census.buddyOrdersMatching)
        self.machines = machines.map {
            Machine(machine: $0.info.machine, kernel: $0.info.kernelRelease, pfns: $0.pfns,
                    pfnsWithMemmap: $0.pfnsWithMemmap, inUsePages: $0.inUsePages)
        }
        self.seconds = (seconds * 1000).rounded() / 1000
    }
}
