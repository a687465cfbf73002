// Anonymous faults, the zero page, COW and fork: ports of the non-pin cases of
// tools/testing/selftests/mm/cow.c and the kernel's anonymous-fault rules.
import Testing
@testable import PageModel
import PageLayout

@Suite struct AnonFaultTests {
    @Test func readFaultMapsTheZeroPage() throws {
        let (machine, process) = try makeProcess()
        let addr = try process.mmapAnon(4 << 12)
        #expect(try process.read(addr, count: 16) == [UInt8](repeating: 0, count: 16))
        let (pte, huge) = process.tables.entry(at: addr)
        #expect(!huge && pte.isPresent && pte.isSpecial && !pte.isWritable)
        #expect(pte.pfn == machine.zeroPagePfn)
        #expect(machine.vmEvents.snapshot.zeroPageFaults == 1)
    }

    @Test func writeFaultAllocatesAnExclusiveZeroedPage() throws {
        let (machine, process) = try makeProcess()
        let addr = try process.mmapAnon(1 << 20)
        let before = machine.totalFreePages
        try process.write([1, 2, 3], at: addr + 100)
        #expect(try process.read(addr + 99, count: 5) == [0, 1, 2, 3, 0])
        let pte = process.tables.entry(at: addr).pte
        #expect(pte.isPresent && pte.isWritable && pte.isDirty && !pte.isSpecial)
        let folio = try #require(machine.page(pte.pfn).flatMap(machine.pageFolio))
        #expect(folio.refcount == 1)
        #expect(machine.folioMapcount(folio) == 1)
        #expect(machine.folioIsAnon(folio))
        #expect(machine.pageAnonExclusive(folio.headPage, folio: folio))
        #expect(folio.testFlag(machine.flagBits.lru))
        // One data page and the PUD, PMD and PTE tables below the PGD.
        #expect(before - machine.totalFreePages == 4)
        #expect(process.tables.tablePages == 4)
    }

    @Test func writeAfterZeroPageReadCopies() throws {
        let (machine, process) = try makeProcess()
        let addr = try process.mmapAnon(1 << 12)
        _ = try process.read(addr, count: 1)
        try process.write([9], at: addr)
        let pte = process.tables.entry(at: addr).pte
        #expect(pte.pfn != machine.zeroPagePfn && pte.isWritable)
        #expect(machine.vmEvents.snapshot.cowCopies == 1)
        #expect(try process.read(addr, count: 2) == [9, 0])
    }

    @Test func accessErrorsAreSignals() throws {
        let (_, process) = try makeProcess()
        let ro = try process.mmapAnon(1 << 12, prot: [.read])
        #expect(throws: AccessError.segv(address: ro, accessError: true)) { try process.write([1], at: ro) }
        #expect(try process.read(ro, count: 1) == [0])
        let none = try process.mmapAnon(1 << 12, prot: [])
        #expect(throws: AccessError.segv(address: none, accessError: true)) { _ = try process.read(none, count: 1) }
        #expect(throws: AccessError.segv(address: 0x1000, accessError: false)) { _ = try process.read(0x1000, count: 1) }
    }

    @Test func munmapFreesPagesAndTables() throws {
        let (machine, process) = try makeProcess()
        let before = machine.totalFreePages
        let addr = try process.mmapAnon(64 << 12)
        for i in 0..<64 { try process.write(pattern(i), at: addr + UInt64(i) << 12) }
        #expect(before - machine.totalFreePages == 64 + 3)
        try process.mm.munmap(addr: addr, length: 64 << 12)
        #expect(machine.totalFreePages == before)
        #expect(process.tables.tablePages == 1)
        #expect(throws: AccessError.segv(address: addr, accessError: false)) { _ = try process.read(addr, count: 1) }
    }

    @Test func forkSharesCOWAndKeepsDataPrivate() throws {
        let (machine, parent) = try makeProcess()
        let addr = try parent.mmapAnon(16 << 12)
        for i in 0..<16 { try parent.write(pattern(i, 1), at: addr + UInt64(i) << 12) }
        let child = try parent.fork()
        let shared = parent.tables.entry(at: addr).pte
        #expect(child.tables.entry(at: addr).pte.pfn == shared.pfn)
        #expect(!shared.isWritable)
        let folio = try #require(machine.page(shared.pfn).flatMap(machine.pageFolio))
        #expect(machine.folioMapcount(folio) == 2 && folio.refcount == 2)
        #expect(!machine.pageAnonExclusive(folio.headPage, folio: folio))
        // cow.c: the child writes; the parent must not see it, and vice versa.
        try child.write(pattern(0, 2), at: addr)
        try parent.write(pattern(1, 3), at: addr + 4096)
        #expect(try parent.read(addr, count: 64) == pattern(0, 1))
        #expect(try child.read(addr, count: 64) == pattern(0, 2))
        #expect(try child.read(addr + 4096, count: 64) == pattern(1, 1))
        #expect(try parent.read(addr + 4096, count: 64) == pattern(1, 3))
        #expect(machine.vmEvents.snapshot.cowCopies == 2)
        // After the child's copy the parent's page is mapped once: its write reuses it.
        #expect(machine.folioMapcount(folio) == 1)
        try parent.write([7], at: addr)
        #expect(parent.tables.entry(at: addr).pte.pfn == shared.pfn)
        #expect(machine.vmEvents.snapshot.cowReuses == 1)
        for i in 2..<16 { #expect(try child.read(addr + UInt64(i) << 12, count: 64) == pattern(i, 1)) }
    }

    @Test func sharedAnonymousMemoryIsVisibleInTheChild() throws {
        let (_, parent) = try makeProcess()
        let addr = try parent.mmapAnon(4 << 12, flags: [.shared, .anonymous])
        try parent.write([1, 2], at: addr)
        let child = try parent.fork()
        try child.write([3], at: addr + 1)
        #expect(try parent.read(addr, count: 2) == [1, 3])
    }

    @Test func exitReturnsEverything() throws {
        let machine = try Machine(ramBytes: 128 << 20)
        let before = machine.totalFreePages
        do {
            let process = try Process(machine: machine)
            let addr = try process.mmapAnon(8 << 20)
            for i in stride(from: 0, to: 8 << 20, by: 4096) { try process.store(UInt64(i), at: addr + UInt64(i)) }
            let child = try process.fork()
            try child.store(1, at: addr)
            child.exit()
            process.exit()
        }
        #expect(machine.totalFreePages == before)
    }
}
