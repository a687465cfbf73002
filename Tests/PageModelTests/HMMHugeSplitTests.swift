// hmm-tests.c (tools/testing/selftests/mm/hmm-tests.c, v6.19) cases over a written
// anonymous THP, in the private (device 0) and coherent (device 2) variants of the
// `hmm` fixture, with the kernel's expected values: migrate_anon_huge_free (MIGRATE_TO_DEV
// returns 0 with cpages == npages, the device read `ptr[i] = i`, MADV_FREE then returns
// 0) and migrate_anon_huge_fault (the same, then every int read back by the CPU, faulting
// device-private memory home). v6.19's dmirror asks for MIGRATE_VMA_SELECT_COMPOUND, so
// the THP moves whole into a device THP (HMMDeviceTHPTests checks how); the counts and
// bytes these tests check are the same as page by page.
//
// Also the use_thp halves of anon_write_child, migrate_partial_unmap_fault and
// migrate_remap_fault (MADV_HUGEPAGE instead of MADV_NOHUGEPAGE; the use_thp 0 halves are
// in HMMSelftestPortTests), with the same expected values.
//
// migrate_anon_huge_err and migrate_anon_huge_zero_err (FAIL_ALLOC failing a device THP
// allocation) are in HMMDeviceTHPTests.swift.
import PageLayout
@testable import PageModel
import Testing

@Suite struct HMMHugeSplitTests {
    static let npages = HMMTHPTests.npages

    /// The fixture's written THP: `ptr[i] = i` over the PMD-aligned 2 MiB, one PMD.
    static func written(_ design: Design, device: Int) throws -> (Machine, Process, DeviceMirror, UInt64, [UInt8]) {
        let (machine, process, mirror, map) = try HMMTHPTests.setup(design, device: device, prot: [.read, .write])
        let data = HMMMigrateTests.pattern(npages)
        try process.write(data, at: map)
        try #require(process.tables.entry(at: map).huge)
        return (machine, process, mirror, map, data)
    }

