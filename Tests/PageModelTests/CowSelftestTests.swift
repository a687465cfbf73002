// Port of the non-GUP cases of tools/testing/selftests/mm/cow.c: "Basic COW after
// fork()" (and its mprotect() optimization variant) over every anonymous backing of
// run_anon_test_case() (base page, swapped base page, PMD-mapped THP, swapped PMD THP,
// and for every THP size: PTE-mapped, swapped PTE-mapped, single PTE, swapped single
// PTE, partially mremapped, partially shared), the anon-THP collapse cases, and the
// non-anon "Basic COW" cases (shared zeropage, memfd, tmpfs and disk tmpfiles). Each child snapshots its
// memory, the parent memsets 0xff, and the child must see no change: "No leak from
// parent into child" (child_memcmp_fn()).
import Testing
@testable import PageModel
import PageLayout

enum AnonBacking: CustomStringConvertible, CaseIterable {
    case basePage, swappedBasePage
    case pmdTHP, swappedPMDTHP
    case pteMappedTHP(order: Int), swappedPTEMappedTHP(order: Int), singlePTE(order: Int), swappedSinglePTE(order: Int)
    case partiallyMremappedTHP(order: Int), partiallySharedTHP(order: Int)

    /// The THP sizes of thpsizes[]: the PMD size and every mTHP order (2...8).
    static let thpOrders = Array(2...9)
    static var allCases: [AnonBacking] {
        [.basePage, .swappedBasePage, .pmdTHP, .swappedPMDTHP] + thpOrders.flatMap { order in
            [AnonBacking.pteMappedTHP(order: order), .swappedPTEMappedTHP(order: order), .singlePTE(order: order),
             .swappedSinglePTE(order: order), .partiallyMremappedTHP(order: order), .partiallySharedTHP(order: order)]
        }
    }

    var description: String {
        switch self {
        case .basePage: "base page"
        case .swappedBasePage: "swapped-out base page"
        case .pmdTHP: "PMD-mapped THP (2048 kB)"
        case .swappedPMDTHP: "swapped-out, PMD-mapped THP (2048 kB)"
        case .pteMappedTHP(let o): "PTE-mapped THP (\(4 << o) kB)"
        case .swappedPTEMappedTHP(let o): "swapped-out, PTE-mapped THP (\(4 << o) kB)"
        case .singlePTE(let o): "single PTE-mapped THP (\(4 << o) kB)"
        case .swappedSinglePTE(let o): "swapped-out, single PTE-mapped THP (\(4 << o) kB)"
        case .partiallyMremappedTHP(let o): "partially mremap()'ed THP (\(4 << o) kB)"
        case .partiallySharedTHP(let o): "partially shared THP (\(4 << o) kB)"
        }
    }
}

@Suite struct CowSelftestTests {
    /// What run_with_*() prepares: the memory under test and its size, or nil to SKIP.
    func prepare(_ backing: AnonBacking, _ machine: Machine, _ process: Process) throws -> (UInt64, UInt64)? {
        let page: UInt64 = 4096
        func thp(order: Int) throws -> (UInt64, UInt64) {
            let size = page << UInt64(order)
            if order == 9 { machine.thp.mode = .always } else { machine.thp.mthpOrders = 1 << UInt32(order) }
            let raw = try process.mmapAnon(2 * size)
            let mem = (raw + size - 1) & ~(size - 1)
            try process.mm.madvise(addr: mem, length: size, advice: .hugePage)
            try process.write([UInt8](repeating: 1, count: Int(size)), at: mem)
            return (mem, size)
        }
        func pageOut(_ mem: UInt64, _ size: UInt64) throws -> Bool {
            try process.mm.madvise(addr: mem, length: size, advice: .pageOut)
            return process.tables.entry(at: mem).pte.softLeaf == .swap
        }
        switch backing {
        case .basePage, .swappedBasePage:
            let mem = try process.mmapAnon(page)
            try process.mm.madvise(addr: mem, length: page, advice: .noHugePage)
            try process.write([UInt8](repeating: 1, count: Int(page)), at: mem)
            if case .swappedBasePage = backing, !(try pageOut(mem, page)) { return nil }
            return (mem, page)
        case .pmdTHP, .swappedPMDTHP:
            let (mem, size) = try thp(order: 9)
            guard process.tables.entry(at: mem).huge else { return nil }
            if case .swappedPMDTHP = backing, !(try pageOut(mem, size)) { return nil }
            return (mem, size)
        case .pteMappedTHP(let order), .swappedPTEMappedTHP(let order):
            let (mem, size) = try thp(order: order)
            try process.mm.mprotect(addr: mem, length: page, prot: [.read])
            try process.mm.mprotect(addr: mem, length: page, prot: [.read, .write])
            if case .swappedPTEMappedTHP = backing, !(try pageOut(mem, size)) { return nil }
            return (mem, size)
        case .singlePTE(let order), .swappedSinglePTE(let order):
            let (mem, size) = try thp(order: order)
            try process.mm.madvise(addr: mem + page, length: size - page, advice: .dontNeed)
            if case .swappedSinglePTE = backing, !(try pageOut(mem, page)) { return nil }
            return (mem, page)
        case .partiallyMremappedTHP(let order):
            let (mem, size) = try thp(order: order)
            let target = try process.mmapAnon(size / 2)
            try process.mm.munmap(addr: target, length: size / 2)
            _ = try process.mm.mremap(oldAddr: mem + size / 2, oldLength: size / 2, newLength: size / 2,
                                      flags: [.mayMove, .fixed], newAddr: target)
            return (mem, size / 2)
        case .partiallySharedTHP(let order):
            let (mem, size) = try thp(order: order)
            try process.mm.madvise(addr: mem + page, length: size - page, advice: .dontFork)
            try process.fork().exit()
            try process.mm.madvise(addr: mem + page, length: size - page, advice: .doFork)
            return (mem, size)
        }
    }

