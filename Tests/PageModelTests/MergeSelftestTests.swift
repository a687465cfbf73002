// Ports of tools/testing/selftests/mm/merge.c (Linux v6.19): merging after mprotect() of
// faulted and unfaulted anonymous VMAs, and the fork cases where an anon_vma shared with a
// parent (vma_had_uncowed_parents()) forbids the merge. "Faulting" is anon_vma_prepare();
// "fork" gives the VMA an anon_vma chain of two, as anon_vma_fork() does.
@testable import PageModel
import Testing

@Suite struct MergeSelftestTests {
    /// FIXTURE_SETUP(merge): a 30-page PROT_NONE carve-out to map over.
    private func setUp() throws -> (MM, UInt64) {
        let mm = MM()
        let carveout = try mm.mmap(length: 30 * pageBytes, prot: .none, flags: [.private, .anonymous])
        return (mm, carveout)
    }

    private let rwNoReserve: MapFlags = [.anonymous, .private, .fixed, .noReserve]

    private func vmaRange(_ mm: MM, _ addr: UInt64) -> Range<UInt64>? {
        mm.vmaLookup(addr).map { $0.start..<$0.end }
    }

    @Test func mprotectUnfaultedLeft() throws {
        let (mm, carveout) = try setUp()
        let ptr = try mm.mmap(addr: carveout + pageBytes, length: 10 * pageBytes, prot: [.read, .write], flags: rwNoReserve)
        try mm.mprotect(addr: ptr, length: 5 * pageBytes, prot: .read)
        _ = try mm.anonVMAPrepare(at: ptr + 5 * pageBytes)
        try mm.mprotect(addr: ptr + 5 * pageBytes, length: 5 * pageBytes, prot: .read)
        #expect(vmaRange(mm, ptr) == ptr..<(ptr + 10 * pageBytes))
    }

    @Test func mprotectUnfaultedRight() throws {
        let (mm, carveout) = try setUp()
        let ptr = try mm.mmap(addr: carveout + pageBytes, length: 10 * pageBytes, prot: [.read, .write], flags: rwNoReserve)
        try mm.mprotect(addr: ptr + 5 * pageBytes, length: 5 * pageBytes, prot: .read)
        _ = try mm.anonVMAPrepare(at: ptr)
        try mm.mprotect(addr: ptr, length: 5 * pageBytes, prot: .read)
        #expect(vmaRange(mm, ptr) == ptr..<(ptr + 10 * pageBytes))
    }

    @Test func mprotectUnfaultedBoth() throws {
        let (mm, carveout) = try setUp()
        let ptr = try mm.mmap(addr: carveout + 2 * pageBytes, length: 9 * pageBytes, prot: [.read, .write], flags: rwNoReserve)
        try mm.mprotect(addr: ptr, length: 3 * pageBytes, prot: .read)
        try mm.mprotect(addr: ptr + 6 * pageBytes, length: 3 * pageBytes, prot: .read)
        _ = try mm.anonVMAPrepare(at: ptr + 3 * pageBytes)
        try mm.mprotect(addr: ptr + 3 * pageBytes, length: 3 * pageBytes, prot: .read)
        #expect(vmaRange(mm, ptr) == ptr..<(ptr + 9 * pageBytes))
    }

    @Test func mprotectFaultedLeftUnfaultedRight() throws {
        let (mm, carveout) = try setUp()
        let ptr = try mm.mmap(addr: carveout + 2 * pageBytes, length: 9 * pageBytes, prot: [.read, .write], flags: rwNoReserve)
        try mm.mprotect(addr: ptr + 6 * pageBytes, length: 3 * pageBytes, prot: .read)
        _ = try mm.anonVMAPrepare(at: ptr)
        try mm.mprotect(addr: ptr, length: 3 * pageBytes, prot: .read)
        try mm.mprotect(addr: ptr + 3 * pageBytes, length: 3 * pageBytes, prot: .read)
        #expect(vmaRange(mm, ptr) == ptr..<(ptr + 9 * pageBytes))
    }

    @Test func mprotectUnfaultedLeftFaultedRight() throws {
        let (mm, carveout) = try setUp()
        let ptr = try mm.mmap(addr: carveout + 2 * pageBytes, length: 9 * pageBytes, prot: [.read, .write], flags: rwNoReserve)
        try mm.mprotect(addr: ptr, length: 3 * pageBytes, prot: .read)
        _ = try mm.anonVMAPrepare(at: ptr + 3 * pageBytes)
        try mm.mprotect(addr: ptr + 6 * pageBytes, length: 3 * pageBytes, prot: .read)
        try mm.mprotect(addr: ptr + 3 * pageBytes, length: 3 * pageBytes, prot: .read)
        #expect(vmaRange(mm, ptr) == ptr..<(ptr + 9 * pageBytes))
    }

    @Test func forkedTargetVMA() throws {
        let (mm, carveout) = try setUp()
        let ptr = try mm.mmap(addr: carveout + pageBytes, length: 5 * pageBytes, prot: [.read, .write],
                              flags: [.anonymous, .private, .fixed])
        let anonVMA = try mm.anonVMAPrepare(at: ptr)
        // In the child after fork: the VMA's anon_vma chain links the parent's too.
        let id = try #require(mm.vmaLookup(ptr)?.id)
        mm.setAnon(id, anonVMA, chainLength: 2)
        try mm.mmap(addr: ptr + 5 * pageBytes, length: 5 * pageBytes, prot: [.read, .write],
                    flags: [.anonymous, .private, .fixed])
        // Not merged.
        #expect(vmaRange(mm, ptr) == ptr..<(ptr + 5 * pageBytes))
    }

    @Test func forkedSourceVMA() throws {
        let (mm, carveout) = try setUp()
        let ptr = try mm.mmap(addr: carveout + pageBytes, length: 5 * pageBytes, prot: [.read, .write], flags: rwNoReserve)
        let anonVMA = try mm.anonVMAPrepare(at: ptr)
        let id = try #require(mm.vmaLookup(ptr)?.id)
        mm.setAnon(id, anonVMA, chainLength: 2)
        let ptr2 = try mm.mmap(addr: carveout + 6 * pageBytes, length: 5 * pageBytes, prot: [.read, .write, .exec], flags: rwNoReserve)
        #expect(vmaRange(mm, ptr2) == ptr2..<(ptr2 + 5 * pageBytes))
        // The forked region becomes RWX, compatible but for its anon_vma: not merged.
        try mm.mprotect(addr: ptr, length: 5 * pageBytes, prot: [.read, .write, .exec])
        #expect(vmaRange(mm, ptr2) == ptr2..<(ptr2 + 5 * pageBytes))
        // Without the fork it would have merged.
        mm.setAnon(id, anonVMA, chainLength: 1)
        try mm.mprotect(addr: ptr, length: 5 * pageBytes, prot: [.read, .write])
        try mm.mprotect(addr: ptr, length: 5 * pageBytes, prot: [.read, .write, .exec])
        #expect(vmaRange(mm, ptr2) == ptr..<(ptr2 + 5 * pageBytes))
    }
}
