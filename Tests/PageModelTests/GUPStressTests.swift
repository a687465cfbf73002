// GUP-fast against everything that changes page tables under it: threads pin and unpin
// with pin_user_pages_fast() while others munmap/mmap, fork, migrate and MADV_PAGEOUT the
// same range (bounded iterations). At the end no pin is lost or doubled, nothing is left
// pinned, no descriptor was found freed or corrupted, and every page comes back.
import Foundation
import Testing
@testable import PageModel
import PageLayout

@Suite(.serialized) struct GUPStressTests {
    /// Runs each body on its own thread and waits for all.
    static func runThreads(_ bodies: [@Sendable () -> Void]) {
        let group = DispatchGroup()
        for body in bodies {
            group.enter()
            let thread = Thread {
                body()
                group.leave()
            }
            thread.stackSize = 4 << 20
            thread.start()
        }
        group.wait()
    }

    static let pages = 64
    static let length = UInt64(pages) << 12

    @Test(arguments: Design.allCases)
    func fastPinsRaceUnmapForkMigrateReclaim(design: Design) throws {
        if let only = ProcessInfo.processInfo.environment["GUP_STRESS_DESIGN"], only != design.rawValue { return }
        let machine = try Machine(ramBytes: 256 << 20, design: design)
        _ = try machine.swap.swapon(slots: 4096)
        let freeBefore = machine.totalFreePages
        let freeAtStart = machine.freePfns
        var process: PageModel.Process? = try PageModel.Process(machine: machine)
        let proc = process!
        let base = try proc.mmapAnon(Self.length)
        for i in 0..<Self.pages { try proc.write(pattern(i), at: base + UInt64(i) << 12) }
        let iterations = Int(ProcessInfo.processInfo.environment["GUP_STRESS_ITERATIONS"] ?? "") ?? 300
        let bad = ManagedCounter()
        let pinned = ManagedCounter()
        // SIGBUS counts faults that never settled (a migration entry left behind by a
        // finished migration spins the fault to the livelock guard); SEGV is expected.
        let unsettled = ManagedCounter()
        let access: @Sendable (() throws(AccessError) -> Void) -> Void = { body in
            do throws(AccessError) { try body() } catch .bus { unsettled.add(1) } catch {}
        }

        let pinner: @Sendable (Int) -> Void = { seed in
            var rng = GUPStressRNG(seed: UInt64(seed))
            let buffer = UnsafeMutableBufferPointer<Page>.allocate(capacity: Self.pages)
            defer { buffer.deallocate() }
            for _ in 0..<iterations {
                let first = Int(rng.next() % UInt64(Self.pages))
                let count = 1 + Int(rng.next() % UInt64(Self.pages - first))
                let flags: FollFlags = [[], .write, [.write, .longterm], .longterm][Int(rng.next() % 4)]
                let nr = proc.pinUserPagesFast(start: base + UInt64(first) << 12, nrPages: count, flags: flags, into: buffer)
                guard nr > 0 else { continue }
                pinned.add(nr)
                for i in 0..<nr {
                    let real = machine.proxyTarget(buffer[i]) ?? buffer[i]
                    if machine.isZeroPfn(real.pfn) { continue }
                    // Never a freed page: the pin holds a reference and the count says so.
                    guard let folio = machine.pageFolio(real), folio.refcount > 0, machine.exactPins(folio) > 0 else { bad.add(1); continue }
                }
                machine.unpinUserPages(UnsafeBufferPointer(rebasing: buffer[0..<nr]))
            }
        }
        let unmapper: @Sendable () -> Void = {
            for i in 0..<iterations / 3 {
                let at = base + UInt64(i % 8) << 15   // 8 pages at a time
                try? proc.mm.munmap(addr: at, length: 8 << 12)
                _ = try? proc.mm.mmap(addr: at, length: 8 << 12, prot: [.read, .write], flags: [.private, .anonymous, .fixed])
                access { () throws(AccessError) in try proc.write([UInt8(truncatingIfNeeded: i)], at: at) }
            }
        }
        let forker: @Sendable () -> Void = {
            for _ in 0..<iterations / 10 {
                guard let child = try? proc.fork() else { continue }
                access { () throws(AccessError) in try child.write([0xcc], at: base) }
                child.exit()
            }
        }
        let migrator: @Sendable () -> Void = {
            for _ in 0..<iterations / 3 { _ = proc.migrate(base, length: Self.length, toNode: nil) }
        }
        let reclaimer: @Sendable () -> Void = {
            for i in 0..<iterations / 3 {
                try? proc.mm.madvise(addr: base + UInt64(i % 4) << 16, length: 16 << 12, advice: .pageOut)
                access { () throws(AccessError) in try proc.touch(base, length: Self.length, write: i % 2 == 0) }
            }
        }
        let all: [String: @Sendable () -> Void] = ["pin1": { pinner(1) }, "pin2": { pinner(2) }, "unmap": unmapper, "fork": forker,
                                                   "migrate": migrator, "reclaim": reclaimer]
        let chosen = ProcessInfo.processInfo.environment["GUP_STRESS_WORKERS"]?.split(separator: ",").map(String.init) ?? Array(all.keys)
        Self.runThreads(chosen.compactMap { all[$0] })

        #expect(bad.value == 0)
        #expect(unsettled.value == 0)
        #expect(pinned.value > 0)
        let stats = machine.pinStats
        #expect(stats.pinsAcquired == stats.pinsReleased)
        #expect(stats.outstanding == 0)
        #expect(stats.unpinsOfUnpinned == 0)
        #expect(stats.putsOfPinnedReferences == 0)
        // lru-pinned keeps its pin state in the lru words: a folio that reclaim or
        // migration isolated just before GUP-fast pinned it is put back on the LRU over
        // that state, and the design answers "not pinned" while pins are outstanding
        // (a real hole of the 2018 design; counted, not asserted away).
        if design != .lruPinned && design != .lruPinnedRearranged { #expect(stats.falseNegatives == 0) }
        #expect(stats.corruptions == 0)
        let nodes = machine.nodePinCounters(nid: 0)
        #expect(nodes.acquired == nodes.released)
        // Quiescent: each mapped order-0 anon page's references are its mappings (and
        // the swap cache's), none left over from a pin.
        for i in 0..<Self.pages {
            let pte = proc.tables.entry(at: base + UInt64(i) << 12).pte
            guard pte.isPresent, !pte.isSpecial, let folio = machine.page(pte.pfn).flatMap(machine.pageFolio), !folio.isLarge else { continue }
            let cached: Int32 = machine.swap.cache.contains(folio) ? 1 : 0
            #expect(folio.refcount == Int32(machine.folioMapcount(folio)) + cached, "page \(i) \(folio)")
            #expect(!machine.folioMaybeDMAPinned(folio) || design == .mainline && folio.refcount >= 1024)
        }
        process?.exit()
        process = nil
        #expect(machine.tableRCU.queued == 0)
        // A swap-cache folio whose last swap reference went while another thread held
        // its lock (free_swap_and_cache() only trylocks) stays in the swap cache, on the
        // LRU, until reclaim takes it, as in the kernel; reclaim then gives everything back.
        machine.reclaim(count: 1 << 16)
        let serious = machine.diagnostics.all.filter { $0.kind != .warn }
        #expect(machine.totalFreePages == freeBefore, "\(machine.dumpLeaked(since: freeAtStart))")
        #expect(serious.isEmpty, "\(serious.prefix(2).map { $0.reason + " " + ($0.dump ?? "") })")
    }
}

/// A counter shared by the stress threads.
final class ManagedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add(_ n: Int) { lock.lock(); count += n; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

/// A small deterministic generator (splitmix64).
struct GUPStressRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
