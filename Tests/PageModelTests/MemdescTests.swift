import PageLayout
@testable import PageModel
import Testing

@Suite struct MemdescTests {
    @Test(arguments: Design.allCases)
    func everyDesignBootsAllocatesAndFrees(design: Design) throws {
        let machine = try Machine(config: MachineConfig(ramBytes: 512 << 20, nodes: 2, design: design))
        // sizeof(struct page) on x86-64 per design (mm_types.h: 64; DESIGN.md: 80 with
        // the dma-pinned field, 32 and 8 bytes on the memdesc path).
        let structPage = switch design {
        case .dmaPinnedField: 80
        case .memdesc32: 32
        case .memdesc8: 8
        default: 64
        }
        #expect(machine.layout.pageSize == structPage)
        #expect(machine.memmap.memmapBytes == (512 << 20) / 4096 * structPage)
        let before = machine.allZones.reduce(0) { $0 + $1.freePages }
        var folios: [Folio] = []
        for order in [0, 1, 2, 4, 9, 10] {
            folios.append(try #require(machine.folioAlloc(.highuserMovable, order: order)))
        }
        let pages = try (0..<8).map { _ in try #require(machine.allocPages(.kernel, order: 1)) }
        for folio in folios {
            #expect(folio.refcount == 1)
            #expect(machine.pageFolio(folio.headPage) == folio)
            if let last = folio.page(folio.nrPages - 1) { #expect(machine.pageFolio(last) == folio) }
            machine.folioPut(folio)
        }
        for page in pages { machine.freePages(page, order: 1) }
        for zone in machine.allZones { zone.drainPcp() }
        #expect(machine.allZones.reduce(0) { $0 + $1.freePages } == before)
        #expect(machine.diagnostics.count == 0)
    }

    @Test func memdescWordsCarryTheTypeInBitsZeroToThree() throws {
        let machine = try Machine(config: MachineConfig(ramBytes: 256 << 20, design: .memdesc8))
        let folio = try #require(machine.folioAlloc(.kernel, order: 2))
        #expect(folio.address % 16 == 0)
        #expect(machine.heap.contains(folio.address))
        for i in 0..<4 {
            let word = try #require(folio.page(i)).memdesc
            #expect(word & 0xf == UInt64(MemdescType.file.rawValue))
            #expect(word & ~0xf == folio.address)
        }
        #expect(folio.order == 2)
        #expect(folio.pincount == 0)
        // A bare allocation is Misc memory: type 0, the order in bits 12-17, no refcount.
        let bare = try #require(machine.allocPages(.kernel, order: 3))
        #expect(bare.memdesc == 3 << 12)
        #expect(machine.pageFolio(bare) == nil)
        machine.putPage(bare)
        #expect(machine.diagnostics.of(kind: .warn).first?.reason == "put_page() on memory without a refcount (memdesc Misc)")
        // A free block's first page is Buddy (type 1) with its order.
        let zone = machine.zones[0][1]
        let first = try #require(zone.freeList(order: 10, type: .movable).first)
        #expect(machine.page(first)!.memdesc == (10 << 12) | 1)
    }

    @Test func memdesc32FoliosKeepPageRefcountZero() throws {
        let machine = try Machine(config: MachineConfig(ramBytes: 256 << 20, design: .memdesc32))
        #expect(machine.layout.pageSize == 32)
        let folio = try #require(machine.folioAlloc(.kernel, order: 1))
        #expect(folio.headPage.refcount == 0)
        #expect(folio.refcount == 1)
        #expect(folio.headPage.memdesc & 0xf == UInt64(MemdescType.file.rawValue))
        // Free pages are Buddy because their list pointer (bits 0-1 clear) overlays the word.
        let zone = machine.zones[0][1]
        let free = try #require(zone.freeList(order: 10, type: .movable).first)
        #expect(machine.page(free)!.memdesc & 3 == 0)
        #expect(machine.context.buddyOrder(free) == 10)
        #expect(machine.context.buddyOrder(folio.pfn) == -1)
    }

    /// Node and zone: from page->flags where the design keeps them, by section table
    /// otherwise; both must agree, and agree across designs.
    @Test func nodeAndZoneLookupsAgreeBetweenDesigns() throws {
        var answers: [[Int]] = []
        let probes = [256, 4095, 4097, 65536, 131071, 131072 + 5, 262143]
        for design in [Design.mainline, .memdesc32, .memdesc8] {
            let machine = try Machine(config: MachineConfig(ramBytes: 1 << 30, nodes: 2, design: design))
            var row: [Int] = []
            for pfn in probes {
                let nid = try #require(machine.memmap.nid(of: pfn))
                let zone = try #require(machine.memmap.zoneIndex(of: pfn))
                #expect(machine.memmap.zoneIndexByPfn(of: pfn) == zone)
                if design != .memdesc8 { #expect(machine.memmap.zoneIndexFromFlags(of: pfn) == zone) }
                else { #expect(machine.memmap.zoneIndexFromFlags(of: pfn) == nil) }
                row += [nid, zone]
            }
            answers.append(row)
        }
        #expect(answers[0] == [0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1])
        #expect(answers[1] == answers[0])
        #expect(answers[2] == answers[0])
    }
}
