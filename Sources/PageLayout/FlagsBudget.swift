// Mirrors include/linux/page-flags-layout.h (v6.19), the *_PGOFF/*_PGSHIFT macros of
// include/linux/mm.h and kernel/bounds.c: how the bits of page->flags are shared between
// the page flags (low bits) and the section, node, zone, last_cpupid, KASAN tag and
// multi-gen LRU fields (high bits).

/// The page->flags bit budget of one kernel configuration, optionally with "what if"
/// page flags appended to `enum pageflags`.
///
/// Every number is computed the way the kernel's preprocessor computes it, including its
/// quirks: NR_NON_PAGEFLAG_BITS counts LAST_CPUPID_SHIFT even when last_cpupid is not in
/// page->flags, so NR_UNUSED_PAGEFLAG_BITS can be negative; `freeBits` is what is really
/// left. Where the kernel's build stops with `#error`, `error` holds its text and the
/// remaining numbers are those of the `#else` branch, so they can still be shown.
public struct FlagsBudget: Sendable, Equatable {
    /// One field in the high bits of page->flags (`| SECTION | NODE | ZONE | LAST_CPUPID |
    /// KASAN_TAG | LRU_GEN | LRU_REFS | ... | FLAGS |`).
    public struct Field: Sendable, Equatable, Codable {
        /// The kernel's macro prefix: SECTIONS, NODES, ZONES, LAST_CPUPID, KASAN_TAG,
        /// LRU_GEN, LRU_REFS (as in SECTIONS_WIDTH, SECTIONS_PGOFF).
        public let name: String
        /// `<name>_WIDTH`.
        public let width: Int
        /// `<name>_PGOFF`: the previous field's PGOFF minus this width, starting from
        /// BITS_PER_LONG.
        public let pgoff: Int

        /// `<name>_PGSHIFT = <name>_PGOFF * (<name>_WIDTH != 0)`.
        public var pgshift: Int { width != 0 ? pgoff : 0 }
        /// The bits it occupies, high to low; nil when its width is 0.
        public var bits: ClosedRange<Int>? { width > 0 ? pgoff...(pgoff + width - 1) : nil }
    }

    // Constants of include/linux/mmzone.h (MAX_NR_GENS, MAX_NR_TIERS) and
    // include/linux/page-flags-layout.h (LAST__PID_SHIFT).
    public static let maxNrGens = 4
    public static let maxNrTiers = 4
    public static let lastPidShift = 8

    /// The configuration the budget is for.
    public let config: KernelConfig
    /// "What if" flags, appended after the last flag of `enum pageflags`.
    public let addedFlags: [String]
    /// `enum pageflags` of this configuration plus the added flags, with bit numbers.
    public let flags: [PageFlag]
    /// `enum zone_type` of this configuration.
    public let zones: [Zone]

    /// BITS_PER_LONG.
    public let bitsPerLong: Int
    /// SECTIONS_SHIFT = MAX_PHYSMEM_BITS − SECTION_SIZE_BITS with SPARSEMEM, else 0.
    public let sectionsShift: Int
    public let sectionsWidth: Int
    public let zonesShift: Int
    /// NODES_SHIFT = CONFIG_NODES_SHIFT, or 0 without NUMA [include/linux/numa.h].
    public let nodesShift: Int
    public let nodesWidth: Int
    public let kasanTagWidth: Int
    /// NR_CPUS_BITS = order_base_2(CONFIG_NR_CPUS) with SMP [kernel/bounds.c].
    public let nrCpusBits: Int
    /// LAST_CPUPID_SHIFT = LAST__PID_SHIFT + NR_CPUS_BITS with NUMA_BALANCING, else 0.
    public let lastCpupidShift: Int
    public let lastCpupidWidth: Int
    /// LRU_GEN_WIDTH = order_base_2(MAX_NR_GENS + 1) with LRU_GEN [kernel/bounds.c].
    public let lruGenWidth: Int
    /// __LRU_REFS_WIDTH = MAX_NR_TIERS − 2 with LRU_GEN [kernel/bounds.c], before clamping.
    public let lruRefsWanted: Int
    /// LRU_REFS_WIDTH = min(__LRU_REFS_WIDTH, the bits left after the fields above it).
    public let lruRefsWidth: Int
    public let nodeNotInPageFlags: Bool
    public let lastCpupidNotInPageFlags: Bool
    /// The text of the kernel's `#error`, when this configuration does not build.
    public let error: String?

    /// NR_PAGEFLAGS (`__NR_PAGEFLAGS` via kernel/bounds.c).
    public var nrPageflags: Int { flags.count }
    /// MAX_NR_ZONES (`__MAX_NR_ZONES` via kernel/bounds.c).
    public var maxNrZones: Int { zones.count }
    /// ZONES_WIDTH = ZONES_SHIFT.
    public var zonesWidth: Int { zonesShift }

    /// NR_NON_PAGEFLAG_BITS: SECTIONS_WIDTH + NODES_WIDTH + ZONES_WIDTH + LAST_CPUPID_SHIFT +
    /// KASAN_TAG_WIDTH + LRU_GEN_WIDTH + LRU_REFS_WIDTH. Note LAST_CPUPID_*SHIFT*.
    public var nrNonPageflagBits: Int {
        sectionsWidth + nodesWidth + zonesWidth + lastCpupidShift + kasanTagWidth + lruGenWidth + lruRefsWidth
    }

    /// NR_UNUSED_PAGEFLAG_BITS = BITS_PER_LONG − (NR_NON_PAGEFLAG_BITS + NR_PAGEFLAGS), exactly
    /// as the kernel computes it (memory allocation profiling keeps its tag index there).
    public var unusedBits: Int { bitsPerLong - (nrNonPageflagBits + nrPageflags) }

