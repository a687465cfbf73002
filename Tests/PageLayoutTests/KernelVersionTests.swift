import Testing
@testable import PageLayout
import TestSupport

/// `--kernel`: each version's enum pageflags, page-flags-layout.h rules and struct page,
/// and how the version is chosen. Expected values come from each version's source (cited
/// at each test), not from PageLab's tables.
@Suite struct KernelVersionTests {
    static let debian61 = KernelConfigFixtures.debian61

    func config(_ text: String, kernel: String? = nil, running: String? = "6.18.44-fc-v1272") throws(LayoutError) -> KernelConfig {
        try KernelConfig(text: text, source: "test.config").choosingKernel(kernel, runningRelease: running).config
    }

    // MARK: The Debian 6.1 case of issue 18

    /// Debian's own build of that kernel says NR_PAGEFLAGS 25 (include/generated/bounds.h
    /// of linux-headers-6.1.0-47-amd64: `#define NR_PAGEFLAGS 25`). No bit is left:
    /// 64 - (NODES 10 + ZONES 3 + LAST_CPUPID 8+13 + LRU_GEN 3 + LRU_REFS 2) - 25 = 0.
    @Test func debian61HasTwentyFiveFlagsAndNoUnusedBit() throws {
        let parsed = try KernelConfig(text: Self.debian61, source: "debian-6.1.config")
        #expect(parsed.headerRelease == "6.1.170")
        let choice = try parsed.choosingKernel(nil, runningRelease: "6.18.44")
        #expect(choice.config.kernel == .v6_1)
        #expect(choice.description.contains("6.1.170"))
        #expect(choice.warning == nil)
        let budget = FlagsBudget(config: choice.config)
        #expect(budget.nrPageflags == 25)
        #expect(budget.unusedBits == 0)
        #expect(budget.freeBits == 0)
        #expect(budget.error == nil)
        // 6.1's enum (page-flags.h:100-141): PG_error, PG_slab, PG_uncached (X86_PAT),
        // PG_arch_2 (CONFIG_64BIT); no PG_dropbehind or PG_owner_2.
        let names = budget.flags.map(\.name)
        for name in ["PG_error", "PG_slab", "PG_mappedtodisk", "PG_uncached", "PG_arch_2", "PG_hwpoison", "PG_mlocked"] {
            #expect(names.contains(name), "\(name)")
        }
        #expect(!names.contains("PG_dropbehind") && !names.contains("PG_owner_2"))
        #expect(budget.flags.first { $0.name == "PG_head" }?.bit == 16)
        #expect(budget.flags.first { $0.name == "PG_waiters" }?.bit == 7)
    }

    /// The same file asked as v6.19: v6.19's 23 flags and 2 unused bits, and a warning
    /// that names both versions.
    @Test func kernelOptionOverridesTheHeaderWithAWarning() throws {
        let choice = try KernelConfig(text: Self.debian61, source: "debian-6.1.config").choosingKernel("6.19")
        #expect(choice.config.kernel == .v6_19)
        let warning = try #require(choice.warning)
        #expect(warning.contains("6.1.170") && warning.contains("6.19"))
        let budget = FlagsBudget(config: choice.config)
        #expect(budget.nrPageflags == 23)
        #expect(budget.unusedBits == 2)
    }

    // MARK: enum pageflags of each version

    static let x86 = """
        CONFIG_X86_64=y
        CONFIG_64BIT=y
        CONFIG_MMU=y
        CONFIG_X86_PAT=y
        CONFIG_MEMORY_FAILURE=y
        CONFIG_SPARSEMEM_VMEMMAP=y
        CONFIG_SPARSEMEM=y
        CONFIG_SMP=y
        CONFIG_NR_CPUS=6

        """

