// The bit numbers of `enum pageflags` the model uses (include/linux/page-flags.h),
// resolved once per machine from the flags of the kernel config, and the page_type
// values of PGTY_* (page-flags.h:925-955).

/// Bit numbers of the page flags the model sets and tests. -1: the config lacks it.
public struct PageFlagBits: Sendable, Equatable {
    public var locked = -1, writeback = -1, referenced = -1, uptodate = -1, dirty = -1, lru = -1
    public var head = -1, waiters = -1, active = -1, workingset = -1, ownerPriv1 = -1, owner2 = -1
    public var reserved = -1, private1 = -1, private2 = -1, reclaim = -1, swapbacked = -1
    public var unevictable = -1, mlocked = -1, hwpoison = -1
    /// PG_slab: a page flag up to 6.9 (6.6's enum has it); -1 where slabs are a page type.
    public var slab = -1
    /// NR_PAGEFLAGS: flags below this bit are flags; above are node/zone/section fields.
    public var count = 0

    /// PAGE_FLAGS_CHECK_AT_FREE [page-flags.h]: flags a page must not carry when freed.
    public var checkAtFree: UInt64 {
        [lru, locked, private1, private2, writeback, reserved, active, unevictable, mlocked]
            .filter { $0 >= 0 }.reduce(0) { $0 | (1 << UInt64($1)) }
    }

    /// PAGE_FLAGS_CHECK_AT_PREP: every flag bit but PG_hwpoison; cleared when freeing and
    /// required clear when allocating.
    public var checkAtPrep: UInt64 {
        let all: UInt64 = count >= 64 ? ~0 : (1 << UInt64(count)) - 1
        return hwpoison >= 0 ? all & ~(1 << UInt64(hwpoison)) : all
    }

    /// Resolves the bits from `enum pageflags` members given as (name, bit).
    public init(members: [(name: String, bit: Int)]) {
        var bits: [String: Int] = [:]
        for member in members { bits[member.name] = member.bit }
        func bit(_ name: String) -> Int { bits[name] ?? -1 }
        locked = bit("PG_locked"); writeback = bit("PG_writeback"); referenced = bit("PG_referenced")
        uptodate = bit("PG_uptodate"); dirty = bit("PG_dirty"); lru = bit("PG_lru"); head = bit("PG_head")
        waiters = bit("PG_waiters"); active = bit("PG_active"); workingset = bit("PG_workingset")
        ownerPriv1 = bit("PG_owner_priv_1"); owner2 = bit("PG_owner_2"); reserved = bit("PG_reserved")
        private1 = bit("PG_private"); private2 = bit("PG_private_2"); reclaim = bit("PG_reclaim")
        swapbacked = bit("PG_swapbacked"); unevictable = bit("PG_unevictable"); mlocked = bit("PG_mlocked")
        hwpoison = bit("PG_hwpoison"); slab = bit("PG_slab")
        count = members.count
    }
}

/// `enum pagetype`: the top byte of page_type for typed pages [page-flags.h:925-955].
public enum PageType: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case buddy = 0xf0
    case offline = 0xf1
    case table = 0xf2
    case guardPage = 0xf3
    case hugetlb = 0xf4
    case slab = 0xf5
    case zsmalloc = 0xf6
    case unaccepted = 0xf7
    case largeKmalloc = 0xf8
    case mapcountUnderflow = 0xff

    public var description: String {
        switch self {
        case .buddy: "buddy"
        case .offline: "offline"
        case .table: "table"
        case .guardPage: "guard"
        case .hugetlb: "hugetlb"
        case .slab: "slab"
        case .zsmalloc: "zsmalloc"
        case .unaccepted: "unaccepted"
        case .largeKmalloc: "large_kmalloc"
        case .mapcountUnderflow: "mapcount_underflow"
        }
    }

    /// `page_type_has_type()`: compared as an `int`, a value below
    /// `PGTY_mapcount_underflow << 24` is a type; -1 and positive values are mapcounts.
    public static func hasType(_ pageType: UInt32) -> Bool {
        Int32(bitPattern: pageType) < Int32(bitPattern: 0xff00_0000)
    }
}

/// page_type before the PGTY_* top byte (6.6 include/linux/page-flags.h): the word is -1
/// (an unmapped _mapcount) with one type bit cleared, under PAGE_TYPE_BASE 0xf0000000.
public enum PageTypeBase {
    public static let base: UInt32 = 0xf000_0000
    /// PG_buddy 0x80, PG_offline 0x100, PG_table 0x200, PG_guard 0x400; 6.6 has no
    /// hugetlb, slab, zsmalloc or unaccepted page type.
    public static func bit(_ type: PageType) -> UInt32? {
        switch type {
        case .buddy: 0x80
        case .offline: 0x100
        case .table: 0x200
        case .guardPage: 0x400
        default: nil
        }
    }

    /// `PageBuddy()` and friends: `(page_type & (PAGE_TYPE_BASE | PG_x)) == PAGE_TYPE_BASE`.
    @inline(__always)
    public static func test(_ pageType: UInt32, _ type: PageType) -> Bool {
        guard let bit = bit(type) else { return false }
        return pageType & (base | bit) == base
    }

    /// The type `test` finds (no array or closure: the buddy allocator asks per page).
    public static func type(of pageType: UInt32) -> PageType? {
        if test(pageType, .buddy) { return .buddy }
        if test(pageType, .offline) { return .offline }
        if test(pageType, .table) { return .table }
        if test(pageType, .guardPage) { return .guardPage }
        return nil
    }

    /// `page_has_type()` of 6.6: `(int)page->page_type < PAGE_MAPCOUNT_RESERVE` (-128).
    public static func hasType(_ pageType: UInt32) -> Bool { Int32(bitPattern: pageType) < -128 }
}
