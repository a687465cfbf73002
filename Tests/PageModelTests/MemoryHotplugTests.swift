import PageLayout
@testable import PageModel
import Testing

@Suite struct MemoryHotplugTests {
    @Test func offlineAndOnlineASection() throws {
        let machine = try Machine(config: MachineConfig(ramBytes: 512 << 20, pageExtClients: [.pageTableCheck]))
        let dma32 = machine.zones[0][1]
        let managed = dma32.managed, free = dma32.freePages
        #expect(machine.isSectionOnline(2))
        try machine.offlineSection(2)
        #expect(!machine.isSectionOnline(2))
        #expect(dma32.managed == managed - 32768)
        #expect(dma32.present == dma32.span.present - 32768)
        #expect(dma32.freePages == free - 32768)
        #expect(machine.page(2 << 15)?.isReserved == true)
        #expect(machine.pageExt?.lookup(pfn: 2 << 15) == nil)
        #expect(machine.pageExt?.bytes == 3 * 32768 * 8)
        // Nothing is allocated from an offline section.
        var pages: [Page] = []
        for _ in 0..<1000 { pages.append(try #require(machine.allocPages(.kernel, order: 4))) }
        #expect(!pages.contains { $0.pfn >> 15 == 2 })
        for page in pages { machine.freePages(page, order: 4) }
        try machine.onlineSection(2)
        #expect(dma32.managed == managed)
        #expect(dma32.present == dma32.span.present)
        for zone in machine.allZones { zone.drainPcp() }
        #expect(dma32.freePages == free)
        #expect(machine.pageExt?.lookup(pfn: 2 << 15) != nil)
        #expect(machine.diagnostics.count == 0)
        #expect(throws: KernelError.invalid("section 2 is already online")) { try machine.onlineSection(2) }
    }

    @Test func busySectionsStayOnline() throws {
        let machine = try Machine(ramBytes: 512 << 20)
        // Section 0 holds the reserved low 1 MiB and the zero page.
        #expect(throws: KernelError.self) { try machine.offlineSection(0) }
        #expect(machine.isSectionOnline(0))
        let dma = machine.zones[0][0]
        // Undoing the isolation frees the blocks again, so they merge back (each to the
        // head of its list: the most recently restored first).
        #expect(dma.freeList(order: 10, type: .movable) == [3072, 2048, 1024])
        #expect(dma.buddyinfo == [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3])
        #expect(dma.freeList(order: 9, type: .isolate) == [])
        #expect(machine.pageblockMigratetype(pfn: 1024) == .movable)
    }
}