    /// hmm-tests `migrate_anon_huge_free`.
    @Test(arguments: HMMMigrateTests.designs, [0, 2])
    func migrateAnonHugeFree(_ design: Design, device: Int) throws {
        let (machine, process, mirror, map, data) = try Self.written(design, device: device)
        var buffer: [UInt8] = []
        #expect(try mirror.migrateToDevice(addr: map, npages: UInt64(Self.npages), into: &buffer).cpages == Self.npages)
        #expect(buffer == data)
        try process.mm.madvise(addr: map, length: HMMTHPTests.pmd, advice: .free)
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption || $0.kind == .badPage }.isEmpty)
    }

    /// hmm-tests `migrate_anon_huge_fault`.
    @Test(arguments: HMMMigrateTests.designs, [0, 2])
    func migrateAnonHugeFault(_ design: Design, device: Int) throws {
        let (machine, process, mirror, map, data) = try Self.written(design, device: device)
        var buffer: [UInt8] = []
        #expect(try mirror.migrateToDevice(addr: map, npages: UInt64(Self.npages), into: &buffer).cpages == Self.npages)
        #expect(buffer == data)
        #expect(try process.read(map, count: data.count) == data)
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption || $0.kind == .badPage }.isEmpty)
    }

    /// A pinned THP cannot become a PMD migration entry (set_pmd_migration_entry():
    /// folio_try_share_anon_rmap_pmd() refuses, -EBUSY) nor be split (EAGAIN in
    /// __folio_split()), so migrate_vma_collect_huge_pmd() skips its PMD
    /// (`migrate_vma_collect_skip()`): no page is collected, the device page table gets
    /// nothing and MIGRATE_TO_DEV's read-back fails with ENOENT (dmirror_do_read()); the
    /// THP stays PMD-mapped with its data. Unpinned, it migrates whole: v6.19's
    /// dmirror_migrate_to_device() asks for MIGRATE_VMA_SELECT_COMPOUND, so
    /// migrate_vma_collect_huge_pmd() collects the PMD as one MIGRATE_PFN_COMPOUND source
    /// and nothing is split (THP_SPLIT_PAGE stays 0); the range is then one device THP.
    @Test(arguments: HMMMigrateTests.designs, [0, 2])
    func pinnedTHPIsNotMigrated(_ design: Design, device: Int) throws {
        let (machine, process, mirror, map, data) = try Self.written(design, device: device)
        let pages = try process.pinUserPages(start: map + 3 << 12, nrPages: 1, flags: [.write])
        var buffer: [UInt8] = []
        #expect(throws: Errno.ENOENT) { _ = try mirror.migrateToDevice(addr: map, npages: UInt64(Self.npages), into: &buffer) }
        #expect(process.tables.entry(at: map).huge)
        #expect(machine.vmEvents.snapshot.thpSplitPage == 0)
        machine.unpinUserPages(pages)
        #expect(try process.read(map, count: data.count) == data)
        // Unpinned, it migrates whole.
        #expect(try mirror.migrateToDevice(addr: map, npages: UInt64(Self.npages), into: &buffer).cpages == Self.npages)
        #expect(machine.vmEvents.snapshot.thpSplitPage == 0)
        #expect(buffer == data)
        let entry = process.tables.entry(at: map)
        #expect(entry.huge || entry.pte.isPMDSoftLeaf)
        #expect(mirror.device.pagesInUse == Self.npages)
    }

    /// The THP benchmarks' round (DeviceBenchmarks.swift), smaller: 4 THPs written under
    /// THP "always" go to the mirror whole (MIGRATE_VMA_SELECT_COMPOUND: nothing split,
    /// THP_SPLIT_PAGE 0; MIGRATE_TO_DEV's cpages counts the pages read back, npages) and
    /// back whole (MIGRATE_TO_SYS's cpages, dmirror_successful_migrated_pages(), counts
    /// the src entries VALID and MIGRATE: one per MIGRATE_PFN_COMPOUND THP, 4), the data
    /// intact; move_pages() of fresh THPs to node 1 and back moves each whole
    /// (migrate_pages() of an order-9 folio).
    @Test func thpRoundTripsMoveEveryPage() throws {
        let kernel = try KernelConfig.preset("x86_64-distro").setting(["DEVICE_PRIVATE": .yes])
        let machine = try Machine(config: MachineConfig(ramBytes: 256 << 20, nodes: 2, kernel: kernel))
        machine.thp.mode = .always
        let process = try Process(machine: machine)
        let mirror = DeviceMirror(device: try DeviceMirrorDevice(machine: machine, id: 0), process: process)
        let length: UInt64 = 8 << 20, pmd = HMMTHPTests.pmd
        let npages = Int(length >> 12)
        let data = HMMMigrateTests.pattern(npages)
        let raw = try process.mm.mmap(length: length + pmd, prot: [.read, .write], flags: [.private, .anonymous])
        let addr = (raw + pmd - 1) & ~(pmd - 1)
        try process.write(data, at: addr)
        #expect(process.tables.entry(at: addr).huge)
        var buffer: [UInt8] = []
        #expect(try mirror.migrateToDevice(addr: addr, npages: UInt64(npages), into: &buffer).cpages == npages)
        #expect(machine.vmEvents.snapshot.thpSplitPage == 0)
        #expect(try mirror.migrateToSystem(addr: addr, npages: UInt64(npages)).cpages == npages >> 9)
        #expect(process.tables.entry(at: addr).huge)
        #expect(try process.read(addr, count: data.count) == data)
        try process.mm.munmap(addr: raw, length: length + pmd)
        let raw2 = try process.mm.mmap(length: length + pmd, prot: [.read, .write], flags: [.private, .anonymous])
        let addr2 = (raw2 + pmd - 1) & ~(pmd - 1)
        try process.write(data, at: addr2)
        let there = process.migrate(addr2, length: length, toNode: 1).migrated
        #expect(there.count == 4 && there.allSatisfy { $0.order == 9 && machine.memmap.nid(of: $0.pfn) == 1 })
        let back = process.migrate(addr2, length: length, toNode: 0).migrated.reduce(0) { $0 + $1.nrPages }
        #expect(back == npages)
        #expect(try process.read(addr2, count: data.count) == data)
    }

    /// hmm-tests `anon_write_child`, use_thp 1 (migrate 0 and 1): npages = TWOMEG >>
    /// PAGE_SHIFT; MIGRATE_TO_DEV cpages == npages; the child sees `i`, its own mirror
    /// (device 0) WRITEs `-i`: 0, cpages npages, faults 1; without migration the child
    /// reads `-i`; the parent still reads `i`.
    @Test(arguments: HMMMigrateTests.designs, [0, 2])
    func anonWriteChildTHP(_ design: Design, device: Int) throws {
        for migrate in [false, true] { try HMMUseTHP.anonWriteChild(design, device: device, thp: true, migrate: migrate) }
    }

    /// hmm-tests `migrate_partial_unmap_fault`, use_thp 1: the THP migrated (cpages
    /// 512), 1 MiB unmapped at offset 0, 512 KiB or 1 MiB, the rest faulted home intact.
    @Test(arguments: HMMMigrateTests.designs, [0, 2])
    func migratePartialUnmapFaultTHP(_ design: Design, device: Int) throws {
        try HMMUseTHP.partialUnmapFault(design, device: device, thp: true)
    }

    /// hmm-tests `migrate_remap_fault`, use_thp 1: mremap(MAYMOVE|FIXED, with and
    /// without DONTUNMAP) of the THP to map + 2 MiB + offset, before or after migrating
    /// it (cpages 512 either way: moved unaligned, the THP is PTE-mapped and split by
    /// migrate_vma_split_folio()); the data faults home intact at the new address.
    @Test(arguments: HMMMigrateTests.designs)
    func migrateRemapFaultTHP(_ design: Design) throws {
        try HMMUseTHP.remapFault(design, thp: true)
    }
}
