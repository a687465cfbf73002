// The census beside the kernel's own counters (/proc/vmstat, /proc/meminfo read with it):
// the memmap, slab, page-table and zero-page figures, each difference with its reason.

/// One census figure and the kernel counter that measures the same thing.
public struct CounterCheck: Sendable, Equatable {
    /// What is compared: "memmap pages", "slab pages", ...
    public let name: String
    /// The census's figure, in pages.
    public let census: Int
    /// The kernel's figure in pages, nil when the snapshot lacks the file or the counter.
    public let kernel: Int?
    /// Where the kernel's figure comes from.
    public let counter: String
    /// Why the two may differ (empty when they agree).
    public let reason: String

    public var difference: Int? { kernel.map { census - $0 } }
}

public enum KernelCounterChecks {
    /// The checks of `census`, with its memmap figure at `structPageSize` bytes per pfn.
    ///
    /// - memmap: pfns with a struct page × sizeof(struct page) / PAGE_SIZE against
    ///   `nr_memmap_boot_pages + nr_memmap_pages` (mm/vmstat.c; mm/sparse-vmemmap.c and
    ///   mm/mm_init.c account the memmap's own pages there since 6.8).
    /// - slab: KPF_SLAB pfns against `nr_slab_reclaimable + nr_slab_unreclaimable` (and
    ///   meminfo `Slab:`).
    /// - page tables: KPF_PGTABLE pfns against `nr_page_table_pages` (meminfo `PageTables:`).
    /// - zero page: KPF_ZERO_PAGE pfns; the kernel keeps no counter (1 for empty_zero_page,
    ///   plus the huge zero folio's 512 once something has mapped it).
    public static func checks(_ census: Census, structPageSize: Int) -> [CounterCheck] {
        let vmstat = census.info.text("vmstat").map(KeyValueFile.parse) ?? [:]
        let meminfo = census.info.text("meminfo").map(KeyValueFile.parse) ?? [:]
        let pageKB = max(1, census.pageSize / 1024)
        func sum(_ names: [String]) -> Int? {
            let values = names.compactMap { vmstat[$0] }
            return values.count == names.count ? values.reduce(0, +) : nil
        }
        func agreeing(_ census: Int, _ kernel: Int?, _ reason: String) -> String {
            kernel == nil ? "the snapshot has no such counter (kernels before 6.8 lack nr_memmap_*)" : census == kernel ? "" : reason
        }
        var out: [CounterCheck] = []

        let (bytes, overflow) = census.pfnsWithMemmap.multipliedReportingOverflow(by: max(0, structPageSize))
        let memmap = overflow ? Int.max : (bytes + census.pageSize - 1) / max(1, census.pageSize)
        let kernelMemmap = sum(["nr_memmap_boot_pages", "nr_memmap_pages"])
        out.append(CounterCheck(name: "memmap pages", census: memmap, kernel: kernelMemmap,
                                counter: "vmstat nr_memmap_boot_pages + nr_memmap_pages",
                                reason: agreeing(memmap, kernelMemmap, "vmemmap pages freed by HugeTLB vmemmap optimisation, memmap of sections hot-added or removed, or a struct page of another size than \(structPageSize) bytes")))

        let slab = census[.slab].pages
        let kernelSlab = sum(["nr_slab_reclaimable", "nr_slab_unreclaimable"])
        let meminfoSlab = meminfo["Slab"].map { $0 / pageKB }
        out.append(CounterCheck(name: "slab pages", census: slab, kernel: kernelSlab,
                                counter: "vmstat nr_slab_reclaimable + nr_slab_unreclaimable" + (meminfoSlab.map { " (meminfo Slab: \($0) pages)" } ?? ""),
                                reason: agreeing(slab, kernelSlab, "large kmalloc() allocations are counted in NR_SLAB_UNRECLAIMABLE_B (mm/slub.c, ___kmalloc_large_node()) but are not PG_slab: the census has them among other compound pages (\(census[.otherCompound].pages) pages here); slabs allocated and freed between reading /proc/kpageflags and /proc/vmstat, and per-CPU vmstat deltas not yet folded into the global counter (up to stat_threshold pages per CPU)")))

        let tables = census[.pageTable].pages
        let kernelTables = vmstat["nr_page_table_pages"]
        let meminfoTables = meminfo["PageTables"].map { $0 / pageKB }
        out.append(CounterCheck(name: "page-table pages", census: tables, kernel: kernelTables,
                                counter: "vmstat nr_page_table_pages" + (meminfoTables.map { " (meminfo PageTables: \($0) pages)" } ?? ""),
                                reason: agreeing(tables, kernelTables, "page tables allocated and freed between reading /proc/kpageflags and /proc/vmstat (processes starting and exiting; pagetable_ctor() sets PG_table and NR_PAGETABLE together), and per-CPU vmstat deltas not yet folded")))

        let zero = census[.zeroPage].pages
        out.append(CounterCheck(name: "zero pages", census: zero, kernel: nil, counter: "none (the kernel keeps no counter)",
                                reason: "expected 1 (empty_zero_page) plus 512 once the huge zero folio is allocated (mm/huge_memory.c, get_huge_zero_folio())"))
        return out
    }
}
