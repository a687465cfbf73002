// The result of a census: what every pfn of one machine holds, counted.

/// Counts for one page kind.
public struct KindStats: Sendable, Equatable {
    /// Pfns of this kind.
    public var pages = 0
    /// Compound heads (KPF_COMPOUND_HEAD) and tails among them.
    public var heads = 0
    public var tails = 0
    /// Pfns with a non-zero /proc/kpagecount (mapped into some page table).
    public var mapped = 0
    /// Pfns charged to a memory cgroup (non-zero /proc/kpagecgroup).
    public var charged = 0
    /// Pfns that have a struct page (in a present memory section).
    public var memmapPages = 0

    public init() {}
}

/// One distinct value of /proc/kpageflags and how many pfns carry it.
public struct FlagCount: Sendable, Equatable {
    public var flags: UInt64
    public var pages: Int
    public init(flags: UInt64, pages: Int) { self.flags = flags; self.pages = pages }
}

/// The census of one machine (or one snapshot of it).
public struct Census: Sendable, Equatable {
    /// Linux: MAX_PAGE_ORDER (10 on x86-64 with 4 KiB pages): the largest buddy block.
    public static let maxPageOrder = 10
    /// The largest folio order tracked: 18, a 1 GiB hugetlb folio of 4 KiB pages.
    public static let maxFolioOrder = 18

    /// Where the census came from: kernel release and version, machine name, time.
    public var info: SnapshotInfo
    /// Pfns read from /proc/kpageflags (max_pfn rounded up to a section).
    public var pfns = 0
    /// Pfns with a struct page: whole sections that hold System RAM.
    public var pfnsWithMemmap = 0
    /// Pfns of System RAM (/proc/iomem).
    public var ramPages = 0
    /// Per kind, indexed by `PageKind.rawValue`.
    public var kinds = [KindStats](repeating: KindStats(), count: PageKind.count)
    /// Folios (and slabs, page tables, other compounds) per kind and order: a compound
    /// head with its run of tails, or a single page that is not compound (order 0).
    /// Indexed `[kind.rawValue][order]`.
    public var units = [[Int]](repeating: [Int](repeating: 0, count: maxFolioOrder + 1), count: PageKind.count)
    /// Head/tail runs whose length is not a power of two or whose head is not naturally
    /// aligned (0 on a consistent snapshot).
    public var irregularCompounds = 0
    /// Compound heads with KPF_THP, by order (any large rmappable folio, not only PMD THP).
    public var thpHeads = [Int](repeating: 0, count: maxFolioOrder + 1)
    /// Free memory decomposed into naturally aligned buddy blocks, orders 0...MAX_PAGE_ORDER.
    public var buddyBlocks = [Int](repeating: 0, count: maxPageOrder + 1)
    /// /proc/buddyinfo, summed over nodes and zones.
    public var buddyinfo: [Int] = []
    /// /proc/zoneinfo.
    public var zones: [Zone] = []
    /// Pfns by /proc/kpagecount value.
    public var mapcount: [Int: Int] = [:]
    /// Memcg-charged pfns per cgroup inode (/proc/kpagecgroup); inode 0 is left out.
    public var cgroups: [UInt64: Int] = [:]
    /// Every distinct /proc/kpageflags value, in the order of its first pfn.
    public var flagCombinations: [FlagCount] = []
    /// Quirk counters: slab pages with junk KPF_ANON / KPF_KSM bits.
    public var slabWithAnon = 0
    public var slabWithKsm = 0
    /// zsmalloc pages (vmstat `nr_zspages`): no KPF bit; each needs a zpdesc.
    public var zsmallocPages = 0
    /// The vmalloc areas (/proc/vmallocinfo), where it could be read (root only).
    public var vmalloc: VmallocCensus?
    /// The picture of the physical address space, when asked for.
    public var picture: KindPicture?
    /// What the input files disagreed on or held beyond what a census keeps (a kpagecount
    /// shorter than kpageflags, kpageflags ending before iomem's RAM, more distinct
    /// cgroups than `CensusBuilder.maxDistinctValues`): printed with the census.
    public var warnings: [String] = []

    public init(info: SnapshotInfo) { self.info = info }

    public subscript(kind: PageKind) -> KindStats { kinds[Int(kind.rawValue)] }

    public var pageSize: Int { info.pageSize }
    public var inUsePages: Int { PageKind.allCases.filter(\.isInUse).reduce(0) { $0 + self[$1].pages } }

    /// The orders (from 3 up) where the decomposed free runs agree with /proc/buddyinfo.
    /// Orders 0-2 churn during the read and include pages on pcp lists, which read as 0
    /// (real-machine-census.md §6).
    public var buddyOrdersMatching: [Int] {
        (3...Census.maxPageOrder).filter { $0 < buddyinfo.count && buddyinfo[$0] == buddyBlocks[$0] }
    }

    /// Uninitialised memmap that the zones account for: Σ (present − managed). The
    /// classification's `uninitialised` count should not exceed it.
    public var zonesUnmanaged: Int { zones.reduce(0) { $0 + max(0, $1.present - $1.managed) } }
}

/// The kind of every pfn, or of every block of pfns on large machines: the most common
/// kind in the block. One byte per pixel, the `PageKind` raw value.
public struct KindPicture: Sendable, Equatable {
    /// Pfns per pixel (a power of two).
    public var pfnsPerPixel: Int
    public var pixels: [UInt8]

    public init(pfnsPerPixel: Int, pixels: [UInt8]) {
        self.pfnsPerPixel = pfnsPerPixel
        self.pixels = pixels
    }

    /// The smallest power of two that keeps the picture within `maxPixels`.
    public static func pfnsPerPixel(pfns: Int, maxPixels: Int = 1 << 23) -> Int {
        var block = 1
        while pfns / block > maxPixels { block <<= 1 }
        return block
    }
}
