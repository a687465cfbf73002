// What one pfn holds, as far as /proc/kpageflags can tell (fs/proc/page.c,
// stable_page_flags()). Every pfn of a census gets exactly one kind.

/// The kind of one pfn. The order of the cases is the order of the census tables.
public enum PageKind: UInt8, CaseIterable, Sendable, Codable, CustomStringConvertible {
    /// Not System RAM (reads as 0 since the kpage_read() refactor, not KPF_NOPAGE).
    case hole
    /// RAM whose struct pages are not initialised yet (deferred_init / lazy init):
    /// whole sections that read flags 0, count 0, cgroup 0.
    case uninitialised
    /// Free in the buddy allocator (KPF_BUDDY, set on every page of a free block).
    case free
    /// Page cache / file folios (LRU, MMAP, UPTODATE, DIRTY, ... without ANON).
    case pageCache
    /// shmem/tmpfs folios: SWAPBACKED without ANON.
    case shmem
    /// Anonymous folios (KPF_ANON, ignored on slab and page-table pages).
    case anon
    /// Slab pages (KPF_SLAB, on every page of the slab).
    case slab
    /// Page-table pages (KPF_PGTABLE).
    case pageTable
    /// The zero page and the huge zero folio (KPF_ZERO_PAGE).
    case zeroPage
    /// PG_reserved (KPF_RESERVED, raw bit 32).
    case reserved
    /// Offline pages (balloon, virtio-mem, hv; KPF_OFFLINE).
    case offline
    /// Poisoned pages (KPF_HWPOISON).
    case hwpoison
    /// hugetlbfs folios (KPF_HUGE).
    case hugetlb
    /// Compound pages that are not folios (kmalloc_large, drivers, page_pool): only
    /// COMPOUND_HEAD/TAIL set.
    case otherCompound
    /// Allocated kernel memory with no KPF bit (vmalloc, stacks, percpu, drivers, pages
    /// on pcp free lists): flags 0 in short runs.
    case untyped

    public static let count = allCases.count

    /// The snake_case name used in JSON and on the command line.
    public var key: String {
        switch self {
        case .hole: "hole"
        case .uninitialised: "uninitialised"
        case .free: "free"
        case .pageCache: "page_cache"
        case .shmem: "shmem"
        case .anon: "anon"
        case .slab: "slab"
        case .pageTable: "page_table"
        case .zeroPage: "zero_page"
        case .reserved: "reserved"
        case .offline: "offline"
        case .hwpoison: "hwpoison"
        case .hugetlb: "hugetlb"
        case .otherCompound: "other_compound"
        case .untyped: "untyped"
        }
    }

    public var description: String {
        switch self {
        case .hole: "hole (no RAM)"
        case .uninitialised: "uninitialised memmap"
        case .free: "free (buddy)"
        case .pageCache: "page cache"
        case .shmem: "shmem"
        case .anon: "anon"
        case .slab: "slab"
        case .pageTable: "page tables"
        case .zeroPage: "zero page"
        case .reserved: "reserved"
        case .offline: "offline"
        case .hwpoison: "hwpoison"
        case .hugetlb: "hugetlb"
        case .otherCompound: "other compound"
        case .untyped: "untyped kernel"
        }
    }

    /// Memory that holds data or kernel objects, as opposed to holes, free memory and
    /// memmap not initialised yet.
    public var isInUse: Bool {
        switch self {
        case .hole, .uninitialised, .free: false
        default: true
        }
    }

    /// Kinds whose pages belong to folios, which get a folio descriptor in the memdesc
    /// designs (one per folio, whatever its order).
    public var isFolio: Bool {
        switch self {
        case .pageCache, .shmem, .anon, .hugetlb: true
        default: false
        }
    }

    /// Classifies the flags of a pfn that is neither a hole nor uninitialised memmap,
    /// with the quirks of 6.9+ kernels (real-machine-census.md §3, §10): state bits first
    /// (hwpoison, offline, buddy), then page types, whose overlaid `mapping` and
    /// `_mapcount` give junk ANON/KSM/MMAP bits, so SLAB and PGTABLE come before ANON.
    @inline(__always)
    public static func classify(_ flags: UInt64) -> PageKind {
        if flags == 0 { return .untyped }
        // Kernels before the kpage_read() refactor (6.16) report holes as KPF_NOPAGE.
        if flags & KernelPageFlags.nopage.rawValue != 0 { return .hole }
        if flags & KernelPageFlags.hwpoison.rawValue != 0 { return .hwpoison }
        if flags & KernelPageFlags.offline.rawValue != 0 { return .offline }
        if flags & KernelPageFlags.buddy.rawValue != 0 { return .free }
        if flags & KernelPageFlags.huge.rawValue != 0 { return .hugetlb }
        if flags & KernelPageFlags.slab.rawValue != 0 { return .slab }
        if flags & KernelPageFlags.pgtable.rawValue != 0 { return .pageTable }
        if flags & KernelPageFlags.zeroPage.rawValue != 0 { return .zeroPage }
        if flags & KernelPageFlags.reserved.rawValue != 0 { return .reserved }
        if flags & KernelPageFlags.anon.rawValue != 0 { return .anon }
        if flags & KernelPageFlags.swapbacked.rawValue != 0 { return .shmem }
        if flags & pageCacheBits != 0 { return .pageCache }
        if flags & KernelPageFlags.compound.rawValue != 0 { return .otherCompound }
        return .untyped
    }

    /// Bits that only a page-cache (file) folio carries when nothing above matched.
    static let pageCacheBits: UInt64 = KernelPageFlags([
        .locked, .referenced, .uptodate, .dirty, .lru, .active, .writeback, .reclaim, .mmap,
        .swapcache, .unevictable, .thp, .idle, .mlocked, .mappedToDisk, .private, .private2, .ownerPrivate,
    ]).rawValue
}
