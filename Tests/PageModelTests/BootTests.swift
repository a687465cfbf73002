import PageLayout
@testable import PageModel
import Testing

@Suite struct BootTests {
    @Test func mainlineMachineBoots() throws {
        let m = try Machine(ramBytes: 256 << 20)
        #expect(m.layout.pageSize == 64)
        #expect(m.memmap.memmapBytes == 65536 * 64)
        let zones = m.zones[0]
        #expect(zones.map(\.type) == [.dma, .dma32, .normal, .movable, .device])
        #expect(zones[0].span.span == PfnRange(start: 0, end: 4096))
        #expect(zones[1].span.span == PfnRange(start: 4096, end: 65536))
        let managed = zones.reduce(0) { $0 + $1.managed }
        // 1 MiB low reservation, the zero page and 4 MiB of memmap.
        #expect(managed == 65536 - 256 - 1 - 1024)
        #expect(m.reservedPages == 256 + 1 + 1024)
        let free = zones.reduce(0) { $0 + $1.freePages }
        #expect(free == managed)
        print(zones[1].buddyinfo, zones[0].buddyinfo, zones[1].watermarks)
    }
}

@Suite struct ThirtyTwoBitBootTests {
    @Test func paeMachineHasHighmemAndSectionsInPageFlags() throws {
        let machine = try Machine(config: MachineConfig(ramBytes: 2 << 30, arch: .i386PAE))
        #expect(machine.layout.pageSize == 32)
        let zones = machine.zones[0]
        #expect(zones.map(\.type) == [.dma, .normal, .highmem, .movable])
        // Lowmem ends at 896 MiB with the 3G/1G split.
        #expect(zones[1].span.span.end == (896 << 20) >> 12)
        #expect(zones[2].span.span.count == ((2 << 30) - (896 << 20)) >> 12)
        // Classic SPARSEMEM keeps the section number in page->flags.
        let field = try #require(machine.flagsBudget.field("SECTIONS"))
        #expect(field.width > 0)
        let pfn = (1 << 30) >> 12 + 5   // in section 2 (512 MiB sections)
        let flags = try #require(machine.page(pfn)).flags
        #expect((flags >> UInt64(field.pgshift)) & ((1 << UInt64(field.width)) - 1) == 2)
        // The memmap and the zero page come from lowmem.
        #expect(machine.zone(of: machine.zeroPagePfn)?.type == .normal)
        let highmemPage = try #require(machine.allocPages(.highuser))
        #expect(machine.zone(of: highmemPage.pfn)?.type == .highmem)
        #expect(machine.allocPages(.kernel).flatMap { machine.zone(of: $0.pfn)?.type } == .normal)
    }
}
