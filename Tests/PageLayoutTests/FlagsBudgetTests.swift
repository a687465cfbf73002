import Deflate
import Foundation
import Testing
@testable import PageLayout

private func preset(_ name: String) throws -> KernelConfig { try KernelConfig.preset(name) }

/// `count` made-up page flag names for "what if" budgets.
private func extraFlags(_ count: Int) -> [String] { (1...count).map { "PG_extra_\($0)" } }

@Suite struct FlagsBudgetTests {
    // MARK: The kernel's own configurations (worked in kernel-facts.md §2.7)

    @Test func x86_64DefconfigLeaves34UnusedBits() throws {
        let budget = FlagsBudget(config: try preset("x86_64-defconfig"))
        #expect(budget.bitsPerLong == 64)
        #expect(budget.nrPageflags == 22)           // 20 + PG_mlocked + PG_arch_2 (X86_PAT)
        #expect(budget.flags.last == PageFlag(name: "PG_arch_2", bit: 21, added: false))
        #expect(budget.flags.first { $0.name == "PG_mlocked" }?.bit == 20)
        #expect(budget.flags[6].name == "PG_head" && budget.flags[7].name == "PG_waiters")
        #expect(budget.zones == [.dma, .dma32, .normal, .movable])
        #expect(budget.zonesWidth == 2)
        #expect(budget.sectionsShift == 52 - 27)      // PGTABLE_LEVELS=5: MAX_PHYSMEM_BITS up to 52
        #expect(budget.sectionsWidth == 0)            // vmemmap keeps no section in page->flags
        #expect(budget.nodesShift == 6 && budget.nodesWidth == 6)
        #expect(budget.lastCpupidShift == 0 && budget.lruGenWidth == 0 && budget.lruRefsWidth == 0)
        #expect(budget.nrNonPageflagBits == 8)
        #expect(budget.unusedBits == 34)
        #expect(budget.freeBits == 34)
        #expect(budget.error == nil)
        #expect(!budget.nodeNotInPageFlags && !budget.lastCpupidNotInPageFlags)
        // NODES_PGOFF = 64 - 0 - 6, ZONES_PGOFF = 58 - 2; zero-width fields have PGSHIFT 0.
        #expect(budget.field("SECTIONS") == .init(name: "SECTIONS", width: 0, pgoff: 64))
        #expect(budget.field("NODES")?.pgshift == 58)
        #expect(budget.field("ZONES")?.pgshift == 56)
        #expect(budget.field("ZONES")?.bits == 56...57)
        #expect(budget.field("LAST_CPUPID") == .init(name: "LAST_CPUPID", width: 0, pgoff: 56))
        #expect(budget.field("LAST_CPUPID")?.pgshift == 0)
        #expect(budget.field("LRU_REFS")?.pgoff == 56)
    }

    @Test func i386DefconfigLeaves8UnusedBits() throws {
        let budget = FlagsBudget(config: try preset("i386-defconfig"))
        #expect(budget.bitsPerLong == 32)
        #expect(budget.nrPageflags == 22)
        #expect(budget.zones == [.dma, .normal, .movable])
        #expect(budget.zonesWidth == 2)
        #expect(budget.sectionsShift == 0 && budget.nodesShift == 0)   // FLATMEM, no NUMA
        #expect(budget.nrNonPageflagBits == 2)
        #expect(budget.unusedBits == 8)
        #expect(budget.error == nil)
        #expect(budget.field("ZONES")?.pgshift == 30)
    }

