// Named kernel configurations: the options of a v6.19 .config that decide the descriptor
// layouts and the page->flags budget, as `make <name>` would resolve them.

extension KernelConfig {
    /// A named configuration PageLab carries with it, for machines without /proc/config.gz
    /// and for comparing architectures.
    public struct Preset: Sendable {
        public let name: String
        /// Where the values come from.
        public let summary: String
        /// The `CONFIG_` lines, in .config syntax.
        public let text: String
    }

    /// The presets, in the order the command line lists them.
    public static let presets: [Preset] = [x86_64Defconfig, i386Defconfig, i386PAE, armDefconfig,
                                           arm64Defconfig, x86_64Distro]

    /// The names `--preset` accepts.
    public static var presetNames: [String] { presets.map(\.name) }

    /// The configuration of a named preset; `.unknownName` for any other name.
    public static func preset(_ name: String) throws(LayoutError) -> KernelConfig {
        guard let preset = presets.first(where: { $0.name == name }) else {
            throw .unknownName(kind: "preset", name: name, known: presetNames)
        }
        return try KernelConfig(text: preset.text, source: "preset \(name)")
    }

    /// `make x86_64_defconfig` on v6.19: arch/x86/configs/x86_64_defconfig sets SMP and NUMA;
    /// the rest are Kconfig defaults: NR_CPUS 64 (NR_CPUS_DEFAULT without MAXSMP),
    /// NODES_SHIFT 6 ("default 6 if X86_64", arch/x86/Kconfig), SPARSEMEM_VMEMMAP (the only
    /// x86_64 memory model), ZONE_DMA and ZONE_DMA32, X86_PAT (default y, depends on MTRR) which
    /// selects ARCH_USES_PG_ARCH_2, 5-level paging compiled in (PGTABLE_LEVELS 5). Not set, having
    /// no default: NUMA_BALANCING, MEMORY_FAILURE, ZONE_DEVICE, IDLE_PAGE_TRACKING
    /// (PAGE_IDLE_FLAG), LRU_GEN, KASAN, MEMCG, TRANSPARENT_HUGEPAGE.
    /// Worked in kernel-facts.md §2.7: NR_PAGEFLAGS 22, ZONES 2, NODES 6, 34 unused bits.
    static let x86_64Defconfig = Preset(name: "x86_64-defconfig", summary: "make x86_64_defconfig (v6.19)", text: """
        CONFIG_64BIT=y
        CONFIG_X86_64=y
        CONFIG_X86=y
        CONFIG_MMU=y
        CONFIG_PGTABLE_LEVELS=5
        CONFIG_SMP=y
        CONFIG_NR_CPUS=64
        # CONFIG_MAXSMP is not set
        CONFIG_NUMA=y
        CONFIG_NODES_SHIFT=6
        # CONFIG_NUMA_BALANCING is not set
        CONFIG_SPARSEMEM=y
        CONFIG_SPARSEMEM_VMEMMAP=y
        CONFIG_ZONE_DMA=y
        CONFIG_ZONE_DMA32=y
        # CONFIG_ZONE_DEVICE is not set
        CONFIG_MTRR=y
        CONFIG_X86_PAT=y
        CONFIG_ARCH_USES_PG_ARCH_2=y
        # CONFIG_MEMORY_FAILURE is not set
        # CONFIG_PAGE_IDLE_FLAG is not set
        # CONFIG_LRU_GEN is not set
        # CONFIG_KASAN is not set
        # CONFIG_MEMCG is not set
        # CONFIG_SLAB_OBJ_EXT is not set
        # CONFIG_KMSAN is not set
        # CONFIG_TRANSPARENT_HUGEPAGE is not set
        CONFIG_PAGE_MAPCOUNT=y
        CONFIG_HAVE_ALIGNED_STRUCT_PAGE=y
        """)

