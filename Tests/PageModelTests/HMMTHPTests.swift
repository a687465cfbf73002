// hmm-tests.c (tools/testing/selftests/mm/hmm-tests.c, v6.19) cases over anonymous THPs,
// in the private (device 0) and coherent (device 2) variants of the `hmm` fixture, with
// the kernel's expected values: anon_write_huge (hmm_range_fault() faulting a THP in),
// migrate_anon_huge_empty and migrate_anon_huge_zero (npages = one PMD, cpages ==
// npages, the zeroes the device read and the CPU reads back). Plus the PMD bit of
// SNAPSHOT over a PMD-mapped THP (lib/test_hmm.c dmirror_mkentry(): HMM_DMIRROR_PROT_PMD
// 0x04 when hmm_pfn_to_map_order() is PMD_SHIFT - PAGE_SHIFT).
//
// migrate_anon_huge_free and migrate_anon_huge_fault (a written THP) are in
// HMMHugeSplitTests.swift, migrate_anon_huge_err and migrate_anon_huge_zero_err in
// HMMDeviceTHPTests.swift (its second half in HugeZeroFolioTests.swift). The empty case
// migrates as one PMD-sized hole (a device THP); so does the zero case, whose read maps
// the huge zero folio, which migrate_vma_collect_huge_pmd() collects as a hole; with the
// kernel's counts and bytes. compound needs hugetlbfs.
import PageLayout
@testable import PageModel
import Testing

@Suite struct HMMTHPTests {
    static let pmd: UInt64 = 2 << 20
    static let npages = Int(pmd >> 12)

    /// The fixture with THP in "madvise" mode and `map`, a PMD-aligned 2 MiB range of a
    /// 4 MiB anonymous mapping with MADV_HUGEPAGE, as the tests' ALIGN() gives.
    static func setup(_ design: Design = .mainline, device: Int, prot: Prot) throws -> (Machine, Process, DeviceMirror, UInt64) {
        let (machine, process, mirror) = try HMMMigrateTests.setup(design, device: device)
        machine.thp.mode = .madvise
        let base = try process.mmapAnon(2 * pmd, prot: prot)
        let map = (base + pmd - 1) & ~(pmd - 1)
        try process.mm.madvise(addr: map, length: pmd, advice: .hugePage)
        return (machine, process, mirror, map)
    }

    /// hmm-tests `anon_write_huge`: WRITE of a THP range that is not populated: 0,
    /// cpages == npages, faults == 1; the CPU reads what the device wrote; the range is
    /// one PMD-mapped THP, which SNAPSHOT reports as WRITE|PMD (0x06) on every page.
    @Test(arguments: [0, 2])
    func anonWriteHuge(device: Int) throws {
        let (_, process, mirror, map) = try Self.setup(device: device, prot: [.read, .write])
        let data = HMMMigrateTests.pattern(Self.npages)
        #expect(try mirror.write(addr: map, npages: UInt64(Self.npages), from: data) == DeviceMirror.Result(cpages: Self.npages, faults: 1))
        #expect(try process.read(map, count: data.count) == data)
        #expect(process.tables.entry(at: map).huge)
        #expect(try mirror.snapshot(addr: map, npages: UInt64(Self.npages)).1.allSatisfy { $0 == 0x06 })
    }

    /// hmm-tests `migrate_anon_huge_empty`: a PROT_READ THP range never touched migrates
    /// whole (cpages == npages) and the device reads zeroes.
    @Test(arguments: [0, 2])
    func migrateAnonHugeEmpty(device: Int) throws {
        let (_, _, mirror, map) = try Self.setup(device: device, prot: [.read])
        var buffer: [UInt8] = []
        #expect(try mirror.migrateToDevice(addr: map, npages: UInt64(Self.npages), into: &buffer).cpages == Self.npages)
        #expect(buffer.count == Int(Self.pmd) && buffer.allSatisfy { $0 == 0 })
    }

    /// hmm-tests `migrate_anon_huge_zero`: after a read (the huge zero page), the range
    /// migrates whole, the device reads zeroes, and the CPU reads zeroes back.
    @Test(arguments: [0, 2])
    func migrateAnonHugeZero(device: Int) throws {
        let (_, process, mirror, map) = try Self.setup(device: device, prot: [.read])
        #expect(try process.read(map, count: 4) == [0, 0, 0, 0])
        var buffer: [UInt8] = []
        #expect(try mirror.migrateToDevice(addr: map, npages: UInt64(Self.npages), into: &buffer).cpages == Self.npages)
        #expect(buffer.allSatisfy { $0 == 0 })
        #expect(try process.read(map, count: Int(Self.pmd)).allSatisfy { $0 == 0 })
    }
}
