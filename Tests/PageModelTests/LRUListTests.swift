// The LRU lists' integrity checks (CONFIG_DEBUG_LIST's list_del() validation in
// lruvec_del_folio(), and a bounded, back-link-checked walk in isolate_lru_folios()),
// the lru-pinned design against an isolator, and GUP-fast's reference on a memdesc
// folio descriptor that was reused.
import Testing
@testable import PageModel
import PageLayout

@Suite struct LRUListTests {
    /// Three anon folios on the inactive anon list, in fault order.
    static func threeFolios(_ design: Design = .mainline) throws -> (Machine, Process, UInt64, [Folio]) {
        let (machine, process) = try makeProcess(design)
        let addr = try process.mmapAnon(3 << 12)
        for i in 0..<3 { try process.write(pattern(i), at: addr + UInt64(i) << 12) }
        let folios = try (0..<3).map { i in
            try #require(machine.page(process.tables.entry(at: addr + UInt64(i) << 12).pte.pfn).flatMap(machine.pageFolio))
        }
        #expect(folios.allSatisfy { $0.testFlag(machine.flagBits.lru) })
        return (machine, process, addr, folios)
    }

    static func corruptions(_ machine: Machine) -> [Diagnostic] { machine.diagnostics.all.filter { $0.kind == .corruption } }

    @Test func anOverwrittenLinkIsReportedNotFollowed() throws {
        let (machine, process, _, folios) = try Self.threeFolios()
        defer { withExtendedLifetime(process) {} }
        // What lru-pinned's SetPageDmaPinned() does to a folio on a live list.
        folios[1].setWord(machine.layout.folioLru, LRUPinnedPins.pageDmaPinned)
        #expect(machine.folioIsolateLRU(folios[1]))
        let reports = Self.corruptions(machine)
        #expect(reports.count == 1)
        #expect(reports.first?.reason.hasPrefix("lruvec: list_del corruption") == true)
        #expect(reports.first?.pfn == UInt64(folios[1].pfn))
        // The neighbours were left alone and the entry poisoned (list_del() still poisons).
        #expect(machine.context.next(folios[1].address &+ UInt64(machine.layout.folioLru)) == ListPoison.first(wordSize: 8))
        // A walk from the tail takes the oldest folio (whose unlink is refused too: its
        // neighbour's next is the overwritten word), then stops at the poisoned entry
        // with a report instead of following it.
        let taken = machine.isolateLRUFolios(nid: 0, list: .inactiveAnon, count: 16)
        #expect(taken == [folios[0]])
        #expect(Self.corruptions(machine).count == 3)
        #expect(Self.corruptions(machine).last?.reason.contains("isolate_lru_folios: inactiveAnon list corrupted") == true)
        for folio in taken { machine.folioPutbackLRU(folio) }
    }

    @Test func aHealthyWalkTakesEveryFolioOldestFirst() throws {
        let (machine, process, _, folios) = try Self.threeFolios()
        defer { withExtendedLifetime(process) {} }
        let taken = machine.isolateLRUFolios(nid: 0, list: .inactiveAnon, count: 16)
        #expect(taken == folios)
        #expect(Self.corruptions(machine).isEmpty)
        #expect(machine.lruvecs[0].sizes[.inactiveAnon] == 0)
        for folio in taken { machine.folioPutbackLRU(folio) }
        #expect(machine.lruvecs[0].sizes[.inactiveAnon] == 3)
    }

    /// Seed 002's design against an isolator: isolate_lru_page() fails, the pin state is
    /// written over the lru words of the isolated folio, and the isolator's putback
    /// overwrites it: the design then answers "not pinned" while a pin is held, and the
    /// unpin finds no PageDmaPinned. The LRU lists themselves stay intact.
    @Test(arguments: [Design.lruPinned, .lruPinnedRearranged])
    func aPinOfAnIsolatedFolioIsLostAtPutback(_ design: Design) throws {
        let (machine, process, addr, folios) = try Self.threeFolios(design)
        let folio = folios[0]
        #expect(machine.folioIsolateLRU(folio))   // reclaim or migration has it
        let pages = try process.pinUserPagesFast(start: addr, nrPages: 1)
        #expect(pages.count == 1 && machine.exactPins(folio) == 1)
        #expect(machine.folioMaybeDMAPinned(folio))
        #expect(folio.word(machine.layout.lruDmaPinnedFlags) == LRUPinnedPins.pageDmaPinned)   // no WasLru
        machine.folioPutbackLRU(folio)
        #expect(!machine.folioMaybeDMAPinned(folio))
        #expect(machine.pinStats.falseNegatives == 1)
        machine.unpinUserPages(pages)
        #expect(machine.diagnostics.all.contains { $0.reason.hasPrefix("put_user_page: page is not PageDmaPinned") })
        #expect(folio.refcount == 1 && machine.pinStats.outstanding == 0)
        let taken = machine.isolateLRUFolios(nid: 0, list: .inactiveAnon, count: 16)
        #expect(Set(taken) == Set(folios))
        #expect(Self.corruptions(machine).isEmpty)
        for folio in taken { machine.folioPutbackLRU(folio) }
    }

    /// A memdesc folio found without a reference may have had its descriptor freed and
    /// reused for another folio before the reference was taken; `reread` names the
    /// folio the descriptor describes now, so the reference goes back to the right one.
    @Test func aReusedDescriptorIsRereadForItsNewPfn() throws {
        let machine = try Machine(ramBytes: 128 << 20, design: .memdesc8)
        let stale = try #require(machine.folioAlloc(.highuserMovable))
        machine.folioPut(stale)
        // Take the freed frame for something that is not a folio, so that the next folio
        // gets another frame, and (the heap reuses the freed slot) the same descriptor.
        let other = try #require(machine.allocPages(.highuserMovable))
        let fresh = try #require(machine.folioAlloc(.highuserMovable))
        #expect(other.pfn == stale.pfn)
        try #require(fresh.address == stale.address)
        #expect(fresh.pfn != stale.pfn)
        #expect(stale.reread.pfn == fresh.pfn && stale.reread == fresh)
        machine.folioPut(fresh)
        machine.freePages(other, order: 0)
    }
}