    /// `make i386_defconfig` on v6.19: arch/x86/configs/i386_defconfig sets SMP and
    /// NR_CPUS=8, not 64BIT; NUMA is off, so FLATMEM (ARCH_FLATMEM_ENABLE "depends on X86_32 &&
    /// !NUMA"); HIGHMEM4G is not set, so the zones are DMA, NORMAL, MOVABLE; X86_PAT selects
    /// ARCH_USES_PG_ARCH_2. PG_young/PG_idle would live in page_ext on 32-bit anyway.
    /// Worked in kernel-facts.md §2.7: NR_PAGEFLAGS 22, ZONES 2, 8 unused bits.
    static let i386Defconfig = Preset(name: "i386-defconfig", summary: "make i386_defconfig (v6.19)", text: """
        # CONFIG_64BIT is not set
        CONFIG_X86_32=y
        CONFIG_X86=y
        CONFIG_MMU=y
        CONFIG_PGTABLE_LEVELS=2
        CONFIG_SMP=y
        CONFIG_NR_CPUS=8
        # CONFIG_NUMA is not set
        CONFIG_FLATMEM=y
        # CONFIG_HIGHMEM4G is not set
        # CONFIG_X86_PAE is not set
        CONFIG_ZONE_DMA=y
        CONFIG_MTRR=y
        CONFIG_X86_PAT=y
        CONFIG_ARCH_USES_PG_ARCH_2=y
        # CONFIG_MEMORY_FAILURE is not set
        # CONFIG_LRU_GEN is not set
        # CONFIG_MEMCG is not set
        # CONFIG_SLAB_OBJ_EXT is not set
        # CONFIG_TRANSPARENT_HUGEPAGE is not set
        CONFIG_PAGE_MAPCOUNT=y
        CONFIG_HAVE_ALIGNED_STRUCT_PAGE=y
        """)

    /// A 32-bit x86 kernel with PAE and highmem (the old HIGHMEM64G, now X86_PAE with
    /// HIGHMEM4G) built with classic SPARSEMEM, which x86_32 offers beside FLATMEM
    /// (ARCH_SELECT_MEMORY_MODEL; SPARSEMEM_STATIC, no vmemmap on 32-bit). The section number
    /// then takes MAX_PHYSMEM_BITS 36 − SECTION_SIZE_BITS 29 = 7 bits of page->flags: the
    /// tight 32-bit case of seed 000 ("two bits available in page->flags on 32-bit").
    static let i386PAE = Preset(name: "i386-pae", summary: "32-bit x86, PAE, HIGHMEM, classic SPARSEMEM", text: """
        # CONFIG_64BIT is not set
        CONFIG_X86_32=y
        CONFIG_X86=y
        CONFIG_MMU=y
        CONFIG_PGTABLE_LEVELS=3
        CONFIG_X86_PAE=y
        CONFIG_HIGHMEM4G=y
        CONFIG_HIGHMEM=y
        CONFIG_SMP=y
        CONFIG_NR_CPUS=8
        # CONFIG_NUMA is not set
        CONFIG_SPARSEMEM_MANUAL=y
        CONFIG_SPARSEMEM=y
        CONFIG_SPARSEMEM_STATIC=y
        CONFIG_ZONE_DMA=y
        CONFIG_MTRR=y
        CONFIG_X86_PAT=y
        CONFIG_ARCH_USES_PG_ARCH_2=y
        # CONFIG_MEMORY_FAILURE is not set
        # CONFIG_LRU_GEN is not set
        # CONFIG_MEMCG is not set
        # CONFIG_SLAB_OBJ_EXT is not set
        # CONFIG_TRANSPARENT_HUGEPAGE is not set
        CONFIG_PAGE_MAPCOUNT=y
        CONFIG_HAVE_ALIGNED_STRUCT_PAGE=y
        """)

    /// A multi_v7_defconfig-like 32-bit ARM kernel: SMP with NR_CPUS 16, HIGHMEM, no LPAE,
    /// FLATMEM (ARCH_MULTIPLATFORM does not enable sparsemem), zones NORMAL, HIGHMEM, MOVABLE.
    /// ARM has no NUMA, no ARCH_SUPPORTS_MEMORY_FAILURE, no PG_arch_2 and no aligned struct page.
    static let armDefconfig = Preset(name: "arm-defconfig", summary: "32-bit ARM, multi_v7_defconfig-like", text: """
        CONFIG_ARM=y
        # CONFIG_64BIT is not set
        CONFIG_MMU=y
        CONFIG_ARCH_MULTI_V7=y
        CONFIG_SMP=y
        CONFIG_NR_CPUS=16
        CONFIG_FLATMEM=y
        CONFIG_HIGHMEM=y
        # CONFIG_ARM_LPAE is not set
        # CONFIG_ZONE_DMA is not set
        # CONFIG_LRU_GEN is not set
        # CONFIG_MEMCG is not set
        # CONFIG_SLAB_OBJ_EXT is not set
        # CONFIG_TRANSPARENT_HUGEPAGE is not set
        CONFIG_PAGE_MAPCOUNT=y
        """)

