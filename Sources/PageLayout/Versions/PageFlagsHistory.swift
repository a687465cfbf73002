// `enum pageflags` (include/linux/page-flags.h) and the page-flags-layout.h /
// kernel/bounds.c rules of each kernel version PageLab knows, read from that version's
// source:
//   5.15: linux-5.15.y (5.15.135) include/linux/page-flags.h:103-145,
//         include/linux/page-flags-layout.h, kernel/bounds.c
//   6.1:  Debian 12's linux-headers-6.1.0-47-common (6.1.170) include/linux/page-flags.h:100-141,
//         include/linux/page-flags-layout.h; its generated include/generated/bounds.h
//   6.6:  linux-6.6.y (6.6.57) include/linux/page-flags.h:100-139
//   6.12: linux-6.12.y (6.12.63) include/linux/page-flags.h:93-129
//   6.18: linux-6.18.y (6.18.35) include/linux/page-flags.h:93-130 (the same enum as v6.19)
//   6.19: v6.19 include/linux/page-flags.h:93-130 (PageFlags.swift)

/// The rules of include/linux/page-flags-layout.h and kernel/bounds.c that changed
/// between the versions PageLab knows.
public struct PageFlagsLayoutRules: Sendable, Equatable {
    /// KASAN_TAG_WIDTH with CONFIG_KASAN_HW_TAGS: 8 (`SW_TAGS || HW_TAGS`) before 6.18, 4 since.
    public let kasanHWTagWidth: Int
    /// Whether the multi-gen LRU's LRU_GEN_WIDTH/LRU_REFS_WIDTH fields exist (MGLRU, 6.1).
    public let hasLRUGen: Bool
    /// NR_CPUS_BITS is `order_base_2(CONFIG_NR_CPUS)` (rounds up); 5.15 has `ilog2()`.
    public let nrCpusBitsRoundsUp: Bool
    /// Whether the header defines NR_UNUSED_PAGEFLAG_BITS (6.18 and later).
    public let definesUnusedBits: Bool

    public init(_ version: KernelVersion) {
        kasanHWTagWidth = version >= .v6_18 ? 4 : 8
        hasLRUGen = version >= .v6_1
        nrCpusBitsRoundsUp = version >= .v6_1
        definesUnusedBits = version >= .v6_18
    }
}

extension PageFlags {
    /// The names of `enum pageflags` of `config` in kernel `version`, in enum order; nil
    /// for the versions whose enum is v6.19's (6.18, 6.19).
    static func names(of config: KernelConfig, version: KernelVersion) -> [String]? {
        let mmu = config["MMU"] != .no
        let idle = config.isEnabled("PAGE_IDLE_FLAG") && config.bitsPerLong == 64
        let x86 = config.arch == .x86_64 || config.arch == .i386 || config.arch == .i386PAE
        let mte = config.arch == .arm64 && config.isEnabled("ARM64_MTE")
        // The config-dependent members after PG_unevictable, in the order every version
        // has them: PG_mlocked, PG_uncached (until 6.12 removed it), PG_hwpoison, PG_young
        // and PG_idle. arch/x86/Kconfig: ARCH_USES_PG_UNCACHED is def_bool y on X86_PAT.
        func common(uncached: Bool) -> [String] {
            var names: [String] = mmu ? ["PG_mlocked"] : []
            if uncached, config.isEnabled("ARCH_USES_PG_UNCACHED") || (x86 && config.isEnabled("X86_PAT")) {
                names.append("PG_uncached")
            }
            if config.isEnabled("MEMORY_FAILURE") { names.append("PG_hwpoison") }
            if idle { names += ["PG_young", "PG_idle"] }
            return names
        }
        var names: [String]
        switch version {
        case .v5_15, .v6_1:
            // 5.15 and 6.1 share the enum: PG_error and PG_slab are flags, PG_head is bit 16.
            names = ["PG_locked", "PG_referenced", "PG_uptodate", "PG_dirty", "PG_lru", "PG_active",
                     "PG_workingset", "PG_waiters", "PG_error", "PG_slab", "PG_owner_priv_1", "PG_arch_1",
                     "PG_reserved", "PG_private", "PG_private_2", "PG_writeback", "PG_head",
                     "PG_mappedtodisk", "PG_reclaim", "PG_swapbacked", "PG_unevictable"]
            names += common(uncached: true)
            if config.bitsPerLong == 64 { names.append("PG_arch_2") }   // #ifdef CONFIG_64BIT
            if config.isEnabled("KASAN_HW_TAGS") { names.append("PG_skip_kasan_poison") }
        case .v6_6:
            // PG_writeback, PG_head and PG_waiters moved into the first byte (6.3-6.5).
            names = ["PG_locked", "PG_writeback", "PG_referenced", "PG_uptodate", "PG_dirty", "PG_lru",
                     "PG_head", "PG_waiters", "PG_active", "PG_workingset", "PG_error", "PG_slab",
                     "PG_owner_priv_1", "PG_arch_1", "PG_reserved", "PG_private", "PG_private_2",
                     "PG_mappedtodisk", "PG_reclaim", "PG_swapbacked", "PG_unevictable"]
            names += common(uncached: true)
            // ARCH_USES_PG_ARCH_X: selected by arm64's ARM64_MTE only.
            if config.isEnabled("ARCH_USES_PG_ARCH_X") || mte { names += ["PG_arch_2", "PG_arch_3"] }
        case .v6_12:
            // PG_error, PG_slab, PG_mappedtodisk and PG_uncached are gone; PG_owner_2 is new.
            names = ["PG_locked", "PG_writeback", "PG_referenced", "PG_uptodate", "PG_dirty", "PG_lru",
                     "PG_head", "PG_waiters", "PG_active", "PG_workingset", "PG_owner_priv_1", "PG_owner_2",
                     "PG_arch_1", "PG_reserved", "PG_private", "PG_private_2", "PG_reclaim",
                     "PG_swapbacked", "PG_unevictable"]
            names += common(uncached: false)
            let pat = x86 && config.isEnabled("X86_PAT")
            if config.isEnabled("ARCH_USES_PG_ARCH_2") || mte || pat { names.append("PG_arch_2") }
            if config.isEnabled("ARCH_USES_PG_ARCH_3") || mte { names.append("PG_arch_3") }
        default:
            // 6.18 has v6.19's enum (PG_dropbehind arrived in 6.14).
            return nil
        }
        return names
    }
}