    /// The bits really free: BITS_PER_LONG minus the page flags and the widths of the fields
    /// actually in page->flags. Differs from `unusedBits` when last_cpupid is not in
    /// page->flags; negative only when the configuration does not build (a width the
    /// kernel's min() makes negative then counts as 0).
    public var freeBits: Int { bitsPerLong - nrPageflags - fields.reduce(0) { $0 + max(0, $1.width) } }

    /// The fields from the top bit down, with their PGOFF.
    public var fields: [Field] {
        var offset = bitsPerLong
        return [("SECTIONS", sectionsWidth), ("NODES", nodesWidth), ("ZONES", zonesWidth),
                ("LAST_CPUPID", lastCpupidWidth), ("KASAN_TAG", kasanTagWidth),
                ("LRU_GEN", lruGenWidth), ("LRU_REFS", lruRefsWidth)].map { name, width in
            offset -= width
            return Field(name: name, width: width, pgoff: offset)
        }
    }

    /// The field named `name` (SECTIONS, NODES, ...).
    public func field(_ name: String) -> Field? { fields.first { $0.name == name } }

    /// The descriptor-layout inputs of this "what if" world: the configuration's, with
    /// `_last_cpupid` in struct page when it no longer fits in page->flags.
    public var layoutConfig: LayoutConfig {
        var layout = config.layoutConfig
        layout.lastCpupidNotInPageFlags = lastCpupidNotInPageFlags
        return layout
    }

    /// The budget of `config` with `addedFlags` appended to `enum pageflags`. Throws
    /// `.invalidName` for a malformed, already defined or repeated flag name.
    public init(config: KernelConfig, addedFlags: [String]) throws(LayoutError) {
        try PageFlags.validateAdded(addedFlags)
        self.init(config: config, validatedFlags: addedFlags)
    }

    /// The budget of `config` as it is.
    public init(config: KernelConfig) {
        self.init(config: config, validatedFlags: [])
    }

    private init(config: KernelConfig, validatedFlags added: [String]) {
        self.config = config
        self.addedFlags = added
        let members = PageFlags.members(of: config)
        flags = members + added.enumerated().map { PageFlag(name: $1, bit: members.count + $0, added: true) }
        zones = Zone.zones(of: config)
        bitsPerLong = config.bitsPerLong
        let available = bitsPerLong - members.count - added.count   // BITS_PER_LONG - NR_PAGEFLAGS
        var error: String?

        // ZONES_SHIFT from MAX_NR_ZONES.
        switch zones.count {
        case ..<2: zonesShift = 0
        case 2: zonesShift = 1
        case 3...4: zonesShift = 2
        default: zonesShift = 3   // enum zone_type has at most 6 members
        }

        let sparse = config.memoryModel != .flatmem
        let vmemmap = config.memoryModel == .sparsememVmemmap
        sectionsShift = sparse ? config.maxPhysmemBits - config.sectionSizeBits : 0
        sectionsWidth = sparse && !vmemmap ? sectionsShift : 0

        // Rules that changed between versions (PageFlagsHistory.swift).
        let rules = PageFlagsLayoutRules(config.kernel)
        let lruGen = rules.hasLRUGen && config.isEnabled("LRU_GEN")
        lruGenWidth = lruGen ? Self.orderBase2(Self.maxNrGens + 1) : 0
        lruRefsWanted = lruGen ? Self.maxNrTiers - 2 : 0

        nodesShift = config.number("NODES_SHIFT") ?? 0
        if zonesShift + lruGenWidth + sectionsWidth + nodesShift <= available {
            nodesWidth = nodesShift
        } else {
            if vmemmap { error = "Vmemmap: No space for nodes field in page flags" }
            nodesWidth = 0
        }
        nodeNotInPageFlags = nodesShift != 0 && nodesWidth == 0

        kasanTagWidth = config.isEnabled("KASAN_SW_TAGS") ? 8
            : config.isEnabled("KASAN_HW_TAGS") ? rules.kasanHWTagWidth : 0

        // NR_CPUS_BITS is only defined with SMP; an undefined macro is 0 in #if.
        let nrCpus = config.number("NR_CPUS") ?? 1
        nrCpusBits = !config.isEnabled("SMP") ? 0
            : rules.nrCpusBitsRoundsUp ? Self.orderBase2(nrCpus)
            : Int.bitWidth - 1 - max(1, nrCpus).leadingZeroBitCount   // ilog2() [include/linux/log2.h]
        lastCpupidShift = config.isEnabled("NUMA_BALANCING") ? Self.lastPidShift + nrCpusBits : 0
        let aboveCpupid = zonesShift + lruGenWidth + sectionsWidth + nodesWidth + kasanTagWidth
        lastCpupidWidth = aboveCpupid + lastCpupidShift <= available ? lastCpupidShift : 0
        lastCpupidNotInPageFlags = lastCpupidShift != 0 && lastCpupidWidth == 0

        if error == nil, aboveCpupid + lastCpupidWidth > available {
            error = "Not enough bits in page flags"
        }
        lruRefsWidth = min(lruRefsWanted, available - aboveCpupid - lastCpupidWidth)
        self.error = error
    }

    /// order_base_2(n) [include/linux/log2.h]: ceil(log2(n)), 0 for n <= 1.
    public static func orderBase2(_ n: Int) -> Int {
        n <= 1 ? 0 : Int.bitWidth - (n - 1).leadingZeroBitCount
    }
}
