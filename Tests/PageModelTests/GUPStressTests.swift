// GUP-fast against everything that changes page tables under it: threads pin and unpin
// with pin_user_pages_fast() while others munmap/mmap, fork, migrate and MADV_PAGEOUT the
// same range (bounded iterations). At the end no pin is lost or doubled, nothing is left
// pinned, no descriptor was found freed or corrupted, and every page comes back.
import Foundation
import TestSupport
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
        let machine = try Machine(ramBytes: 256 << 20, design: design)
        _ = try machine.swap.swapon(slots: 4096)
        let freeBefore = machine.totalFreePages
        let freeAtStart = machine.freePfns
        var process: PageModel.Process? = try PageModel.Process(machine: machine)
        let proc = process!
        let base = try proc.mmapAnon(Self.length)
        for i in 0..<Self.pages { try proc.write(pattern(i), at: base + UInt64(i) << 12) }
        // GUP_STRESS_ITERATIONS can only make the run longer: every design always runs
        // every worker for at least 300 iterations.
        let iterations = max(300, Int(ProcessInfo.processInfo.environment["GUP_STRESS_ITERATIONS"] ?? "") ?? 300)
        let bad = ManagedCounter()
        let pinned = ManagedCounter()
        // SIGBUS counts faults that never settled (a migration entry left behind by a
        // finished migration spins the fault to the livelock guard). SIGSEGV with
        // SEGV_MAPERR is expected (the unmapper's window between munmap and mmap); any
        // other error of an access or a call is recorded and fails the test.
        let unsettled = ManagedCounter()
        let unexpected = ErrorRecorder()
        let access: @Sendable (String, () throws(AccessError) -> Void) -> Void = { what, body in
            do throws(AccessError) { try body() } catch {
                switch error {
                case .bus: unsettled.add(1)
                case .segv(_, accessError: false): break
                default: unexpected.record("\(what): \(error)")
                }
            }
        }
        /// A call that must not fail, or fail only with one of `allowed`.
        let call: @Sendable (String, Set<Errno>, () throws(Errno) -> Void) -> Void = { what, allowed, body in
            do throws(Errno) { try body() } catch { if !allowed.contains(error) { unexpected.record("\(what): \(error)") } }
        }

        let pinner: @Sendable (Int) -> Void = { seed in
            var rng = SplitMix64(state: UInt64(seed))
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
                call("munmap", []) { () throws(Errno) in try proc.mm.munmap(addr: at, length: 8 << 12) }
                call("mmap", []) { () throws(Errno) in
                    _ = try proc.mm.mmap(addr: at, length: 8 << 12, prot: [.read, .write], flags: [.private, .anonymous, .fixed])
                }
                access("write after mmap") { () throws(AccessError) in try proc.write([UInt8(truncatingIfNeeded: i)], at: at) }
            }
        }
        let forker: @Sendable () -> Void = {
            for _ in 0..<iterations / 10 {
                let child: PageModel.Process
                do throws(Errno) { child = try proc.fork() } catch {
                    unexpected.record("fork: \(error)")
                    continue
                }
                access("child write") { () throws(AccessError) in try child.write([0xcc], at: base) }
                child.exit()
            }
        }
        let migrator: @Sendable () -> Void = {
            for _ in 0..<iterations / 3 { _ = proc.migrate(base, length: Self.length, toNode: nil) }
        }
        let reclaimer: @Sendable () -> Void = {
            for i in 0..<iterations / 3 {
                // madvise() over the unmapper's hole: -ENOMEM after advising what is mapped.
                call("MADV_PAGEOUT", [.ENOMEM]) { () throws(Errno) in
                    try proc.mm.madvise(addr: base + UInt64(i % 4) << 16, length: 16 << 12, advice: .pageOut)
                }
                access("touch") { () throws(AccessError) in try proc.touch(base, length: Self.length, write: i % 2 == 0) }
            }
        }
        let all: [String: @Sendable () -> Void] = ["pin1": { pinner(1) }, "pin2": { pinner(2) }, "unmap": unmapper, "fork": forker,
                                                   "migrate": migrator, "reclaim": reclaimer]
        Self.runThreads(Array(all.values))

        #expect(bad.value == 0)
        #expect(unsettled.value == 0)
        #expect(unexpected.all.isEmpty, "\(unexpected.all.prefix(3))")
        #expect(pinned.value > 0)
        let stats = machine.pinStats
        #expect(stats.pinsAcquired == stats.pinsReleased)
        #expect(stats.outstanding == 0)
        #expect(stats.unpinsOfUnpinned == 0)
        #expect(stats.putsOfPinnedReferences == 0)
        // lru-pinned keeps its pin state in the lru words: a folio that reclaim or
        // migration isolated just before GUP-fast pinned it is put back on the LRU over
        // that state, and the design answers "not pinned" while pins are outstanding (a
        // real hole of the 2018 design). Every false negative must come from such a lost
        // state, which the unpin then finds gone ("put_user_page: page is not
        // PageDmaPinned"); no other design may answer "not pinned" for a pinned folio.
        let lostStates = machine.diagnostics.of(kind: .warn).filter { $0.reason.hasPrefix("put_user_page: page is not PageDmaPinned") }.count
        if design == .lruPinned || design == .lruPinnedRearranged {
            #expect(stats.falseNegatives == 0 || lostStates > 0, "\(stats.falseNegatives) false negatives without a lost pin state")
        } else {
            #expect(stats.falseNegatives == 0)
            #expect(lostStates == 0)
        }
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

/// Errors the stress threads did not expect, for the test to report.
final class ErrorRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var errors: [String] = []
    func record(_ error: String) { lock.lock(); errors.append(error); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return errors }
}

/// A counter shared by the stress threads.
final class ManagedCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func add(_ n: Int) { lock.lock(); count += n; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}