    @Test func otherPresets() throws {
        // 32-bit ARM: 21 flags (no PG_arch_2, no hwpoison), NORMAL HIGHMEM MOVABLE.
        let arm = FlagsBudget(config: try preset("arm-defconfig"))
        #expect(arm.nrPageflags == 21 && arm.zones == [.normal, .highmem, .movable] && arm.unusedBits == 9)
        // arm64: PG_hwpoison, PG_arch_2 and _3 (MTE); NUMA balancing with 512 CPUs: 8 + 9 bits.
        let arm64 = FlagsBudget(config: try preset("arm64-defconfig"))
        #expect(arm64.nrPageflags == 24)
        #expect(arm64.flags.suffix(3).map(\.name) == ["PG_hwpoison", "PG_arch_2", "PG_arch_3"])
        #expect(arm64.nrCpusBits == 9 && arm64.lastCpupidShift == 17 && arm64.lastCpupidWidth == 17)
        #expect(arm64.nodesWidth == 4 && arm64.zonesWidth == 2)
        #expect(arm64.unusedBits == 64 - (4 + 2 + 17 + 24))
        #expect(arm64.field("LAST_CPUPID")?.pgshift == 64 - 4 - 2 - 17)
        // classic sparse on 32-bit PAE: the section number takes 36 - 29 = 7 bits.
        let pae = FlagsBudget(config: try preset("i386-pae"))
        #expect(pae.sectionsWidth == 7 && pae.field("SECTIONS")?.pgshift == 25)
        #expect(pae.zones == [.dma, .normal, .highmem, .movable])
        #expect(pae.unusedBits == 1)
    }

    @Test func distroKernelIsFullToTheLastBit() throws {
        let budget = FlagsBudget(config: try preset("x86_64-distro"))
        // 20 + mlocked + hwpoison + young + idle + arch_2
        #expect(budget.nrPageflags == 25)
        #expect(budget.zones == [.dma, .dma32, .normal, .movable, .device] && budget.zonesWidth == 3)
        #expect(budget.nodesWidth == 10)
        #expect(budget.lruGenWidth == 3 && budget.lruRefsWanted == 2 && budget.lruRefsWidth == 2)
        #expect(budget.nrCpusBits == 13 && budget.lastCpupidShift == 21 && budget.lastCpupidWidth == 21)
        #expect(budget.nrNonPageflagBits == 39)
        #expect(budget.unusedBits == 0 && budget.freeBits == 0)
        // Fields from the top: NODES 54, ZONES 51, LAST_CPUPID 30, LRU_GEN 27, LRU_REFS 25.
        #expect(budget.fields.map(\.pgoff) == [64, 54, 51, 30, 30, 27, 25])
    }

    // MARK: Each branch of page-flags-layout.h

    @Test func lruRefsIsClampedToTheBitsLeft() throws {
        let config = try preset("x86_64-distro")
        let one = try FlagsBudget(config: config, addedFlags: ["PG_dma_pinned"])
        #expect(one.flags.last == PageFlag(name: "PG_dma_pinned", bit: 25, added: true))
        #expect(one.lruRefsWidth == 1 && one.lastCpupidWidth == 21)
        #expect(one.unusedBits == 0 && one.freeBits == 0 && one.error == nil)
        let two = try FlagsBudget(config: config, addedFlags: extraFlags(2))
        #expect(two.lruRefsWidth == 0 && two.lastCpupidWidth == 21 && two.unusedBits == 0)
        let baseline = FlagsBudget(config: config)
        #expect(one.changes(since: baseline).contains { $0.hasPrefix("LRU_REFS_WIDTH 2 -> 1") })
    }

    @Test func lastCpupidMovesOutAndUnusedGoesNegative() throws {
        let config = try preset("x86_64-distro")
        let budget = try FlagsBudget(config: config, addedFlags: extraFlags(3))
        // 3 + 3 + 0 + 10 + 0 + 21 = 37 > 64 - 28: last_cpupid no longer fits.
        #expect(budget.lastCpupidWidth == 0)
        #expect(budget.lastCpupidNotInPageFlags)
        #expect(budget.error == nil)
        #expect(budget.lruRefsWidth == 2)                 // room again once last_cpupid left
        // NR_NON_PAGEFLAG_BITS still counts LAST_CPUPID_SHIFT: 10 + 3 + 21 + 3 + 2 = 39.
        #expect(budget.nrNonPageflagBits == 39)
        #expect(budget.unusedBits == -3)
        #expect(budget.freeBits == 64 - 28 - (10 + 3 + 3 + 2))
        #expect(budget.layoutConfig.lastCpupidNotInPageFlags)
        #expect(!config.layoutConfig.lastCpupidNotInPageFlags)
        // struct page gains int _last_cpupid after memcg_data: 68 bytes, padded to 16: 80.
        #expect(Layouts.structPage(config.layoutConfig).size == 64)
        #expect(Layouts.structPage(budget.layoutConfig).size == 80)
        let changes = budget.changes(since: FlagsBudget(config: config))
        #expect(changes.contains { $0.contains("struct page gains `int _last_cpupid`") })
        #expect(changes.contains("NR_UNUSED_PAGEFLAG_BITS 0 -> -3; bits really free 0 -> 18"))
    }

