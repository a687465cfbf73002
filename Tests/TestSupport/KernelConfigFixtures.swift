// Fixtures the test targets share (a target of its own, so that each is written once).

/// Kernel configurations as real kernels ship them.
public enum KernelConfigFixtures {
    /// The options the flags budget and the layouts read, taken line for line from the
    /// `.config` of Debian 12's linux-headers-6.1.0-47-amd64 (6.1.170-3), header included.
    public static let debian61 = """
        #
        # Automatically generated file; DO NOT EDIT.
        # Linux/x86 6.1.170 Kernel Configuration
        #
        CONFIG_NUMA_BALANCING=y
        CONFIG_MEMCG=y
        CONFIG_64BIT=y
        CONFIG_X86_64=y
        CONFIG_X86=y
        CONFIG_MMU=y
        CONFIG_PGTABLE_LEVELS=5
        CONFIG_SMP=y
        CONFIG_MAXSMP=y
        CONFIG_NR_CPUS_RANGE_BEGIN=8192
        CONFIG_NR_CPUS_RANGE_END=8192
        CONFIG_NR_CPUS_DEFAULT=8192
        CONFIG_NR_CPUS=8192
        CONFIG_CPUMASK_OFFSTACK=y
        CONFIG_X86_5LEVEL=y
        CONFIG_NUMA=y
        CONFIG_NODES_SHIFT=10
        CONFIG_MTRR=y
        CONFIG_X86_PAT=y
        CONFIG_ARCH_USES_PG_UNCACHED=y
        CONFIG_SPARSEMEM=y
        CONFIG_SPARSEMEM_EXTREME=y
        CONFIG_SPARSEMEM_VMEMMAP=y
        CONFIG_MEMORY_FAILURE=y
        CONFIG_TRANSPARENT_HUGEPAGE=y
        # CONFIG_IDLE_PAGE_TRACKING is not set
        CONFIG_ZONE_DMA=y
        CONFIG_ZONE_DMA32=y
        CONFIG_ZONE_DEVICE=y
        CONFIG_LRU_GEN=y
        # CONFIG_KASAN is not set

        """
}
