// The seed scenario through the page tables: GUP on device-GENERIC pages mapped into a
// process like device-dax (vm_insert_pages() into a VM_MIXEDMAP VMA). Under lru-pinned
// the pin overwrites folio->pgmap and zone_device_data (seed 001), which is diagnosed;
// under lru-pinned-rearranged (Wilcox's arm) nothing is damaged.
import Testing
@testable import PageModel
import PageLayout

@Suite struct DevDAXGUPTests {
    @Test(arguments: [Design.mainline, .dmaPinnedField, .lruPinned, .lruPinnedRearranged, .proxy])
    func pinUserPagesOnADevDAXMapping(_ design: Design) throws {
        let (machine, process) = try makeProcess(design)
        let pgmap = try machine.memremapPages(type: .generic, bytes: machine.config.sectionBytes, ops: DevPagemapOps())
        let pages = try (0..<4).map { try #require(machine.page(pgmap.range.start + $0)) }
        let file = DevDAXFile(size: 4 << 12)
        let addr = try process.mm.mmap(length: 4 << 12, prot: [.read, .write], flags: [.shared], file: file)
        try process.insertPages(pages, at: addr, writable: true)
        let folio = try #require(machine.pageFolio(pages[0]))
        #expect(folio.refcount == 2)   // GENERIC idles at 1, plus the mapping's
        let pinned = try process.pinUserPages(start: addr, nrPages: 4, flags: [.write])
        #expect(pinned.count == 4)
        #expect(pinned.map { (machine.proxyTarget($0) ?? $0).pfn } == pages.map(\.pfn))
        #expect(machine.folioMaybeDMAPinned(folio))
        machine.unpinUserPages(pinned)
        #expect(!machine.folioMaybeDMAPinned(folio))
        let pgmapIntact = machine.pagePgmap(pages[0]) === pgmap
        if design == .lruPinned {
            #expect(!pgmapIntact)
            #expect(machine.pinStats.corruptions > 0)
            #expect(machine.diagnostics.of(kind: .corruption).first?.pfn == UInt64(pages[0].pfn))
        } else {
            #expect(pgmapIntact)
            #expect(machine.pinStats.corruptions == 0)
        }
        // A CPU access has no bytes behind device pfns in the model: SIGBUS, not a crash.
        #expect(throws: AccessError.bus(address: addr)) { _ = try process.read(addr, count: 1) }
        try process.mm.munmap(addr: addr, length: 4 << 12)
        if design != .lruPinned { #expect(folio.refcount == 1) }
    }
}
