// VMA operations with pages behind them: mremap moves the bytes, madvise drops or keeps
// them as Linux does, mprotect splits keep them, guard regions fault, fork honours
// MADV_DONTFORK/MADV_WIPEONFORK (mm/mremap.c, mm/madvise.c, mm/mprotect.c, kernel/fork.c).
import Testing
@testable import PageModel
import PageLayout

@Suite struct VMADataTests {
    @Test(arguments: Design.allCases)
    func forkCOWOnEveryDesign(_ design: Design) throws {
        let (machine, parent) = try makeProcess(design)
        let addr = try parent.mmapAnon(8 << 12)
        for i in 0..<8 { try parent.write(pattern(i, 1), at: addr + UInt64(i) << 12) }
        let child = try parent.fork()
        for i in 0..<8 { try child.write(pattern(i, 2), at: addr + UInt64(i) << 12) }
        for i in 0..<8 {
            #expect(try parent.read(addr + UInt64(i) << 12, count: 64) == pattern(i, 1))
            #expect(try child.read(addr + UInt64(i) << 12, count: 64) == pattern(i, 2))
        }
        #expect(machine.vmEvents.snapshot.cowCopies == 8)
        #expect(machine.diagnostics.of(kind: .bug).isEmpty)
    }

    @Test func mremapMovesTheBytesAndTheOldRangeIsGone() throws {
        let (_, process) = try makeProcess()
        let addr = try process.mmapAnon(4 << 12)
        for i in 0..<4 { try process.write(pattern(i), at: addr + UInt64(i) << 12) }
        // A neighbour right above keeps the mapping from growing in place.
        try process.mm.mmap(addr: addr + 4 << 12, length: 4096, prot: [.read], flags: [.private, .anonymous, .fixedNoReplace])
        let new = try process.mm.mremap(oldAddr: addr, oldLength: 4 << 12, newLength: 64 << 12, flags: [.mayMove])
        #expect(new != addr)
        for i in 0..<4 { #expect(try process.read(new + UInt64(i) << 12, count: 64) == pattern(i)) }
        #expect(try process.read(new + 10 << 12, count: 1) == [0])
        #expect(throws: AccessError.segv(address: addr, accessError: false)) { _ = try process.read(addr, count: 1) }
    }

    @Test func mremapDontUnmapLeavesAnEmptyOldRange() throws {
        let (_, process) = try makeProcess()
        let addr = try process.mmapAnon(2 << 12)
        try process.write(pattern(5), at: addr)
        let new = try process.mm.mremap(oldAddr: addr, oldLength: 2 << 12, newLength: 2 << 12, flags: [.mayMove, .dontUnmap])
        #expect(try process.read(new, count: 64) == pattern(5))
        #expect(try process.read(addr, count: 64) == [UInt8](repeating: 0, count: 64))
    }

    @Test func dontNeedZeroesPrivateAnonymousMemory() throws {
        let (machine, process) = try makeProcess()
        let addr = try process.mmapAnon(4 << 12)
        for i in 0..<4 { try process.write(pattern(i), at: addr + UInt64(i) << 12) }
        let free = machine.totalFreePages
        try process.mm.madvise(addr: addr + 4096, length: 2 << 12, advice: .dontNeed)
        #expect(machine.totalFreePages == free + 2)
        #expect(try process.read(addr + 4096, count: 64) == [UInt8](repeating: 0, count: 64))
        #expect(try process.read(addr, count: 64) == pattern(0))
        #expect(try process.read(addr + 3 << 12, count: 64) == pattern(3))
    }

    @Test func lazyFreeIsDroppedByReclaimUnlessWrittenAgain() throws {
        let (machine, process) = try makeProcess()
        let addr = try process.mmapAnon(2 << 12)
        try process.write(pattern(0), at: addr)
        try process.write(pattern(1), at: addr + 4096)
        try process.mm.madvise(addr: addr, length: 2 << 12, advice: .free)
        try process.write([0x11], at: addr + 4096)   // written again: must survive
        let result = machine.reclaim(count: 16)
        #expect(result.reclaimed == 1)
        #expect(try process.read(addr, count: 64) == [UInt8](repeating: 0, count: 64))
        #expect(try process.read(addr + 4096, count: 2) == [0x11, pattern(1)[1]])
    }

    @Test func mprotectSplitAndMergeKeepTheBytes() throws {
        let (_, process) = try makeProcess()
        let addr = try process.mmapAnon(8 << 12)
        for i in 0..<8 { try process.write(pattern(i), at: addr + UInt64(i) << 12) }
        try process.mm.mprotect(addr: addr + 2 << 12, length: 2 << 12, prot: [.read])
        #expect(process.mm.mapCount == 3)
        #expect(throws: AccessError.segv(address: addr + 2 << 12, accessError: true)) { try process.write([0], at: addr + 2 << 12) }
        try process.mm.mprotect(addr: addr + 2 << 12, length: 2 << 12, prot: [.read, .write])
        #expect(process.mm.mapCount == 1)
        try process.write([0xaa], at: addr + 2 << 12)
        for i in 0..<8 where i != 2 { #expect(try process.read(addr + UInt64(i) << 12, count: 64) == pattern(i)) }
    }

    @Test func guardRegionsFaultAndSurviveDontNeed() throws {
        let (_, process) = try makeProcess()
        let addr = try process.mmapAnon(4 << 12)
        try process.write([1], at: addr + 4096)
        try process.mm.madvise(addr: addr + 4096, length: 4096, advice: .guardInstall)
        #expect(throws: AccessError.segv(address: addr + 4096, accessError: true)) { _ = try process.read(addr + 4096, count: 1) }
        try process.mm.madvise(addr: addr, length: 4 << 12, advice: .dontNeed)
        #expect(throws: AccessError.segv(address: addr + 4096, accessError: true)) { _ = try process.read(addr + 4096, count: 1) }
        try process.mm.madvise(addr: addr + 4096, length: 4096, advice: .guardRemove)
        #expect(try process.read(addr + 4096, count: 1) == [0])
    }

    @Test func dontForkAndWipeOnFork() throws {
        let (_, parent) = try makeProcess()
        let kept = try parent.mmapAnon(4096)
        let hidden = try parent.mmapAnon(4096)
        let wiped = try parent.mmapAnon(4096)
        for addr in [kept, hidden, wiped] { try parent.write([0x5a], at: addr) }
        try parent.mm.madvise(addr: hidden, length: 4096, advice: .dontFork)
        try parent.mm.madvise(addr: wiped, length: 4096, advice: .wipeOnFork)
        let child = try parent.fork()
        #expect(try child.read(kept, count: 1) == [0x5a])
        #expect(throws: AccessError.segv(address: hidden, accessError: false)) { _ = try child.read(hidden, count: 1) }
        #expect(try child.read(wiped, count: 1) == [0])
        #expect(try parent.read(wiped, count: 1) == [0x5a])
    }

    @Test func mlockedPagesAreNotReclaimed() throws {
        let (machine, process) = try makeProcess()
        _ = try machine.swap.swapon(slots: 64)
        let addr = try process.mmapAnon(4 << 12)
        for i in 0..<4 { try process.write(pattern(i), at: addr + UInt64(i) << 12) }
        try process.mm.mlock(addr: addr, length: 2 << 12)
        let result = machine.reclaim(count: 16)
        #expect(result.swappedOut == 2)
        #expect(process.tables.entry(at: addr).pte.isPresent)
        #expect(process.tables.entry(at: addr + 3 << 12).pte.softLeaf == .swap)
    }
}
