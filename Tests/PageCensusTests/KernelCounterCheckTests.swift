import Testing
@testable import PageCensus

/// The census beside /proc/vmstat and /proc/meminfo (issue 18's cross-checks).
@Suite struct KernelCounterCheckTests {
    /// The standard synthetic machine with `vmstat` and `meminfo` text of our choosing.
    func census(vmstat: String, meminfo: String? = nil) -> Census {
        let machine = SyntheticMachine.standard()
        var info = machine.info
        info.files["vmstat"] = Array(vmstat.utf8)
        if let meminfo { info.files["meminfo"] = Array(meminfo.utf8) }
        var builder = CensusBuilder(info: info, expectedPfns: machine.flags.count)
        builder.consume(flags: machine.flags, counts: machine.counts, cgroups: machine.cgroups)
        return builder.finish()
    }

    /// The synthetic iomem has System RAM in sections 0, 1 and 3 of 4096 pfns: 12,288
    /// pfns with a struct page, 12,288 × 64 B / 4096 B = 192 memmap pages.
    @Test func memmapEqualsTheKernelsCount() throws {
        let checks = KernelCounterChecks.checks(census(vmstat: "nr_memmap_boot_pages 150\nnr_memmap_pages 42\n"), structPageSize: 64)
        let memmap = try #require(checks.first { $0.name == "memmap pages" })
        #expect(memmap.census == 192 && memmap.kernel == 192 && memmap.difference == 0 && memmap.reason.isEmpty)
    }

    /// Slab: the machine has 3 KPF_SLAB pages (an order-1 slab and an order-0 one); a
    /// kernel counting 5 differs by -2, and the reason names large kmalloc. Page tables: 1
    /// against 1. A snapshot without nr_memmap_* (before 6.8) says so instead of a number.
    @Test func differencesCarryTheirReasons() throws {
        let vmstat = "nr_slab_reclaimable 2\nnr_slab_unreclaimable 3\nnr_page_table_pages 1\n"
        let checks = KernelCounterChecks.checks(census(vmstat: vmstat, meminfo: "Slab: 20 kB\nPageTables: 4 kB\n"), structPageSize: 64)
        let slab = try #require(checks.first { $0.name == "slab pages" })
        #expect(slab.census == 3 && slab.kernel == 5 && slab.difference == -2)
        #expect(slab.reason.contains("kmalloc") && slab.counter.contains("meminfo Slab: 5 pages"))
        let tables = try #require(checks.first { $0.name == "page-table pages" })
        #expect(tables.census == 1 && tables.kernel == 1 && tables.reason.isEmpty)
        let memmap = try #require(checks.first { $0.name == "memmap pages" })
        #expect(memmap.kernel == nil && memmap.reason.contains("6.8"))
        let zero = try #require(checks.first { $0.name == "zero pages" })
        // empty_zero_page and the huge zero folio (order 9) of the synthetic machine: 1 + 512
        #expect(zero.kernel == nil && zero.census == 513)
    }
}
