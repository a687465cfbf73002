// The memdesc designs' GUP-fast and unpin fast path (issue 19 item 4): that it is taken
// for order-0 folios in RAM, and that it leaves the folio descriptor, the statistics and
// the exact shadow as the generic step does. Expected values from mm/gup.c (v6.19):
// try_grab_folio_fast() takes one reference (try_get_folio()) and, on a folio with a
// pincount (every memdesc folio), atomic_add(refs, &folio->_pincount); gup_fast_pte_range()
// calls folio_set_referenced(); gup_put_folio() does atomic_sub(refs, &folio->_pincount)
// and folio_put_refs(folio, refs); folio_maybe_dma_pinned() of a folio with a pincount is
// atomic_read(&folio->_pincount) > 0.
import Testing
@testable import PageModel
import PageLayout

@Suite struct MemdescFastPathTests {
    static let pages = 16

    /// A process with two faulted anonymous runs of `pages` 4 KiB pages on `design`.
    static func twoRuns(_ design: Design) throws -> (Machine, Process, UInt64, UInt64) {
        let (machine, process) = try makeProcess(design)
        let a = try process.mmapAnon(UInt64(pages) << 12)
        let b = try process.mmapAnon(UInt64(pages) << 12)
        for i in 0..<pages {
            try process.write(pattern(i), at: a + UInt64(i) << 12)
            try process.write(pattern(i), at: b + UInt64(i) << 12)
        }
        return (machine, process, a, b)
    }

    /// The folio (descriptor) of the page mapped at `addr`.
    static func folio(_ machine: Machine, _ process: Process, _ addr: UInt64) throws -> Folio {
        let pte = process.tables.entry(at: addr).pte
        return try #require(machine.memmap.page(pte.pfn).flatMap { machine.pageFolio($0) })
    }

