// Transparent huge pages: PMD-sized faults in MADV_HUGEPAGE regions, mTHP orders,
// COW of a THP after fork, splitting a PMD mapping (mprotect of part, munmap of part),
// MADV_COLLAPSE; data stays right throughout (mm/huge_memory.c, mm/khugepaged.c).
import Testing
@testable import PageModel
import PageLayout

@Suite struct THPTests {
    /// A 2 MiB-aligned anonymous region of `pmds` PMDs, MADV_HUGEPAGE.
    func hugeRegion(_ process: Process, pmds: UInt64 = 2) throws -> UInt64 {
        let raw = try process.mmapAnon((pmds + 1) << 21)
        let start = (raw + (1 << 21) - 1) & ~((1 << 21) - 1)
        try process.mm.madvise(addr: start, length: pmds << 21, advice: .hugePage)
        return start
    }

    @Test func writeFaultInHugePageRegionMapsAPMD() throws {
        let (machine, process) = try makeProcess()
        let addr = try hugeRegion(process)
        try process.write([1, 2, 3], at: addr + 5000)
        let (pmd, huge) = process.tables.entry(at: addr)
        #expect(huge && pmd.isLeaf && pmd.isWritable)
        let folio = try #require(machine.page(pmd.pfn).flatMap(machine.pageFolio))
        #expect(folio.order == 9 && folio.refcount == 1)
        #expect(folio.entireMapcountRaw == 0 && machine.folioMapcount(folio) == 1)
        #expect(try process.read(addr + 4999, count: 5) == [0, 1, 2, 3, 0])
        #expect(try process.read(addr + (2 << 20) - 8, count: 8) == [UInt8](repeating: 0, count: 8))
        #expect(machine.vmEvents.snapshot.thpFaultAlloc == 1)
    }

    @Test func withoutMadviseTheDefaultModeUsesSmallPages() throws {
        let (machine, process) = try makeProcess()
        #expect(machine.thp.mode == .madvise)
        let raw = try process.mmapAnon(8 << 20)
        let addr = (raw + (1 << 21) - 1) & ~((1 << 21) - 1)
        try process.write([1], at: addr)
        #expect(!process.tables.entry(at: addr).huge)
        machine.thp.mode = .always
        try process.write([1], at: addr + (2 << 20))
        #expect(process.tables.entry(at: addr + (2 << 20)).huge)
        machine.thp.mode = .never
        try process.write([1], at: addr + (4 << 20))
        #expect(!process.tables.entry(at: addr + (4 << 20)).huge)
    }

    @Test func forkSharesTheTHPAndCOWSplitsIt() throws {
        let (machine, parent) = try makeProcess()
        let addr = try hugeRegion(parent, pmds: 1)
        for i in 0..<512 { try parent.write(pattern(i), at: addr + UInt64(i) << 12) }
        let child = try parent.fork()
        let (pmd, huge) = parent.tables.entry(at: addr)
        #expect(huge && !pmd.isWritable)
        #expect(child.tables.entry(at: addr).huge)
        let folio = try #require(machine.page(pmd.pfn).flatMap(machine.pageFolio))
        #expect(machine.folioMapcount(folio) == 2)
        // The child writes one page: its PMD is split and that page copied.
        try child.write(pattern(7, 1), at: addr + 7 << 12)
        #expect(!child.tables.entry(at: addr).huge)
        #expect(parent.tables.entry(at: addr).huge)
        #expect(machine.vmEvents.snapshot.thpSplitPmd == 1)
        for i in 0..<512 {
            #expect(try parent.read(addr + UInt64(i) << 12, count: 64) == pattern(i))
            #expect(try child.read(addr + UInt64(i) << 12, count: 64) == (i == 7 ? pattern(7, 1) : pattern(i)))
        }
        child.exit()
        #expect(machine.folioMapcount(folio) == 1)
        // The parent's write reuses the now exclusive-again THP only after it is exclusive:
        // a large folio is never reused by wp_can_reuse_anon_folio, so the PMD is split.
        try parent.write([9], at: addr)
        #expect(try parent.read(addr, count: 1) == [9])
    }

