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