    /// The fast loop itself (`gupFastMainlinePTEs`, `unpinMainlineFast`) specialized for
    /// memdesc takes every page of an order-0 anonymous run, where before this change
    /// `MainlineFastPath` did not resolve for a memdesc machine and every page took the
    /// generic step.
    @Test(arguments: [Design.memdesc32, .memdesc8])
    func fastLoopTakesOrderZeroFolios(design: Design) throws {
        let (machine, process, a, _) = try Self.twoRuns(design)
        let fast = try #require(MainlineFastPath(machine))
        let tables = process.tables
        // The PMD entry over `a` (gup_fast_pgd_range() down to gup_fast_pte_range()).
        let pgd = tables.slot(tables.pgdPfn, Paging.index(a, Paging.pgdShift)).load()
        let pud = tables.slot(pgd.pfn, Paging.index(a, Paging.pudShift)).load()
        let pmdSlot = tables.slot(pud.pfn, Paging.index(a, Paging.pmdShift))
        let pmd = pmdSlot.load()
        #expect(pmd.isPresent && !pmd.isLeaf)
        var slot = tables.slot(pmd.pfn, Paging.index(a, Paging.pageShift))
        var addr = a, nr = 0, batch = PinStatBatch()
        var buffer = [Page](repeating: Page(unchecked: 0, machine.context), count: Self.pages)
        let done = buffer.withUnsafeMutableBufferPointer {
            machine.gupFastMainlinePTEs(MemdescFastPins(), fast, slot: &slot, addr: &addr, end: a + UInt64(Self.pages) << 12, pmd: pmd,
                                        pmdSlot: pmdSlot, flags: [.pin, .write], pages: $0.baseAddress!, nr: &nr, batch: &batch)
        }
        machine.flush(&batch)
        #expect(done == true)
        #expect(nr == Self.pages)
        for i in 0..<Self.pages { #expect(buffer[i].pfn == tables.entry(at: a + UInt64(i) << 12).pte.pfn) }
        #expect(machine.pinStats.pinsAcquired == Self.pages)
        var unpinBatch = PinStatBatch()
        let taken = buffer.withUnsafeBufferPointer { machine.unpinMainlineFast(MemdescFastPins(), fast, $0, from: 0, batch: &unpinBatch) }
        machine.flush(&unpinBatch)
        #expect(taken == Self.pages)
        #expect(machine.pinStats.outstanding == 0)
        #expect(machine.pinStats.pinsReleased == Self.pages)
        #expect(machine.diagnostics.count == 0)
    }

    /// The struct-page designs' fast path does not take a memdesc machine's pages, nor
    /// memdesc's a struct-page machine's (a design on a layout not its own takes the
    /// generic step).
    @Test func fastPathResolvesOnlyForTheLayoutsFolios() throws {
        #expect(HotTracker.mainline.hasFastPath(foliosAreDescriptors: false))
        #expect(!HotTracker.mainline.hasFastPath(foliosAreDescriptors: true))
        for design in [Design.memdesc32, .memdesc8] {
            let (machine, _) = try makeProcess(design)
            #expect(machine.pins.hot.hasFastPath(foliosAreDescriptors: true))
            #expect(!machine.pins.hot.hasFastPath(foliosAreDescriptors: false))
            #expect(MemdescFolioLookup(machine.context).isUsable)
            #expect(MainlineFastPath(machine) != nil)
        }
        let (mainline, _) = try makeProcess(.mainline)
        #expect(!MemdescFolioLookup(mainline.context).isUsable)
        #expect(MainlineFastPath(mainline) != nil)
    }

    /// One run pinned by `pin_user_pages_fast()`'s fast path and unpinned by
    /// `unpin_user_pages()`'s; the other pinned by the generic step (FOLL_LONGTERM, which
    /// the fast path leaves to it: anonymous memory outside ZONE_MOVABLE, so the pin is
    /// the same) and unpinned one page at a time by `unpin_user_page()`
    /// (`gup_put_folio()`). Each descriptor must change as mm/gup.c says, and the two
    /// runs alike.
    @Test(arguments: [Design.memdesc32, .memdesc8])
    func fastAndGenericPinsChangeTheDescriptorAlike(design: Design) throws {
        let (machine, process, a, b) = try Self.twoRuns(design)
        let referenced = machine.flagBits.referenced
        let fastFolios = try (0..<Self.pages).map { try Self.folio(machine, process, a + UInt64($0) << 12) }
        let slowFolios = try (0..<Self.pages).map { try Self.folio(machine, process, b + UInt64($0) << 12) }
        let refsBefore = fastFolios.map(\.refcount) + slowFolios.map(\.refcount)
        for folio in fastFolios + slowFolios {
            #expect(folio.order == 0)
            #expect(folio.pincount == 0)
            #expect(!machine.folioMaybeDMAPinned(folio))
        }
        var fastPages = [Page](repeating: Page(unchecked: 0, machine.context), count: Self.pages)
        var slowPages = fastPages
        let tables = process.tables
        let nrFast = fastPages.withUnsafeMutableBufferPointer {
            tables.gupFast(start: a, end: a + UInt64(Self.pages) << 12, flags: [.pin, .write], pages: $0.baseAddress!)
        }
        let nrSlow = slowPages.withUnsafeMutableBufferPointer {
            tables.gupFast(start: b, end: b + UInt64(Self.pages) << 12, flags: [.pin, .write, .longterm], pages: $0.baseAddress!)
        }
        #expect(nrFast == Self.pages && nrSlow == Self.pages)
        for i in 0..<Self.pages {
            let (f, s) = (fastFolios[i], slowFolios[i])
            #expect(fastPages[i].pfn == f.pfn && slowPages[i].pfn == s.pfn)
            // try_get_folio(): one reference per pin; _pincount + 1; PG_referenced.
            #expect(f.refcount == refsBefore[i] + 1)
            #expect(s.refcount == refsBefore[Self.pages + i] + 1)
            #expect(f.pincount == 1 && s.pincount == 1)
            #expect(f.testFlag(referenced) && s.testFlag(referenced))
            #expect(f.flags == s.flags)
            #expect(machine.folioMaybeDMAPinned(f) && machine.folioMaybeDMAPinned(s))
            #expect(machine.pins.exactPins(folioPfn: f.pfn) == 1 && machine.pins.exactPins(folioPfn: s.pfn) == 1)
        }
        #expect(machine.pinStats.pinsAcquired == 2 * Self.pages)
        #expect(machine.pins.nodeCounters[0].acquired == 2 * Self.pages)
        fastPages.withUnsafeBufferPointer { machine.unpinUserPages($0) }
        for page in slowPages { machine.unpinUserPage(page) }
        for (i, folio) in (fastFolios + slowFolios).enumerated() {
            #expect(folio.refcount == refsBefore[i])
            #expect(folio.pincount == 0)
            #expect(!machine.folioMaybeDMAPinned(folio))
            #expect(machine.pins.exactPins(folioPfn: folio.pfn) == 0)
        }
        #expect(fastFolios.map(\.flags) == slowFolios.map(\.flags))
        let stats = machine.pinStats
        #expect(stats.pinsReleased == 2 * Self.pages && stats.outstanding == 0)
        #expect(stats.falsePositives == 0 && stats.falseNegatives == 0)
        #expect(machine.pins.nodeCounters[0].released == 2 * Self.pages)
        #expect(machine.diagnostics.count == 0)
        for i in 0..<Self.pages { #expect(try process.read(a + UInt64(i) << 12, count: 64) == pattern(i)) }
    }

    /// The last reference going with the unpin (the page unmapped while pinned): the
    /// fast unpin frees the folio through the descriptor, as `folio_put_refs()` does, and
    /// the memory and its descriptor go back.
    @Test(arguments: [Design.memdesc32, .memdesc8])
    func fastUnpinOfTheLastReferenceFreesTheFolio(design: Design) throws {
        let (machine, process, a, _) = try Self.twoRuns(design)
        let folios = try (0..<Self.pages).map { try Self.folio(machine, process, a + UInt64($0) << 12) }
        let pages = try process.pinUserPagesFast(start: a, nrPages: Self.pages, flags: .write)
        let heapBefore = machine.heap.usage()[.folio]?.count ?? 0
        try process.mm.munmap(addr: a, length: UInt64(Self.pages) << 12)
        for folio in folios {
            // Unmapped: the pin's reference is the last one.
            #expect(folio.refcount == 1 && folio.pincount == 1)
        }
        let pfns = Set(folios.map(\.pfn))
        #expect(machine.freePfns.isDisjoint(with: pfns))
        pages.withUnsafeBufferPointer { machine.unpinUserPages($0) }
        #expect(machine.freePfns.isSuperset(of: pfns))
        #expect(machine.heap.usage()[.folio]?.count ?? 0 == heapBefore - Self.pages)
        #expect(machine.pinStats.outstanding == 0)
        #expect(machine.diagnostics.count == 0)
    }
}
