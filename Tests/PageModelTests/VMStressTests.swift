// Several threads fault, write, fork, unmap, swap and migrate one address space at once;
// at the end every byte a thread owns reads back, and refcounts, mapcounts, free pages
// and swap slots balance. Run under Thread Sanitizer in CI (.ci/run).
import Testing
import Foundation
@testable import PageModel
import PageLayout

@Suite struct VMStressTests {
    @Test(arguments: Design.allCases)
    func concurrentFaultsForksUnmapsSwapAndMigration(_ design: Design) throws {
        let machine = try Machine(ramBytes: 256 << 20, design: design, nodes: 2)
        _ = try machine.swap.swapon(slots: 8192)
        let free = machine.totalFreePages
        let errors = DataErrorCounter()
        do {
            let process = try Process(machine: machine)
            let threads = 4, pagesPerThread: UInt64 = 64, rounds = 40
            let base = try process.mmapAnon(UInt64(threads) * pagesPerThread << 12)
            DispatchQueue.concurrentPerform(iterations: threads + 2) { worker in
                if worker < threads {
                    // A writer owns its slice and checks it after every round.
                    let slice = base + UInt64(worker) * pagesPerThread << 12
                    for round in 0..<rounds {
                        for p in 0..<pagesPerThread {
                            try? process.store(UInt64(worker << 32 | round << 16) | p, at: slice + p << 12)
                        }
                        for p in 0..<pagesPerThread {
                            let value = (try? process.load(slice + p << 12)) ?? .max
                            if value != UInt64(worker << 32 | round << 16) | p { errors.add() }
                        }
                    }
                } else if worker == threads {
                    // Fork and let the child check and scribble, then exit.
                    for _ in 0..<4 {
                        guard let child = try? process.fork() else { continue }
                        try? child.store(0xdead, at: base)
                        child.exit()
                    }
                } else {
                    // Reclaim, swap and migrate underneath.
                    for round in 0..<rounds {
                        machine.reclaim(nid: round % 2, count: 32)
                        _ = process.migrate(base, length: UInt64(threads) * pagesPerThread << 12, toNode: (round + 1) % 2,
                                            gfp: GFP.highuserMovable.union(.thisnode))
                        try? process.mm.madvise(addr: base, length: 16 << 12, advice: .pageOut)
                    }
                }
            }
            // Unmap a slice while another thread faults next to it.
            DispatchQueue.concurrentPerform(iterations: 2) { worker in
                if worker == 0 { try? process.mm.munmap(addr: base, length: pagesPerThread << 12) }
                else { for p in 0..<pagesPerThread { try? process.store(p, at: base + (pagesPerThread + p) << 12) } }
            }
            for p in 0..<pagesPerThread where (try? process.load(base + (pagesPerThread + p) << 12)) != p { errors.add() }
            // Every mapped folio's counts are consistent.
            for p in 0..<(UInt64(threads) * pagesPerThread) {
                let pte = process.tables.entry(at: base + p << 12).pte
                guard pte.isPresent, let folio = machine.page(pte.pfn).flatMap(machine.pageFolio) else { continue }
                if folio.refcount < Int32(machine.folioMapcount(folio)) { errors.add() }
            }
            process.exit()
        }
        let events = machine.vmEvents.snapshot
        #expect(events.faults >= 4 * 64 && events.migrations > 0 && events.swapOuts > 0)
        #expect(errors.value == 0)
        #expect(machine.swap.devices[0].inusePages == 0)
        #expect(machine.swap.cache.nrSwapcache == 0)
        #expect(machine.tableRCU.queued == 0)
        #expect(machine.totalFreePages == free)
        #expect(machine.diagnostics.all.filter { $0.kind != .warn }.isEmpty)
    }
}

/// A thread-safe error tally.
final class DataErrorCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
