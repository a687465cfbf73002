// Mirrors `enum pageflags` of include/linux/page-flags.h (v6.19, lines 93-130) and
// `enum zone_type` of include/linux/mmzone.h (v6.19, lines 786-870): which members a
// configuration has, and so NR_PAGEFLAGS and MAX_NR_ZONES (kernel/bounds.c).

/// One member of `enum pageflags` with its bit number in page->flags.
public struct PageFlag: Sendable, Equatable, Codable, CustomStringConvertible {
    /// The kernel's name, `PG_locked` etc.
    public let name: String
    /// The bit number: the enumerator's value.
    public let bit: Int
    /// True for a flag added by "what if" (`--add-flag`), not in v6.19.
    public let added: Bool

    public var description: String { "\(name)=\(bit)" }
}

public enum PageFlags {
    /// The members every configuration has, in enum order (bits 0-19).
    static let unconditional = [
        "PG_locked", "PG_writeback", "PG_referenced", "PG_uptodate", "PG_dirty", "PG_lru",
        "PG_head",       // must be bit 6
        "PG_waiters",    // must be bit 7, in the same byte as PG_locked
        "PG_active", "PG_workingset", "PG_owner_priv_1", "PG_owner_2", "PG_arch_1",
        "PG_reserved", "PG_private", "PG_private_2", "PG_reclaim", "PG_swapbacked",
        "PG_unevictable", "PG_dropbehind",
    ]

    /// The other names `enum pageflags` defines: the config-dependent members and the aliases
    /// after `__NR_PAGEFLAGS` (PG_readahead = PG_reclaim, PG_swapcache = PG_owner_priv_1, ...).
    /// A "what if" flag may not reuse any of them: the enum would not compile.
    static let otherNames: Set<String> = [
        "PG_mlocked", "PG_hwpoison", "PG_young", "PG_idle", "PG_arch_2", "PG_arch_3",
        "PG_readahead", "PG_swapcache", "PG_checked", "PG_anon_exclusive", "PG_mappedtodisk",
        "PG_fscache", "PG_pinned", "PG_savepinned", "PG_foreign", "PG_xen_remapped",
        "PG_movable_ops_isolated", "PG_movable_ops", "PG_reported", "PG_vmemmap_self_hosted",
        "PG_has_hwpoisoned", "PG_large_rmappable", "PG_partially_mapped",
    ]

    /// `enum pageflags` of `config`, each member with its bit: the 20 unconditional members,
    /// then PG_mlocked (CONFIG_MMU), PG_hwpoison (CONFIG_MEMORY_FAILURE), PG_young and PG_idle
    /// (CONFIG_PAGE_IDLE_FLAG && CONFIG_64BIT; on 32-bit they live in page_ext), PG_arch_2
    /// (CONFIG_ARCH_USES_PG_ARCH_2: arm64 with MTE, x86 with X86_PAT), PG_arch_3
    /// (CONFIG_ARCH_USES_PG_ARCH_3: arm64 with MTE). Its count is NR_PAGEFLAGS.
    /// For an older `config.kernel`, that version's enum (PageFlagsHistory.swift).
    public static func members(of config: KernelConfig) -> [PageFlag] {
        if let older = names(of: config, version: config.kernel) {
            return older.enumerated().map { PageFlag(name: $1, bit: $0, added: false) }
        }
        var names = unconditional
        // MMU is def_bool y on every arch PageLab knows; only an explicit "is not set" drops it.
        if config["MMU"] != .no { names.append("PG_mlocked") }
        if config.isEnabled("MEMORY_FAILURE") { names.append("PG_hwpoison") }
        if config.isEnabled("PAGE_IDLE_FLAG") && config.bitsPerLong == 64 {
            names += ["PG_young", "PG_idle"]
        }
        // A resolved .config lists the selected symbol; a hand-written one may only name
        // the option that selects it (arch/x86/Kconfig X86_PAT, arch/arm64/Kconfig ARM64_MTE).
        let mte = config.arch == .arm64 && config.isEnabled("ARM64_MTE")
        let pat = (config.arch == .x86_64 || config.arch == .i386 || config.arch == .i386PAE)
            && config.isEnabled("X86_PAT")
        if config.isEnabled("ARCH_USES_PG_ARCH_2") || mte || pat { names.append("PG_arch_2") }
        if config.isEnabled("ARCH_USES_PG_ARCH_3") || mte { names.append("PG_arch_3") }
        return names.enumerated().map { PageFlag(name: $1, bit: $0, added: false) }
    }

    /// Checks the names of "what if" flags: each must look like a kernel page flag
    /// (`PG_[a-z0-9_]+`), must not be a name `enum pageflags` already defines, and must not
    /// be given twice.
    public static func validateAdded(_ names: [String]) throws(LayoutError) {
        var seen: Set<String> = []
        for name in names {
            let body = name.hasPrefix("PG_") ? name.dropFirst(3) : ""
            guard !body.isEmpty, body.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f }) else {
                throw .invalidName(kind: "page flag", name: name,
                                   reason: "a page flag is named PG_ followed by lower-case letters, digits or _")
            }
            guard !unconditional.contains(name), !otherNames.contains(name) else {
                throw .invalidName(kind: "page flag", name: name, reason: "enum pageflags already has it")
            }
            guard seen.insert(name).inserted else {
                throw .invalidName(kind: "page flag", name: name, reason: "it is given twice")
            }
        }
    }
}

/// `enum zone_type` [include/linux/mmzone.h]: the zones a configuration has, in order.
public enum Zone: String, Sendable, Equatable, Codable, CaseIterable {
    case dma = "DMA"
    case dma32 = "DMA32"
    case normal = "NORMAL"
    case highmem = "HIGHMEM"
    case movable = "MOVABLE"
    case device = "DEVICE"

    /// ZONE_DMA (CONFIG_ZONE_DMA), ZONE_DMA32 (CONFIG_ZONE_DMA32), ZONE_NORMAL,
    /// ZONE_HIGHMEM (CONFIG_HIGHMEM), ZONE_MOVABLE, ZONE_DEVICE (CONFIG_ZONE_DEVICE).
    /// The count is MAX_NR_ZONES.
    public static func zones(of config: KernelConfig) -> [Zone] {
        var zones: [Zone] = []
        if config.isEnabled("ZONE_DMA") { zones.append(.dma) }
        if config.isEnabled("ZONE_DMA32") { zones.append(.dma32) }
        zones.append(.normal)
        // x86_32 spells it HIGHMEM4G (which selects HIGHMEM); accept either.
        if config.isEnabled("HIGHMEM") || config.isEnabled("HIGHMEM4G") { zones.append(.highmem) }
        zones.append(.movable)
        if config.isEnabled("ZONE_DEVICE") { zones.append(.device) }
        return zones
    }
}