    @Test func mprotectOfHalfAPMDSplitsIt() throws {
        let (machine, process) = try makeProcess()
        let addr = try hugeRegion(process, pmds: 1)
        for i in 0..<512 { try process.write(pattern(i), at: addr + UInt64(i) << 12) }
        try process.mm.mprotect(addr: addr + (1 << 20), length: 1 << 20, prot: [.read])
        #expect(!process.tables.entry(at: addr).huge)
        #expect(process.tables.entry(at: addr).pte.isWritable)
        #expect(!process.tables.entry(at: addr + (1 << 20)).pte.isWritable)
        #expect(throws: AccessError.segv(address: addr + (1 << 20), accessError: true)) { try process.write([1], at: addr + (1 << 20)) }
        for i in 0..<512 { #expect(try process.read(addr + UInt64(i) << 12, count: 64) == pattern(i)) }
        let folio = try #require(machine.page(process.tables.entry(at: addr).pte.pfn).flatMap(machine.pageFolio))
        #expect(folio.order == 9 && folio.refcount == 512 && machine.folioMapcount(folio) == 512)
        #expect(machine.pageAnonExclusive(folio.headPage, folio: folio))
    }

    @Test func partialMunmapOfATHPFreesItWhenTheLastMappingGoes() throws {
        let machine = try Machine(ramBytes: 128 << 20)
        let free = machine.totalFreePages
        let process = try Process(machine: machine)
        let addr = try hugeRegion(process, pmds: 1)
        try process.write([1], at: addr)
        try process.mm.munmap(addr: addr, length: 1 << 20)
        #expect(try process.read(addr + (1 << 20), count: 1) == [0])
        try process.mm.munmap(addr: addr + (1 << 20), length: 1 << 20)
        process.exit()
        #expect(machine.totalFreePages == free)
    }

    @Test func mthpOrdersAreUsedWhenEnabled() throws {
        let (machine, process) = try makeProcess()
        machine.thp.mthpOrders = 1 << 4   // hugepages-64kB/enabled = always
        let raw = try process.mmapAnon(1 << 20)
        let addr = (raw + 0xffff) & ~0xffff
        try process.write([5], at: addr + 3 * 4096)
        let pte = process.tables.entry(at: addr + 3 * 4096).pte
        let folio = try #require(machine.page(pte.pfn).flatMap(machine.pageFolio))
        #expect(folio.order == 4 && folio.refcount == 16 && machine.folioMapcount(folio) == 16)
        #expect(process.tables.entry(at: addr).pte.pfn == folio.pfn)
        #expect(try process.read(addr, count: 1) == [0])
    }

    @Test func collapseMakesAPMDOfSmallPagesAndKeepsTheBytes() throws {
        let (machine, process) = try makeProcess()
        machine.thp.mode = .never
        let raw = try process.mmapAnon(4 << 20)
        let addr = (raw + (1 << 21) - 1) & ~((1 << 21) - 1)
        for i in stride(from: 0, to: 512, by: 3) { try process.write(pattern(i), at: addr + UInt64(i) << 12) }
        #expect(!process.tables.entry(at: addr).huge)
        try process.mm.madvise(addr: addr, length: 2 << 20, advice: .collapse)
        #expect(process.tables.entry(at: addr).huge)
        for i in 0..<512 {
            #expect(try process.read(addr + UInt64(i) << 12, count: 64) == (i % 3 == 0 ? pattern(i) : [UInt8](repeating: 0, count: 64)))
        }
        #expect(machine.vmEvents.snapshot.thpCollapse == 1)
    }

    @Test func swapOutOfATHPSplitsTheMappingAndKeepsTheBytes() throws {
        let (machine, process) = try makeProcess()
        _ = try machine.swap.swapon(slots: 2048)
        let addr = try hugeRegion(process, pmds: 1)
        for i in 0..<512 { try process.write(pattern(i), at: addr + UInt64(i) << 12) }
        try process.mm.madvise(addr: addr, length: 2 << 20, advice: .pageOut)
        #expect(process.tables.entry(at: addr).pte.softLeaf == .swap)
        #expect(machine.vmEvents.snapshot.swapOuts == 512)
        for i in 0..<512 { #expect(try process.read(addr + UInt64(i) << 12, count: 64) == pattern(i)) }
    }
}
