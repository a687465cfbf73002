import PageLayout
@testable import PageModel
import Testing

/// Mainline's overflow refusal (mm/gup.c try_grab_folio(): WARN_ON_ONCE(folio_ref_count
/// (folio) <= 0) → -ENOMEM): on a small folio each pin adds 1024, so 2^21 pins take the
/// refcount from 1 past INT_MAX into the sign bit (folio_maybe_dma_pinned() reads it
/// unsigned and still says yes); the next pin sees a refcount ≤ 0 and is refused.
@Suite struct PinOverflowTests {
    @Test func mainlineSmallFolioOverflow() throws {
        let machine = try Machine(ramBytes: 128 << 20, design: .mainline)
        let folio = try #require(machine.folioAlloc(.highuserMovable, order: 0))
        let limit = 1 << 21   // "31-10==21 bits available for a counter that increments 10 bits at a time"
        for _ in 0..<limit { try machine.tryGrabFolio(folio) }
        #expect(folio.refcount == Int32(truncatingIfNeeded: 1 + (Int64(limit) << 10)))
        #expect(folio.refcount < 0)
        #expect(machine.folioMaybeDMAPinned(folio))
        #expect(throws: Errno.ENOMEM) { try machine.tryGrabFolio(folio) }
        #expect(machine.diagnostics.of(kind: .warn).count == 1)
        #expect(machine.pinStats.refusedGrabs == 1)
        #expect(machine.exactPins(folio) == limit)
        #expect(machine.nodePinCounters(nid: 0) == (limit, 0))
        // GUP-fast refuses too (try_get_folio: WARN_ON_ONCE(folio_ref_count(folio) < 0)).
        #expect(machine.tryGrabFolioFast(folio.headPage) == nil)
        // Unpinning them all comes back to the owner's reference, without an underflow.
        machine.gupPutFolio(folio, refs: Int32(limit))
        #expect(folio.refcount == 1)
        #expect(machine.diagnostics.of(kind: .bug).isEmpty)
        #expect(machine.pinStats.outstanding == 0)
        #expect(machine.pinStats.falsePositives == 0)
    }

    /// The large-folio path and every exact design hit the same refcount limit, with
    /// one reference per pin: 2048 grabs of 2^20 take it from 1 to 1 + 2^31 (negative),
    /// and the 2049th is refused with ENOMEM.
    @Test(arguments: [Design.mainline, .dmaPinnedField, .lruPinned, .pageExt, .memdesc32, .memdesc8])
    func exactDesignsOverflowTheRefcount(design: Design) throws {
        let machine = try Machine(ramBytes: 128 << 20, design: design)
        let folio = try #require(machine.folioAlloc(.highuserMovable, order: design == .mainline ? 1 : 0))
        for _ in 0..<2048 { try machine.tryGrabFolio(folio, refs: 1 << 20) }
        #expect(folio.refcount == Int32.min + 1)
        #expect(throws: Errno.ENOMEM) { try machine.tryGrabFolio(folio, refs: 1 << 20) }
        #expect(machine.exactPins(folio) == 1 << 31)
        #expect(machine.pinStats.refusedGrabs == 1)
        // 2^31 pins wrap an atomic_t count to INT_MIN: the designs that answer from the
        // count say "not pinned" (a counted false negative); those with a flag do not.
        let answersFromFlag = design == .lruPinned || design == .pageExt
        #expect(machine.folioMaybeDMAPinned(folio) == answersFromFlag)
        #expect(machine.pinStats.falseNegatives == (answersFromFlag ? 0 : 1))
        for _ in 0..<2048 { machine.gupPutFolio(folio, refs: 1 << 20) }
        #expect(folio.refcount == 1)
        #expect(machine.pinStats.outstanding == 0)
        #expect(machine.diagnostics.of(kind: .bug).isEmpty)
    }
}
