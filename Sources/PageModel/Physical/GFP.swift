// gfp_t flags and their zone and migratetype selection: include/linux/gfp_types.h,
// include/linux/gfp.h (gfp_zone(), gfp_migratetype()), include/linux/mmzone.h.
import PageLayout

/// Allocation flags with the kernel's bit values (`enum { ___GFP_DMA_BIT, ... }`).
public struct GFP: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let dma = GFP(rawValue: 1 << 0)
    public static let highmem = GFP(rawValue: 1 << 1)
    public static let dma32 = GFP(rawValue: 1 << 2)
    public static let movable = GFP(rawValue: 1 << 3)
    public static let reclaimable = GFP(rawValue: 1 << 4)
    public static let high = GFP(rawValue: 1 << 5)
    public static let io = GFP(rawValue: 1 << 6)
    public static let fs = GFP(rawValue: 1 << 7)
    public static let zero = GFP(rawValue: 1 << 8)
    public static let directReclaim = GFP(rawValue: 1 << 10)
    public static let kswapdReclaim = GFP(rawValue: 1 << 11)
    public static let write = GFP(rawValue: 1 << 12)
    public static let nowarn = GFP(rawValue: 1 << 13)
    public static let retryMayfail = GFP(rawValue: 1 << 14)
    public static let nofail = GFP(rawValue: 1 << 15)
    public static let noretry = GFP(rawValue: 1 << 16)
    public static let memalloc = GFP(rawValue: 1 << 17)
    public static let comp = GFP(rawValue: 1 << 18)
    public static let nomemalloc = GFP(rawValue: 1 << 19)
    public static let hardwall = GFP(rawValue: 1 << 20)
    public static let thisnode = GFP(rawValue: 1 << 21)
    public static let account = GFP(rawValue: 1 << 22)

    /// __GFP_RECLAIM.
    public static let reclaim: GFP = [.directReclaim, .kswapdReclaim]
    /// GFP_ATOMIC = __GFP_HIGH | __GFP_KSWAPD_RECLAIM.
    public static let atomic: GFP = [.high, .kswapdReclaim]
    /// GFP_KERNEL = __GFP_RECLAIM | __GFP_IO | __GFP_FS.
    public static let kernel: GFP = [.reclaim, .io, .fs]
    /// GFP_NOWAIT = __GFP_KSWAPD_RECLAIM | __GFP_NOWARN.
    public static let nowait: GFP = [.kswapdReclaim, .nowarn]
    /// GFP_USER = __GFP_RECLAIM | __GFP_IO | __GFP_FS | __GFP_HARDWALL.
    public static let user: GFP = [.reclaim, .io, .fs, .hardwall]
    /// GFP_HIGHUSER = GFP_USER | __GFP_HIGHMEM.
    public static let highuser: GFP = [.user, .highmem]
    /// GFP_HIGHUSER_MOVABLE = GFP_HIGHUSER | __GFP_MOVABLE (| __GFP_SKIP_KASAN, 0 without
    /// KASAN_HW_TAGS).
    public static let highuserMovable: GFP = [.highuser, .movable]

    public var description: String {
        let names: [(GFP, String)] = [
            (.dma, "__GFP_DMA"), (.highmem, "__GFP_HIGHMEM"), (.dma32, "__GFP_DMA32"), (.movable, "__GFP_MOVABLE"),
            (.reclaimable, "__GFP_RECLAIMABLE"), (.high, "__GFP_HIGH"), (.io, "__GFP_IO"), (.fs, "__GFP_FS"),
            (.zero, "__GFP_ZERO"), (.directReclaim, "__GFP_DIRECT_RECLAIM"), (.kswapdReclaim, "__GFP_KSWAPD_RECLAIM"),
            (.write, "__GFP_WRITE"), (.nowarn, "__GFP_NOWARN"), (.retryMayfail, "__GFP_RETRY_MAYFAIL"),
            (.nofail, "__GFP_NOFAIL"), (.noretry, "__GFP_NORETRY"), (.memalloc, "__GFP_MEMALLOC"), (.comp, "__GFP_COMP"),
            (.nomemalloc, "__GFP_NOMEMALLOC"), (.hardwall, "__GFP_HARDWALL"), (.thisnode, "__GFP_THISNODE"),
            (.account, "__GFP_ACCOUNT"),
        ]
        let set = names.filter { contains($0.0) }.map(\.1)
        return "0x\(String(rawValue, radix: 16))(\(set.joined(separator: "|")))"
    }

    /// Linux: `gfp_zone()` over GFP_ZONE_TABLE: the highest zone type the request may use.
    /// A zone the config lacks falls back to ZONE_NORMAL (OPT_ZONE_DMA & co.). nil for the
    /// combinations GFP_ZONE_BAD marks invalid (the kernel BUGs on them).
    public func highestZone(among zones: [Zone]) -> Zone? {
        let optional = { (zone: Zone) in zones.contains(zone) ? zone : Zone.normal }
        switch (contains(.dma), contains(.highmem), contains(.dma32), contains(.movable)) {
        case (false, false, false, false), (false, false, false, true): return .normal
        case (true, false, false, _): return optional(.dma)
        case (false, true, false, false): return optional(.highmem)
        case (false, false, true, _): return optional(.dma32)
        case (false, true, false, true): return zones.contains(.movable) ? .movable : optional(.highmem)
        default: return nil
        }
    }

    /// Linux: `gfp_migratetype()`.
    public var migratetype: MigrateType {
        if contains(.movable) { return .movable }
        if contains(.reclaimable) { return .reclaimable }
        return .unmovable
    }
}

/// `enum migratetype` [include/linux/mmzone.h].
public enum MigrateType: Int, CaseIterable, Sendable, CustomStringConvertible {
    case unmovable = 0
    case movable = 1
    case reclaimable = 2
    /// MIGRATE_HIGHATOMIC = MIGRATE_PCPTYPES.
    case highatomic = 3
    case cma = 4
    case isolate = 5

    /// MIGRATE_PCPTYPES: the types that have per-cpu lists.
    public static let pcpTypes = 3

    public var description: String {
        switch self {
        case .unmovable: "Unmovable"
        case .movable: "Movable"
        case .reclaimable: "Reclaimable"
        case .highatomic: "HighAtomic"
        case .cma: "CMA"
        case .isolate: "Isolate"
        }
    }

    /// `fallbacks[]` of mm/page_alloc.c: where `__rmqueue_fallback()` steals from.
    var fallbacks: [MigrateType] {
        switch self {
        case .unmovable: [.reclaimable, .movable]
        case .movable: [.reclaimable, .unmovable]
        case .reclaimable: [.unmovable, .movable]
        default: []
        }
    }
}
