// Mirrors include/uapi/linux/kernel-page-flags.h and the kernel-internal bits of
// fs/proc/page.c (KPF_RESERVED ... KPF_ARCH_3): one bit per flag in /proc/kpageflags.

/// The flags of one pfn as /proc/kpageflags reports them (8 bytes per pfn).
public struct KernelPageFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    private init(bit: UInt64) { rawValue = 1 << bit }

    public static let locked = KernelPageFlags(bit: 0)
    public static let error = KernelPageFlags(bit: 1)
    public static let referenced = KernelPageFlags(bit: 2)
    public static let uptodate = KernelPageFlags(bit: 3)
    public static let dirty = KernelPageFlags(bit: 4)
    public static let lru = KernelPageFlags(bit: 5)
    public static let active = KernelPageFlags(bit: 6)
    public static let slab = KernelPageFlags(bit: 7)
    public static let writeback = KernelPageFlags(bit: 8)
    public static let reclaim = KernelPageFlags(bit: 9)
    public static let buddy = KernelPageFlags(bit: 10)
    public static let mmap = KernelPageFlags(bit: 11)
    public static let anon = KernelPageFlags(bit: 12)
    public static let swapcache = KernelPageFlags(bit: 13)
    public static let swapbacked = KernelPageFlags(bit: 14)
    public static let compoundHead = KernelPageFlags(bit: 15)
    public static let compoundTail = KernelPageFlags(bit: 16)
    public static let huge = KernelPageFlags(bit: 17)
    public static let unevictable = KernelPageFlags(bit: 18)
    public static let hwpoison = KernelPageFlags(bit: 19)
    public static let nopage = KernelPageFlags(bit: 20)
    public static let ksm = KernelPageFlags(bit: 21)
    public static let thp = KernelPageFlags(bit: 22)
    public static let offline = KernelPageFlags(bit: 23)
    public static let zeroPage = KernelPageFlags(bit: 24)
    public static let idle = KernelPageFlags(bit: 25)
    public static let pgtable = KernelPageFlags(bit: 26)

    // Kernel-internal bits, exported raw (fs/proc/page.c, include/linux/kernel-page-flags.h).
    public static let reserved = KernelPageFlags(bit: 32)
    public static let mlocked = KernelPageFlags(bit: 33)
    public static let mappedToDisk = KernelPageFlags(bit: 34)
    public static let `private` = KernelPageFlags(bit: 35)
    public static let private2 = KernelPageFlags(bit: 36)
    public static let ownerPrivate = KernelPageFlags(bit: 37)
    public static let arch = KernelPageFlags(bit: 38)
    public static let uncached = KernelPageFlags(bit: 39)
    public static let softdirty = KernelPageFlags(bit: 40)
    public static let arch2 = KernelPageFlags(bit: 41)
    public static let arch3 = KernelPageFlags(bit: 42)
}

extension KernelPageFlags {
    // The bits tools/mm/page-types.c adds itself ("take some arbitrary free slots for
    // expanding overloaded flags, not part of kernel API"); the kernel never writes them.
    public static let anonExclusive = KernelPageFlags(rawValue: 1 << 47)
    public static let readahead = KernelPageFlags(rawValue: 1 << 48)
    public static let slubFrozen = KernelPageFlags(rawValue: 1 << 50)
    public static let slubDebug = KernelPageFlags(rawValue: 1 << 51)
    public static let file = KernelPageFlags(rawValue: 1 << 61)
    public static let swap = KernelPageFlags(rawValue: 1 << 62)
    public static let mmapExclusive = KernelPageFlags(rawValue: 1 << 63)

    /// `KPF_HACKERS_BITS` of page-types.c: bits 32-47, shown only in raw mode.
    public static let hackersBits = KernelPageFlags(rawValue: 0xffff << 32)
    /// `KPF_OVERLOADED_BITS` of page-types.c: bits 48-63.
    public static let overloadedBits = KernelPageFlags(rawValue: 0xffff << 48)
    /// `BITS_COMPOUND` of page-types.c.
    public static let compound: KernelPageFlags = [.compoundHead, .compoundTail]

    /// One named bit: `page_flag_names[]` of tools/mm/page-types.c, "S:slab" split into
    /// the one-letter symbol and the long name.
    public struct Name: Sendable, Equatable {
        public let bit: Int
        public let symbol: Character
        public let name: String
    }

    /// Every bit page-types names, in bit order (its `page_flag_names[]`, with the
    /// same letters, so that symbolic flags read the same). Bit 42 (KPF_ARCH_3) is not
    /// in page-types' table.
    public static let names: [Name] = [
        (0, "L", "locked"), (1, "E", "error"), (2, "R", "referenced"), (3, "U", "uptodate"),
        (4, "D", "dirty"), (5, "l", "lru"), (6, "A", "active"), (7, "S", "slab"),
        (8, "W", "writeback"), (9, "I", "reclaim"), (10, "B", "buddy"), (11, "M", "mmap"),
        (12, "a", "anonymous"), (13, "s", "swapcache"), (14, "b", "swapbacked"),
        (15, "H", "compound_head"), (16, "T", "compound_tail"), (17, "G", "huge"),
        (18, "u", "unevictable"), (19, "X", "hwpoison"), (20, "n", "nopage"), (21, "x", "ksm"),
        (22, "t", "thp"), (23, "o", "offline"), (24, "z", "zero_page"), (25, "i", "idle_page"),
        (26, "g", "pgtable"),
        (32, "r", "reserved"), (33, "m", "mlocked"), (34, "d", "owner_2"), (35, "P", "private"),
        (36, "p", "private_2"), (37, "O", "owner_private"), (38, "h", "arch"), (39, "c", "uncached"),
        (40, "f", "softdirty"), (41, "H", "arch_2"),
        (47, "d", "anon_exclusive"), (48, "I", "readahead"), (50, "A", "slub_frozen"),
        (51, "E", "slub_debug"), (61, "F", "file"), (62, "w", "swap"), (63, "1", "mmap_exclusive"),
    ].map { Name(bit: $0.0, symbol: $0.1, name: $0.2) }

    /// page-types' `page_flag_name()`: one character per named bit, `_` where clear.
    public var symbolicName: String {
        String(Self.names.map { rawValue & (1 << UInt64($0.bit)) != 0 ? $0.symbol : "_" })
    }

    /// page-types' `page_flag_longname()`: the names of the set bits, comma-separated.
    public var longName: String {
        Self.names.filter { rawValue & (1 << UInt64($0.bit)) != 0 }.map(\.name).joined(separator: ",")
    }

    /// page-types' `well_known_flags()` (its default mode): hides the kernel-hacker bits
    /// and the compound bits of pages that are not hugetlb.
    public var wellKnown: KernelPageFlags {
        var flags = subtracting(.hackersBits)
        if !flags.isDisjoint(with: .compound) && !flags.contains(.huge) { flags.subtract(.compound) }
        return flags
    }

    /// page-types' `expand_overloaded_flags()` (raw mode, no pagemap entry).
    public var expandedOverloaded: KernelPageFlags {
        var flags = self
        if flags.contains(.anon) && flags.contains(.mappedToDisk) {
            flags.formSymmetricDifference([.mappedToDisk, .anonExclusive])
        }
        if flags.contains(.slab) {
            if flags.contains(.active) { flags.formSymmetricDifference([.active, .slubFrozen]) }
            if flags.contains(.error) { flags.formSymmetricDifference([.error, .slubDebug]) }
        }
        if flags.intersection([.reclaim, .writeback]) == .reclaim {
            flags.formSymmetricDifference([.reclaim, .readahead])
        }
        return flags
    }
}