    @Test func nodeLeavesPageFlagsOnClassicSparse() throws {
        // 32-bit PAE, classic sparse, with NUMA: 2 + 0 + 7 + 3 = 12 > 32 - 22.
        let numa = try preset("i386-pae").setting(["NUMA": .yes, "NODES_SHIFT": .number(3)])
        let budget = FlagsBudget(config: numa)
        #expect(budget.nodesShift == 3 && budget.nodesWidth == 0)
        #expect(budget.nodeNotInPageFlags)
        #expect(budget.error == nil)                      // no vmemmap: section_to_node_table[]
        #expect(budget.unusedBits == 1)
        // With one node bit it still fits: 2 + 7 + 1 = 10.
        let small = FlagsBudget(config: try numa.setting(["NODES_SHIFT": .number(1)]))
        #expect(small.nodesWidth == 1 && !small.nodeNotInPageFlags && small.unusedBits == 0)
        #expect(small.field("NODES")?.pgshift == 24)
        // ... until one more page flag pushes the node out: 2 + 7 + 1 > 32 - 23.
        let pushed = try FlagsBudget(config: small.config, addedFlags: ["PG_dma_pinned"])
        #expect(pushed.nodesWidth == 0 && pushed.nodeNotInPageFlags && pushed.error == nil)
        #expect(pushed.changes(since: small).contains { $0.hasPrefix("the node id moves out of page->flags") })
    }

    @Test func vmemmapBuildError() throws {
        // 25 + 24 flags leave 15 bits; ZONES 3 + LRU_GEN 3 + NODES_SHIFT 10 = 16.
        let budget = try FlagsBudget(config: try preset("x86_64-distro"), addedFlags: extraFlags(24))
        #expect(budget.error == "Vmemmap: No space for nodes field in page flags")
        #expect(budget.nodesWidth == 0 && budget.nodeNotInPageFlags)
        let fewer = try FlagsBudget(config: try preset("x86_64-distro"), addedFlags: extraFlags(23))
        #expect(fewer.error == nil && fewer.nodesWidth == 10 && fewer.lastCpupidNotInPageFlags)
    }