    /// Bit numbers read off each version's enum: 5.15 (page-flags.h:103-145) has PG_head
    /// at 16; 6.6 (100-139) moved PG_writeback to 1 and PG_head to 6 and still has
    /// PG_uncached; 6.12 (93-129) dropped PG_error, PG_slab, PG_mappedtodisk and
    /// PG_uncached and added PG_owner_2 at 11; 6.18 (93-130) added PG_dropbehind at 19.
    @Test func eachVersionHasItsOwnEnum() throws {
        func flags(_ version: String) throws -> [String: Int] {
            let budget = FlagsBudget(config: try config(Self.x86, kernel: version))
            return Dictionary(uniqueKeysWithValues: budget.flags.map { ($0.name, $0.bit) })
        }
        let v515 = try flags("5.15")
        #expect(v515["PG_head"] == 16 && v515["PG_writeback"] == 15 && v515["PG_uncached"] == 22)
        #expect(v515.count == 25)   // 21 + mlocked, uncached, hwpoison, arch_2
        let v66 = try flags("6.6")
        #expect(v66["PG_writeback"] == 1 && v66["PG_head"] == 6 && v66["PG_error"] == 10)
        #expect(v66["PG_uncached"] == 22 && v66["PG_arch_2"] == nil)   // PG_arch_2 needs ARCH_USES_PG_ARCH_X (arm64 MTE)
        #expect(v66.count == 24)
        let v612 = try flags("6.12")
        #expect(v612["PG_owner_2"] == 11 && v612["PG_error"] == nil && v612["PG_uncached"] == nil)
        #expect(v612["PG_arch_2"] == 21)   // X86_PAT selects ARCH_USES_PG_ARCH_2 (arch/x86/Kconfig)
        #expect(v612.count == 22)
        let v618 = try flags("6.18")
        #expect(v618["PG_dropbehind"] == 19 && v618.count == 23)
        #expect(try flags("6.19") == v618)
    }

    /// arm64 with MTE: 6.6 gets PG_arch_2 and PG_arch_3 together (ARCH_USES_PG_ARCH_X);
    /// 6.1 has PG_arch_2 on every 64-bit kernel but no PG_arch_3.
    @Test func arm64MTEFlags() throws {
        let text = "CONFIG_ARM64=y\nCONFIG_64BIT=y\nCONFIG_ARM64_MTE=y\n"
        let v66 = FlagsBudget(config: try config(text, kernel: "6.6")).flags.map(\.name)
        #expect(v66.suffix(2) == ["PG_arch_2", "PG_arch_3"])
        let v61 = FlagsBudget(config: try config(text, kernel: "6.1")).flags.map(\.name)
        #expect(v61.contains("PG_arch_2") && !v61.contains("PG_arch_3"))
    }

    // MARK: page-flags-layout.h and bounds.c rules

    /// KASAN_TAG_WIDTH with KASAN_HW_TAGS: 8 in 6.12 (`SW_TAGS || HW_TAGS`), 4 in 6.18.
    /// 5.15 has no multi-gen LRU, so LRU_GEN adds no field; 6.1 does (3 + 2 bits).
    /// NR_CPUS_BITS of NR_CPUS=6: ilog2 = 2 in 5.15's kernel/bounds.c, order_base_2 = 3 after.
    @Test func layoutRulesFollowTheVersion() throws {
        let text = Self.x86 + "CONFIG_ARM64=n\nCONFIG_KASAN=y\nCONFIG_KASAN_HW_TAGS=y\nCONFIG_LRU_GEN=y\nCONFIG_NUMA_BALANCING=y\n"
        let b612 = FlagsBudget(config: try config(text, kernel: "6.12"))
        let b618 = FlagsBudget(config: try config(text, kernel: "6.18"))
        #expect(b612.kasanTagWidth == 8 && b618.kasanTagWidth == 4)
        let b515 = FlagsBudget(config: try config(text, kernel: "5.15"))
        let b61 = FlagsBudget(config: try config(text, kernel: "6.1"))
        #expect(b515.lruGenWidth == 0 && b515.lruRefsWidth == 0)
        #expect(b61.lruGenWidth == 3 && b61.lruRefsWidth == 2)
        #expect(b515.nrCpusBits == 2 && b61.nrCpusBits == 3)
    }

    // MARK: Choosing the version

