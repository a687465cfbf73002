// A pin-tracking design written in the tests, to show what a new design takes: one type
// implementing `PinTracker` (its state, its grab and release, what it declares about
// itself), handed to the machine in one place. A real design registers the same type
// once, in `Design.pinTracker` (Sources/PageModel/Pinning/PinDesigns.swift).
import PageLayout
@testable import PageModel
import Testing

/// The toy: an exact pin count per folio in a side table (keyed by the folio's first
/// pfn, as an xarray would be), plus one reference per pin. Struct page is untouched,
/// so it runs over mainline's layout.
class SideTablePins: PinTracker, @unchecked Sendable {   // unchecked: not final (a subclass below); its state is a let and a mutex
    static var capabilities: PinCapabilities { PinCapabilities(tracksExactly: true) }
    class func pageExtClientBytes(_ config: LayoutConfig) -> Int { 0 }
    let design: Design
    let table = ModelMutex<[Int: Int32]>([:])

    required init(_ setup: PinTrackerSetup) { design = setup.design }

    func grab(_ folio: Folio, at page: Page, refs: Int32, fast: Bool, in machine: Machine) -> Errno? {
        table.withLock { $0[folio.pfn, default: 0] += refs }
        if !fast { folio.refAdd(refs) }
        return nil
    }

    func release(_ folio: Folio, at page: Page?, refs: Int32, in machine: Machine) {
        table.withLock { table in
            let left = (table[folio.pfn] ?? 0) - refs
            table[folio.pfn] = left > 0 ? left : nil
        }
        machine.folioPutRefs(folio, refs)
    }

    func addPin(_ folio: Folio, in machine: Machine) {
        table.withLock { $0[folio.pfn, default: 0] += 1 }
        folio.get()
    }

    func maybePinned(_ folio: Folio, in machine: Machine) -> Bool { table.withLock { $0[folio.pfn] != nil } }

    func referencesHeld(_ folio: Folio, pins: Int64, in machine: Machine) -> Int64 { pins }

    func pins(of folio: Folio) -> Int32 { table.withLock { $0[folio.pfn] ?? 0 } }
}

/// The toy declaring a page_ext client of 12 bytes (which it leaves unused): the machine
/// sizes page_ext from the declaration alone, as `invoke_need_callbacks()` does.
final class SideTablePinsNeedingPageExt: SideTablePins {
    override class func pageExtClientBytes(_ config: LayoutConfig) -> Int { 12 }
}

@Suite struct ToyPinDesignTests {
    /// The toy runs every pin of the machine: GUP-fast pins through a process, the
    /// generic checks and statistics around it, and its own exact answer (1024 plain
    /// references are not a pin, unlike mainline's bias on the same layout).
    @Test func aDesignInOneFileRunsTheMachinesPins() throws {
        let machine = try Machine(config: MachineConfig(ramBytes: 128 << 20, design: .mainline), pinTracker: SideTablePins.self)
        let toy = try #require(machine.pins.tracker as? SideTablePins)
        #expect(machine.pageExt == nil)   // declared no page_ext client: none allocated
        let process = try Process(machine: machine)
        let addr = try process.mmapAnon(4 << 12)
        for i in 0..<4 { try process.write(pattern(i), at: addr + UInt64(i) << 12) }

        let pages = try process.pinUserPagesFast(start: addr, nrPages: 4, flags: .write)
        #expect(pages.count == 4)
        for (i, page) in pages.enumerated() {
            // No proxies declared: GUP hands out the mapped pages themselves.
            #expect(page.pfn == process.tables.entry(at: addr + UInt64(i) << 12).pte.pfn)
            let folio = try #require(machine.pageFolio(page))
            #expect(toy.pins(of: folio) == 1)
            #expect(folio.refcount == 2)   // the mapping's reference + the pin's one
            #expect(machine.folioMaybeDMAPinned(folio))
        }
        machine.unpinUserPages(pages)
        for page in pages {
            let folio = try #require(machine.pageFolio(page))
            #expect(toy.pins(of: folio) == 0)
            #expect(folio.refcount == 1)
            #expect(!machine.folioMaybeDMAPinned(folio))
        }

        let folio = try #require(machine.folioAlloc(.highuserMovable, order: 0))
        for _ in 0..<1024 { machine.getPage(folio.headPage) }
        #expect(!machine.folioMaybeDMAPinned(folio))
        for _ in 0..<1024 { machine.putPage(folio.headPage) }
        machine.folioPut(folio)

        let stats = machine.pinStats
        #expect(stats.pinsAcquired == 4)
        #expect(stats.pinsReleased == 4)
        #expect(stats.falsePositives == 0)
        #expect(stats.falseNegatives == 0)
        #expect(machine.diagnostics.count == 0)
    }

    /// mm/page_ext.c `invoke_need_callbacks()`: an entry is `struct page_ext` (one
    /// unsigned long of flags, 8 bytes on x86-64, there because the pin client uses the
    /// shared flags) followed by each needed client's `size` bytes at its offset.
    @Test func aDeclaredPageExtNeedSizesPageExt() throws {
        let machine = try Machine(config: MachineConfig(ramBytes: 128 << 20, design: .mainline), pinTracker: SideTablePinsNeedingPageExt.self)
        let ext = try #require(machine.pageExt)
        #expect(ext.layout.offset(of: .dmaPin) == 8)
        #expect(ext.layout.entrySize == 8 + 12)
        #expect(ext.sectionCount > 0)
    }

    /// Every registered design's tracker is the type the machine runs, and says it
    /// implements that design.
    @Test(arguments: Design.allCases)
    func eachDesignIsRegisteredOnce(design: Design) throws {
        let machine = try Machine(ramBytes: 128 << 20, design: design)
        #expect(type(of: machine.pins.tracker) == design.pinTracker)
        #expect(machine.pins.tracker.design == design)
        #expect(machine.pins.capabilities == design.pinTracker.capabilities)
    }
}