    /// test_cow_in_parent(): fork; the child snapshots; the parent (optionally after
    /// mprotect(R) + mprotect(RW)) memsets 0xff; the child compares.
    func cowInParent(_ process: Process, _ mem: UInt64, _ size: UInt64, mprotectOptimization: Bool) throws -> Bool {
        let child = try process.fork()
        defer { child.exit() }
        let old = try child.read(mem, count: Int(size))
        if mprotectOptimization {
            try process.mm.mprotect(addr: mem, length: size, prot: [.read])
            try process.mm.mprotect(addr: mem, length: size, prot: [.read, .write])
        }
        try process.write([UInt8](repeating: 0xff, count: Int(size)), at: mem)
        #expect(try process.read(mem, count: Int(size)) == [UInt8](repeating: 0xff, count: Int(size)))
        return try child.read(mem, count: Int(size)) == old
    }

    @Test("Basic COW after fork()", arguments: AnonBacking.allCases, [false, true])
    func basicCOWAfterFork(_ backing: AnonBacking, mprotectOptimization: Bool) throws {
        let machine = try Machine(ramBytes: 128 << 20)
        _ = try machine.swap.swapon(slots: 4096)
        let process = try Process(machine: machine)
        guard let (mem, size) = try prepare(backing, machine, process) else {
            Issue.record("SKIP: \(backing) was not prepared as the test requires")
            return
        }
        #expect(try cowInParent(process, mem, size, mprotectOptimization: mprotectOptimization), "No leak from parent into child")
    }

    /// The anon-THP collapse cases: COLLAPSE before fork, or after fork with the THP
    /// fully, lower-half or upper-half shared with the child.
    enum Collapse: CaseIterable { case unshared, fullyShared, lowerShared, upperShared }

    @Test("Basic COW after fork() with collapse", arguments: Collapse.allCases)
    func basicCOWWithCollapse(_ collapse: Collapse) throws {
        let machine = try Machine(ramBytes: 128 << 20)
        machine.thp.mode = .never
        let process = try Process(machine: machine)
        let size: UInt64 = 2 << 20
        let raw = try process.mmapAnon(2 * size)
        let mem = (raw + size - 1) & ~(size - 1)
        try process.write([UInt8](repeating: 1, count: Int(size)), at: mem)
        switch collapse {
        case .unshared:
            try process.mm.madvise(addr: mem, length: size, advice: .collapse)
        case .lowerShared:
            try process.mm.madvise(addr: mem + size / 2, length: size / 2, advice: .dontFork)
        case .upperShared:
            try process.mm.madvise(addr: mem, length: size / 2, advice: .dontFork)
        case .fullyShared:
            break
        }
        let child = try process.fork()
        defer { child.exit() }
        if collapse != .unshared {
            if collapse == .lowerShared { try process.mm.madvise(addr: mem + size / 2, length: size / 2, advice: .doFork) }
            if collapse == .upperShared { try process.mm.madvise(addr: mem, length: size / 2, advice: .doFork) }
            try process.mm.madvise(addr: mem, length: size, advice: .collapse)
        }
        #expect(process.tables.entry(at: mem).huge)
        let range: (UInt64, Int) = switch collapse {
        case .lowerShared: (mem, Int(size / 2))
        case .upperShared: (mem + size / 2, Int(size / 2))
        default: (mem, Int(size))
        }
        let old = try child.read(range.0, count: range.1)
        try process.write([UInt8](repeating: 0xff, count: Int(size)), at: mem)
        #expect(try child.read(range.0, count: range.1) == old, "No leak from parent into child")
    }

    /// The non-anon "Basic COW (no GUP)" cases: a private mapping `mem` and a shared (or
    /// second private) read-only mapping `smem` of the same page; memset(mem) must leave
    /// smem alone: "Other mapping not modified".
    @Test("Basic COW (non-anon)", arguments: NonAnonBacking.allCases)
    func basicCOWNonAnon(_ backing: NonAnonBacking) throws {
        let (machine, process) = try makeProcess()
        let (mem, smem) = try backing.map(machine, process)
        let old = try process.read(smem, count: 4096)
        try process.write([UInt8](repeating: 0xff, count: 4096), at: mem)
        #expect(try process.read(smem, count: 4096) == old, "Other mapping not modified")
        #expect(try process.read(mem, count: 4096) == [UInt8](repeating: 0xff, count: 4096))
    }
}