    @Test func unknownVersionsAreErrorsNamingTheKnownOnes() throws {
        #expect(throws: LayoutError.unknownName(kind: "kernel version", name: "6.8",
                                                known: ["5.15", "6.1", "6.6", "6.12", "6.18", "6.19"])) {
            try KernelVersion.named("6.8")
        }
        let header = "# Linux/x86 6.8.12 Kernel Configuration\nCONFIG_X86_64=y\n"
        do {
            _ = try config(header)
            Issue.record("a 6.8 header was accepted")
        } catch {
            #expect(error.description.contains("6.8.12") && error.description.contains("6.19"))
        }
    }

    /// A file without a header takes the running kernel's version; when that is not one
    /// PageLab knows either, it is an error that asks for --kernel.
    @Test func headerlessConfigUsesTheRunningKernel() throws {
        #expect(try config(Self.x86, running: "6.12.63-generic").kernel == .v6_12)
        do {
            _ = try config(Self.x86, running: "6.8.0-45-generic")
            Issue.record("an unknown running kernel was accepted")
        } catch {
            #expect(error.description.contains("--kernel") && error.description.contains("6.8.0-45-generic"))
        }
        #expect(throws: LayoutError.self) { try config(Self.x86, running: nil) }
        #expect(try KernelConfig.preset("x86_64-defconfig").choosingKernel(nil, runningRelease: "4.19").config.kernel == .v6_19)
    }

    @Test func releaseStringsAndHeaders() {
        #expect(KernelVersion(release: "6.18.44-fc-v1272") == .v6_18)
        #expect(KernelVersion(release: "6.19.0-rc3") == .v6_19)
        #expect(KernelVersion(release: "linux") == nil)
        #expect(KernelVersion.release(fromHeader: "# Linux/arm64 6.6.57 Kernel Configuration") == "6.6.57")
        #expect(KernelVersion.release(fromHeader: "# Linux kernel") == nil)
    }

    // MARK: struct page of each version

    /// Offsets worked from each version's struct page by the C rules (x86_64, MEMCG):
    /// 5.15's slab arm (mm_types.h): slab_list/next at 8, pages 16, pobjects 20,
    /// slab_cache 24, freelist 32, counters 40; 6.1's first tail arm: compound_dtor 16,
    /// compound_order 17, compound_mapcount 20, compound_pincount 24, compound_nr 28;
    /// 6.12: `index` (not `__folio_index`) at 32 and `pgmap` at 8; all 64 bytes.
    @Test func structPageOfEachVersion() throws {
        let layout = LayoutConfig(arch: .x86_64)
        let p515 = try #require(Layouts.historicStructPage(layout, version: .v5_15))
        #expect(p515.size == 64)
        #expect(p515.offset(of: "slab_cache") == 24 && p515.offset(of: "freelist") == 32 && p515.offset(of: "counters") == 40)
        #expect(p515.offset(of: "pobjects") == 20 && p515.offset(of: "hpage_pinned_refcount") == 16)
        let p61 = try #require(Layouts.historicStructPage(layout, version: .v6_1))
        #expect(p61.offset(of: "compound_order") == 17 && p61.offset(of: "compound_pincount") == 24)
        #expect(p61.offset(of: "compound_nr") == 28 && p61.offset(of: "mlock_count") == 16)
        #expect(p61.field("slab_cache") == nil && p61.offset(of: "pt_share_count") == 32)
        let p612 = try #require(Layouts.historicStructPage(layout, version: .v6_12))
        #expect(p612.offset(of: "index") == 32 && p612.field("__folio_index") == nil)
        #expect(p612.offset(of: "pgmap") == 8 && p612.offset(of: "pp_ref_count") == 40)
        #expect(p612.fields.first { $0.name == "flags" }?.type == "unsigned long")
        #expect(p612.field("compound_dtor") == nil && p612.size == 64)
        #expect(Layouts.historicStructPage(layout, version: .v6_18) == nil)
    }

    /// 6.12's folio (linux-6.12.y mm_types.h), worked by the C rules on x86_64: page 1 has
    /// _flags_1 64, _head_1 72, _large_mapcount 80, _entire_mapcount 84, _nr_pages_mapped
    /// 88, _pincount 92, _folio_nr_pages 96; page 2 is shared by the hugetlb fields
    /// (_hugetlb_subpool 144) and _flags_2a/_head_2a/_deferred_list (144); three pages,
    /// 192 bytes. Its ptdesc and slab start with `unsigned long __page_flags`; its slab has
    /// no llnode arm.
    @Test func descriptorsOf612() throws {
        let (structs, omitted) = try Layouts.all(LayoutConfig(arch: .x86_64), design: .mainline, kernel: .v6_12)
        #expect(omitted == nil && structs.map(\.name) == ["page", "folio", "ptdesc", "slab"])
        let folio = structs[1]
        #expect(folio.size == 192)
        for (name, offset) in [("_flags_1", 64), ("_head_1", 72), ("_large_mapcount", 80), ("_entire_mapcount", 84),
                               ("_nr_pages_mapped", 88), ("_pincount", 92), ("_folio_nr_pages", 96),
                               ("_hugetlb_subpool", 144), ("_flags_2a", 128), ("_deferred_list", 144), ("index", 32)] {
            #expect(folio.offset(of: name) == offset, "\(name)")
        }
        #expect(folio.field("pgmap") == nil && folio.field("_mm_ids") == nil && folio.field("_flags_3") == nil)
        #expect(structs[2].field("__page_flags")?.type == "unsigned long" && structs[2].field("pt_flags") == nil)
        #expect(structs[3].field("__page_flags")?.offset == 0 && structs[3].field("llnode") == nil)
        #expect(structs[3].offset(of: "freelist_counter") == 32)
    }

    /// 6.6 (linux-6.6.y): page 1 of the folio has `unsigned long _folio_avail` at 80 where
    /// 6.12 has `_large_mapcount`, so _entire_mapcount 88, _nr_pages_mapped 92, _pincount
    /// 96, _folio_nr_pages 100; ptdesc has no pt_index and a `_refcount` at 52; SLUB's
    /// slab has `__unused` at 48 and `memcg_data` at 56.
    @Test func descriptorsOf66() throws {
        let (structs, omitted) = try Layouts.all(LayoutConfig(arch: .x86_64), design: .mainline, kernel: .v6_6)
        #expect(omitted == nil && structs.map(\.name) == ["page", "folio", "ptdesc", "slab"])
        let folio = structs[1]
        for (name, offset) in [("_folio_avail", 80), ("_entire_mapcount", 88), ("_nr_pages_mapped", 92),
                               ("_pincount", 96), ("_folio_nr_pages", 100), ("_deferred_list", 144)] {
            #expect(folio.offset(of: name) == offset, "\(name)")
        }
        #expect(folio.field("_large_mapcount") == nil && folio.size == 192)
        #expect(structs[2].offset(of: "_refcount") == 52 && structs[2].field("pt_index") == nil)
        #expect(structs[3].offset(of: "__unused") == 48 && structs[3].offset(of: "memcg_data") == 56)
    }

    /// 6.1's folio (Debian's 6.1.170 mm_types.h) by the C rules on x86_64: page 0 over a
    /// 64-byte struct page, then _flags_1 64, __head 72, _folio_dtor 80, _folio_order 81,
    /// _total_mapcount 84, _pincount 88, _folio_nr_pages 92, _private_1 96; 104 bytes
    /// rounded to struct page's 16-byte alignment: 112.
    @Test func folioOf61() throws {
        let (structs, _) = try Layouts.all(LayoutConfig(arch: .x86_64), design: .mainline, kernel: .v6_1)
        let folio = try #require(structs.first { $0.name == "folio" })
        for (name, offset) in [("index", 32), ("_flags_1", 64), ("__head", 72), ("_folio_dtor", 80), ("_folio_order", 81),
                               ("_total_mapcount", 84), ("_pincount", 88), ("_folio_nr_pages", 92), ("_private_1", 96)] {
            #expect(folio.offset(of: name) == offset, "\(name)")
        }
        #expect(folio.size == 112)
    }

    /// 6.18's struct slab names its double word `freelist_counter` (linux-6.18.y
    /// mm/slab.h:21-41); v6.19 calls it `freelist_counters`.
    @Test func slabOf618() throws {
        let (structs, omitted) = try Layouts.all(LayoutConfig(arch: .x86_64), design: .mainline, kernel: .v6_18)
        #expect(omitted == nil)
        let slab = try #require(structs.first { $0.name == "slab" })
        #expect(slab.offset(of: "freelist_counter") == 32 && slab.field("freelist_counters") == nil)
        let (older, note) = try Layouts.all(LayoutConfig(arch: .x86_64), design: .mainline, kernel: .v6_1)
        #expect(older.map(\.name) == ["page", "folio", "slab"] && note?.contains("ptdesc") == true)
        // 6.1's SLUB slab (linux-6.1.y mm/slab.h): slab_cache 24, freelist 32, counters 40,
        // __unused 48, __page_refcount 52 (SLAB_MATCH(_refcount, __page_refcount)), memcg_data 56.
        let slab61 = try #require(older.last)
        for (name, offset) in [("slab_list", 8), ("next", 8), ("slabs", 16), ("slab_cache", 24), ("freelist", 32),
                               ("counters", 40), ("__unused", 48), ("__page_refcount", 52), ("memcg_data", 56)] {
            #expect(slab61.offset(of: name) == offset, "\(name)")
        }
        let (oldest, why) = try Layouts.all(LayoutConfig(arch: .x86_64), design: .mainline, kernel: .v5_15)
        // 5.15 has no struct slab: its "slab" is what SLUB uses of struct page (SlabAllocatorTests).
        #expect(oldest.map(\.name) == ["page", "slab"] && why?.contains("5.16") == true)
        #expect(throws: LayoutError.self) { try Layouts.all(LayoutConfig(arch: .x86_64), design: .memdesc8, kernel: .v6_1) }
    }
}