    /// `make defconfig` on arm64, v6.19: arch/arm64/configs/defconfig sets NUMA,
    /// NUMA_BALANCING, MEMCG, MEMORY_FAILURE and TRANSPARENT_HUGEPAGE; Kconfig defaults give
    /// NR_CPUS 512, NODES_SHIFT 4, 4 KiB pages, 48-bit PAs, SPARSEMEM_VMEMMAP, ZONE_DMA and
    /// ZONE_DMA32, and ARM64_MTE (default y), which selects ARCH_USES_PG_ARCH_2 and _3.
    static let arm64Defconfig = Preset(name: "arm64-defconfig", summary: "make defconfig, arm64 (v6.19)", text: """
        CONFIG_ARM64=y
        CONFIG_64BIT=y
        CONFIG_MMU=y
        CONFIG_ARM64_4K_PAGES=y
        CONFIG_ARM64_PA_BITS=48
        CONFIG_SMP=y
        CONFIG_NR_CPUS=512
        CONFIG_NUMA=y
        CONFIG_NODES_SHIFT=4
        CONFIG_NUMA_BALANCING=y
        CONFIG_SPARSEMEM=y
        CONFIG_SPARSEMEM_VMEMMAP=y
        CONFIG_ZONE_DMA=y
        CONFIG_ZONE_DMA32=y
        # CONFIG_ZONE_DEVICE is not set
        CONFIG_ARM64_MTE=y
        CONFIG_ARCH_USES_PG_ARCH_2=y
        CONFIG_ARCH_USES_PG_ARCH_3=y
        CONFIG_MEMORY_FAILURE=y
        # CONFIG_PAGE_IDLE_FLAG is not set
        # CONFIG_LRU_GEN is not set
        # CONFIG_KASAN is not set
        CONFIG_MEMCG=y
        CONFIG_SLAB_OBJ_EXT=y
        # CONFIG_KMSAN is not set
        CONFIG_TRANSPARENT_HUGEPAGE=y
        CONFIG_MM_ID=y
        CONFIG_PAGE_MAPCOUNT=y
        CONFIG_HAVE_ALIGNED_STRUCT_PAGE=y
        """)

    /// A Fedora-like x86_64 distribution kernel (Fedora's kernel-x86_64-fedora.config): MAXSMP
    /// (NR_CPUS 8192, NODES_SHIFT 10), NUMA_BALANCING, LRU_GEN, MEMORY_FAILURE, ZONE_DEVICE,
    /// IDLE_PAGE_TRACKING (PAGE_IDLE_FLAG), MEMCG, THP. Its page->flags are full to the last
    /// bit: one more page flag starts to squeeze out LRU_REFS, three push `_last_cpupid`
    /// into struct page.
    static let x86_64Distro = Preset(name: "x86_64-distro", summary: "Fedora-like x86_64 distribution kernel", text: """
        CONFIG_64BIT=y
        CONFIG_X86_64=y
        CONFIG_X86=y
        CONFIG_MMU=y
        CONFIG_PGTABLE_LEVELS=5
        CONFIG_SMP=y
        CONFIG_MAXSMP=y
        CONFIG_NR_CPUS=8192
        CONFIG_NUMA=y
        CONFIG_NODES_SHIFT=10
        CONFIG_NUMA_BALANCING=y
        CONFIG_SPARSEMEM=y
        CONFIG_SPARSEMEM_VMEMMAP=y
        CONFIG_ZONE_DMA=y
        CONFIG_ZONE_DMA32=y
        CONFIG_ZONE_DEVICE=y
        CONFIG_MTRR=y
        CONFIG_X86_PAT=y
        CONFIG_ARCH_USES_PG_ARCH_2=y
        CONFIG_X86_MCE=y
        CONFIG_MEMORY_FAILURE=y
        CONFIG_IDLE_PAGE_TRACKING=y
        CONFIG_PAGE_IDLE_FLAG=y
        CONFIG_LRU_GEN=y
        CONFIG_LRU_GEN_ENABLED=y
        # CONFIG_KASAN is not set
        CONFIG_MEMCG=y
        CONFIG_SLAB_OBJ_EXT=y
        # CONFIG_KMSAN is not set
        CONFIG_TRANSPARENT_HUGEPAGE=y
        CONFIG_MM_ID=y
        CONFIG_PAGE_MAPCOUNT=y
        CONFIG_HAVE_ALIGNED_STRUCT_PAGE=y
        """)
}
