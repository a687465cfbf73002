// The seed scenario through the page tables: GUP on device-GENERIC pages mapped into a
// process like device-dax (vm_insert_pages() into a VM_MIXEDMAP VMA). Under lru-pinned
// the pin overwrites folio->pgmap and zone_device_data (seed 001), which is diagnosed;
// under lru-pinned-rearranged (Wilcox's arm) nothing is damaged. Loads and stores reach
// the device memory's own bytes.
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
        // The CPU reaches device-dax memory through the PTE, whatever the design did to
        // struct page: the bytes land in the device frame itself.
        try process.write([0xd4, 0x78], at: addr + (1 << 12) + 16)
        #expect(try process.read(addr + (1 << 12) + 16, count: 2) == [0xd4, 0x78])
        #expect(machine.frames.read(pfn: pages[1].pfn, offset: 16, count: 2) == [0xd4, 0x78])
        try process.mm.munmap(addr: addr, length: 4 << 12)
        if design != .lruPinned {
            #expect(folio.refcount == 1)
            // GENERIC pages idle at refcount 1, so memunmap_pages() finds them free and the
            // device range loses its bytes with its struct pages.
            #expect(machine.memunmapPages(pgmap))
            #expect(machine.frames.pointer(pfn: pages[1].pfn) == nil)
        }
    }
}
