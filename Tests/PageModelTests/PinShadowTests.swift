// The exact pin shadow under concurrency (PinShadow.swift): pins taken by several threads
// through GUP-fast and the slow path are all counted, and of several threads unpinning
// the same pins each pin is released once, the other unpins refused. The expected
// values follow from the calls alone: each thread's pins add up, and a pin can be
// released once (gup_put_folio() of a pin that is not there is the bug the exact count
// refuses, `Machine.unpinOfUnpinned`).
import Foundation
import PageLayout
@testable import PageModel
import Testing

@Suite(.serialized) struct PinShadowTests {
    static let pages = 64
    static let threads = 4

    /// A machine of `design` and a process with `pages` written anonymous pages.
    static func populated(_ design: Design) throws -> (Machine, PageModel.Process, UInt64) {
        let machine = try Machine(ramBytes: 128 << 20, design: design)
        let process = try PageModel.Process(machine: machine)
        let base = try process.mmapAnon(UInt64(pages) << 12)
        for i in 0..<pages { try process.write([UInt8(i + 1)], at: base + UInt64(i) << 12) }
        return (machine, process, base)
    }

    /// Threads unpinning the same pinned pages at once (the double unpin the shadow must
    /// refuse, raced): each pin is released exactly once, whichever thread gets there
    /// first, and every other unpin is refused and recorded. Not on a design
    /// that returns proxies: there the first unpin frees the proxy the others would read.
    @Test(arguments: Design.allCases)
    func racingUnpinsOfOnePinReleaseItOnce(design: Design) throws {
        let (machine, process, base) = try Self.populated(design)
        guard !machine.pins.capabilities.returnsProxies else { return }
        // The folios mapped, and their references before any pin (the mapping's).
        let folios = try (0..<Self.pages).map { i in
            let pte = process.tables.entry(at: base + UInt64(i) << 12).pte
            return try #require(machine.page(pte.pfn).flatMap(machine.pageFolio))
        }
        let references = folios.map(\.refcount)
        // Each page pinned `rounds` times, then every thread unpins them all `rounds`
        // times at once: long enough for the threads' unpins to overlap.
        let rounds = 100
        let buffers = PinBuffers(rows: 1, pages: Self.pages)
        for _ in 0..<rounds {
            buffers.counts[0] = process.pinUserPagesFast(start: base, nrPages: Self.pages, flags: .write, into: buffers.rows[0])
            try #require(buffers.counts[0] == Self.pages)
        }
        GUPStressTests.runThreads((0..<Self.threads).map { _ in {
            for _ in 0..<rounds { machine.unpinUserPages(buffers.pinned(0)) }
        } })

        let stats = machine.pinStats
        #expect(stats.pinsAcquired == rounds * Self.pages)
        #expect(stats.pinsReleased == rounds * Self.pages)
        #expect(stats.unpinsOfUnpinned == (Self.threads - 1) * rounds * Self.pages)
        #expect(machine.nodePinCounters(nid: 0) == (rounds * Self.pages, rounds * Self.pages))
        for (folio, before) in zip(folios, references) {
            #expect(machine.exactPins(folio) == 0)
            // The pin's references given back, once: the mapping's are left.
            #expect(folio.refcount == before)
        }
        #expect(machine.diagnostics.of(kind: .bug).isEmpty)
        process.exit()
    }

    /// Threads pinning the same pages through GUP-fast (grab slots) and the slow path
    /// (the shared slots, under their stripe locks) at once: every pin is counted; then
    /// all unpin at once and nothing is refused or left.
    @Test(arguments: [Design.mainline, .memdesc8, .dmaPinnedField])
    func concurrentPinsAreAllCounted(design: Design) throws {
        let (machine, process, base) = try Self.populated(design)
        let buffers = PinBuffers(rows: Self.threads, pages: Self.pages)
        GUPStressTests.runThreads((0..<Self.threads).map { t in {
            if t % 2 == 0 {
                buffers.counts[t] = process.pinUserPagesFast(start: base, nrPages: Self.pages, flags: .write, into: buffers.rows[t])
            } else if let slow = try? process.pinUserPages(start: base, nrPages: Self.pages, flags: .write) {
                for (i, page) in slow.enumerated() { buffers.rows[t][i] = page }
                buffers.counts[t] = slow.count
            }
        } })
        #expect(buffers.counts.allSatisfy { $0 == Self.pages })
        let folios = try buffers.pinned(0).map { try #require(machine.pageFolio($0)) }
        for folio in folios { #expect(machine.exactPins(folio) == Self.threads) }
        #expect(machine.pinStats.outstanding == Self.threads * Self.pages)

        GUPStressTests.runThreads((0..<Self.threads).map { t in {
            machine.unpinUserPages(buffers.pinned(t))
        } })
        let stats = machine.pinStats
        #expect(stats.pinsAcquired == Self.threads * Self.pages)
        #expect(stats.pinsReleased == stats.pinsAcquired)
        #expect(stats.unpinsOfUnpinned == 0)
        for folio in folios {
            #expect(machine.exactPins(folio) == 0)
            #expect(!machine.folioMaybeDMAPinned(folio))
        }
        #expect(machine.pinStats.falseNegatives == 0 && machine.pinStats.falsePositives == 0)
        process.exit()
    }
}

/// The pages each stress thread pinned, shared with the threads: each writes only its
/// own row and count, and the joins of `runThreads` order those writes before the reads.
final class PinBuffers: @unchecked Sendable {
    let rows: [UnsafeMutableBufferPointer<Page>]
    let counts: UnsafeMutableBufferPointer<Int>

    init(rows: Int, pages: Int) {
        self.rows = (0..<rows).map { _ in .allocate(capacity: pages) }
        counts = .allocate(capacity: rows)
        counts.initialize(repeating: 0)
    }

    deinit {
        rows.forEach { $0.deallocate() }
        counts.deallocate()
    }

    /// The pages row `row` pinned.
    func pinned(_ row: Int) -> UnsafeBufferPointer<Page> { UnsafeBufferPointer(rebasing: rows[row][0..<counts[row]]) }
}