    @Test func notEnoughBitsBuildError() throws {
        // 32-bit classic sparse: SECTIONS 7 + ZONES 2 = 9 > 32 - 24.
        let config = try preset("i386-pae")
        let budget = try FlagsBudget(config: config, addedFlags: ["PG_a", "PG_b"])
        #expect(budget.error == "Not enough bits in page flags")
        #expect(budget.freeBits == -1)
        #expect(budget.changes(since: FlagsBudget(config: config))
            .contains("the kernel no longer builds: #error \"Not enough bits in page flags\""))
        let one = try FlagsBudget(config: config, addedFlags: ["PG_a"])
        #expect(one.error == nil && one.freeBits == 0)
    }

    @Test func kasanTagWidths() throws {
        let arm64 = try preset("arm64-defconfig")
        let sw = FlagsBudget(config: try arm64.setting(["KASAN": .yes, "KASAN_SW_TAGS": .yes]))
        #expect(sw.kasanTagWidth == 8)
        #expect(sw.field("KASAN_TAG") == .init(name: "KASAN_TAG", width: 8, pgoff: 64 - 4 - 2 - 17 - 8))
        #expect(sw.unusedBits == 64 - (4 + 2 + 17 + 8 + 24))
        let hw = FlagsBudget(config: try arm64.setting(["KASAN": .yes, "KASAN_HW_TAGS": .yes]))
        #expect(hw.kasanTagWidth == 4 && hw.unusedBits == 64 - (4 + 2 + 17 + 4 + 24))
        #expect(FlagsBudget(config: try arm64.setting(["KASAN_GENERIC": .yes])).kasanTagWidth == 0)
    }

    @Test func nrCpusBitsAndLastCpupidShift() throws {
        let base = try preset("x86_64-defconfig").setting(["NUMA_BALANCING": .yes])
        #expect(FlagsBudget(config: base).lastCpupidShift == 8 + 6)           // NR_CPUS 64
        let odd = FlagsBudget(config: try base.setting(["NR_CPUS": .number(24)]))
        #expect(odd.nrCpusBits == 5)                                         // order_base_2 rounds up
        let up = FlagsBudget(config: try base.setting(["SMP": .no]))
        #expect(up.nrCpusBits == 0 && up.lastCpupidShift == 8)               // NR_CPUS_BITS undefined
        #expect(FlagsBudget.orderBase2(1) == 0 && FlagsBudget.orderBase2(2) == 1)
        #expect(FlagsBudget.orderBase2(5) == 3 && FlagsBudget.orderBase2(8192) == 13)
    }

    @Test func configDependentFlags() throws {
        let base = try preset("x86_64-defconfig")
        let names = { (config: KernelConfig) in PageFlags.members(of: config).map(\.name) }
        #expect(names(try base.setting(["PAGE_IDLE_FLAG": .yes, "MEMORY_FAILURE": .yes])).suffix(5)
                == ["PG_mlocked", "PG_hwpoison", "PG_young", "PG_idle", "PG_arch_2"])
        // PG_young/PG_idle need 64BIT; without MMU there is no PG_mlocked.
        #expect(!names(try preset("i386-defconfig").setting(["PAGE_IDLE_FLAG": .yes])).contains("PG_idle"))
        #expect(!names(try base.setting(["MMU": .no])).contains("PG_mlocked"))
        // X86_PAT selects ARCH_USES_PG_ARCH_2, ARM64_MTE selects _2 and _3.
        #expect(names(try KernelConfig(text: "CONFIG_X86_64=y\nCONFIG_X86_PAT=y\n", source: "t")).last == "PG_arch_2")
        #expect(names(try KernelConfig(text: "CONFIG_ARM64=y\nCONFIG_ARM64_MTE=y\n", source: "t")).suffix(2)
                == ["PG_arch_2", "PG_arch_3"])
        #expect(names(try KernelConfig(text: "CONFIG_X86_64=y\n", source: "t")).count == 21)
    }

    @Test func addedFlagNamesAreChecked() throws {
        let config = try preset("x86_64-defconfig")
        for bad in ["PG_Dma", "dma_pinned", "PG_", "PG_dma-pinned", "pg_x"] {
            #expect(throws: LayoutError.invalidName(kind: "page flag", name: bad,
                                                    reason: "a page flag is named PG_ followed by lower-case letters, digits or _")) {
                try FlagsBudget(config: config, addedFlags: [bad])
            }
        }
        for existing in ["PG_locked", "PG_readahead", "PG_swapcache", "PG_hwpoison", "PG_arch_3"] {
            #expect(throws: LayoutError.invalidName(kind: "page flag", name: existing, reason: "enum pageflags already has it")) {
                try FlagsBudget(config: config, addedFlags: [existing])
            }
        }
        #expect(throws: LayoutError.invalidName(kind: "page flag", name: "PG_x", reason: "it is given twice")) {
            try FlagsBudget(config: config, addedFlags: ["PG_x", "PG_x"])
        }
    }

    // MARK: The running kernel

    /// The live configuration: whatever machine the tests run on, the kernel was built, so
    /// the headers raised no #error, and the numbers obey the header's identities.
    @Test(.enabled(if: KernelConfig.isReadableFile(KernelConfig.procConfigPath),
                   "/proc/config.gz is not readable here (no CONFIG_IKCONFIG_PROC or no permission)"))
    func liveConfigBuilds() throws {
        let budget = FlagsBudget(config: try KernelConfig.load(path: KernelConfig.procConfigPath))
        #expect(budget.error == nil)
        #expect(budget.unusedBits == budget.bitsPerLong - (budget.nrNonPageflagBits + budget.nrPageflags))
        #expect(budget.freeBits >= 0)
        var name = utsname()
        uname(&name)
        let machine = withUnsafeBytes(of: &name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if machine == "x86_64" { #expect(budget.config.arch == .x86_64) }
        if machine == "aarch64" { #expect(budget.config.arch == .arm64) }
    }

    /// This project's build machine, worked by hand from its /proc/config.gz
    /// ("Linux/x86 6.18.44 Kernel Configuration", CONFIG_NR_CPUS=256, CONFIG_NODES_SHIFT=10):
    /// - enum pageflags: the 20 unconditional members, PG_mlocked (MMU), no PG_hwpoison
    ///   (X86_MCE is off, so MEMORY_FAILURE cannot be set), PG_young and PG_idle
    ///   (PAGE_IDLE_FLAG, 64BIT), PG_arch_2 (ARCH_USES_PG_ARCH_2): NR_PAGEFLAGS = 24.
    /// - zones DMA, DMA32, NORMAL, MOVABLE, DEVICE: MAX_NR_ZONES 5, ZONES_SHIFT 3.
    /// - SPARSEMEM_VMEMMAP: SECTIONS_WIDTH 0. No LRU_GEN: LRU_GEN_WIDTH 0, LRU_REFS_WIDTH 0.
    /// - NODES: 3 + 0 + 0 + 10 <= 64 - 24 = 40, so NODES_WIDTH 10.
    /// - NUMA_BALANCING with NR_CPUS 256: NR_CPUS_BITS = order_base_2(256) = 8,
    ///   LAST_CPUPID_SHIFT 16; 3 + 0 + 0 + 10 + 0 + 16 = 29 <= 40, so LAST_CPUPID_WIDTH 16.
    /// - NR_NON_PAGEFLAG_BITS = 0 + 10 + 3 + 16 + 0 + 0 + 0 = 29;
    ///   NR_UNUSED_PAGEFLAG_BITS = 64 - (29 + 24) = 11.
    /// - PGOFF: SECTIONS 64, NODES 54, ZONES 51, LAST_CPUPID 35, KASAN_TAG/LRU_GEN/LRU_REFS 35.
    @Test(.enabled(if: FlagsBudgetTests.isBuildMachine(), "not this project's build machine (Linux/x86 6.18.44)"))
    func liveConfigMatchesTheKernelHeaders() throws {
        let budget = FlagsBudget(config: try KernelConfig.load(path: KernelConfig.procConfigPath))
        #expect(budget.nrPageflags == 24)
        #expect(budget.flags.suffix(4).map(\.name) == ["PG_mlocked", "PG_young", "PG_idle", "PG_arch_2"])
        #expect(budget.maxNrZones == 5 && budget.zonesWidth == 3)
        #expect(budget.sectionsWidth == 0)
        #expect(budget.nodesShift == 10 && budget.nodesWidth == 10)
        #expect(budget.kasanTagWidth == 0)
        #expect(budget.nrCpusBits == 8 && budget.lastCpupidShift == 16 && budget.lastCpupidWidth == 16)
        #expect(budget.lruGenWidth == 0 && budget.lruRefsWidth == 0)
        #expect(budget.nrNonPageflagBits == 29)
        #expect(budget.unusedBits == 11 && budget.freeBits == 11)
        #expect(!budget.nodeNotInPageFlags && !budget.lastCpupidNotInPageFlags)
        #expect(budget.error == nil)
        #expect(budget.fields.map(\.pgoff) == [64, 54, 51, 35, 35, 35, 35])
        #expect(budget.config.layoutConfig.memcg && !budget.config.layoutConfig.lastCpupidNotInPageFlags)
        #expect(Layouts.structPage(budget.layoutConfig).size == 64)
    }

    /// True on the machine whose configuration `liveConfigMatchesTheKernelHeaders` works by hand.
    static func isBuildMachine() -> Bool {
        guard KernelConfig.isReadableFile(KernelConfig.procConfigPath),
              let bytes = try? KernelConfig.readFile(KernelConfig.procConfigPath),
              let text = try? Zlib.decompress(bytes) else { return false }
        let head = String(decoding: text.prefix(200), as: UTF8.self)
        return head.contains("# Linux/x86 6.18.44 Kernel Configuration")
    }
}
