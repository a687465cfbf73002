import PageLayout
@testable import PageModel
import Testing

@Suite struct FolioTests {
    static let arches: [Arch] = [.x86_64, .i386]

    @Test(arguments: arches)
    func prepCompoundPageForEveryOrder(arch: Arch) throws {
        let machine = try Machine(config: MachineConfig(ramBytes: 256 << 20, arch: arch))
        let layout = machine.layout
        let is64 = arch.bitsPerLong == 64
        let freeBefore = machine.allZones.reduce(0) { $0 + $1.freePages + $1.pcpPages }
        for order in 1...BuddyConstants.maxOrder {
            let folio = try #require(machine.folioAlloc(.kernel, order: order))
            let head = folio.headPage
            #expect(head.isHead)
            #expect(folio.order == order)
            #expect(folio.nrPages == 1 << order)
            #expect(folio.refcount == 1)
            #expect(folio.largeMapcountRaw == -1)
            if is64 || order > 1 {
                #expect(folio.entireMapcountRaw == -1)
                #expect(folio.pincount == 0)
            } else {
                #expect(folio.pincount == nil)
            }
            for i in 1..<(1 << order) {
                let tail = try #require(folio.page(i))
                #expect(tail.isTail)
                #expect(tail.compoundHeadWord == head.address | 1)
                #expect(machine.compoundHead(tail) == head)
                #expect(machine.pageFolio(tail) == folio)
                #expect(tail.refcount == 0)
                // Tails 1 and 2 hold folio fields where `mapping` would be (64-bit: tail 1's
                // mapping word is _entire_mapcount/_pincount; tail 2's is _deferred_list).
                let folioFieldTail = i == 1 || (i == 2 && order > 1)
                if !folioFieldTail { #expect(tail.mapping == machine.tailMapping) }
            }
            if is64 {
                // The aliasing is real: page 1's mapping word reads _entire_mapcount (-1)
                // in its low half and _pincount (0) in its high half.
                let word = try #require(folio.page(1)?.mapping)
                #expect(word == 0x0000_0000_ffff_ffff)
                #expect(layout.folioEntireMapcount == layout.pageSize + layout.mapping)
            }
            machine.folioPut(folio)
        }
        for zone in machine.allZones { zone.drainPcp() }
        let freeAfter = machine.allZones.reduce(0) { $0 + $1.freePages + $1.pcpPages }
        #expect(freeAfter == freeBefore)
        #expect(machine.diagnostics.count == 0)
    }

    @Test func orderZeroFolioGetPut() throws {
        let machine = try Machine(ramBytes: 256 << 20)
        let folio = try #require(machine.folioAlloc(.kernel))
        #expect(!folio.isLarge && folio.order == 0 && folio.nrPages == 1)
        machine.folioGet(folio)
        #expect(folio.refcount == 2)
        machine.putPage(folio.headPage)
        #expect(folio.refcount == 1)
        machine.folioPut(folio)
        #expect(folio.refcount == 0)
        // A put too many is a refcount underflow: recorded, not a trap.
        machine.folioPut(folio)
        #expect(machine.diagnostics.of(kind: .bug).first?.reason == "folio_put: refcount underflow")
    }

    @Test func zeroedAllocationClearsTheFrame() throws {
        let machine = try Machine(ramBytes: 256 << 20)
        let page = try #require(machine.allocPages(.kernel))
        machine.frames.write([0xaa, 0xbb], pfn: page.pfn)
        machine.freePages(page, order: 0)
        let again = try #require(machine.allocPages([.kernel, .zero]))
        #expect(again.pfn == page.pfn)   // the per-cpu list is LIFO
        #expect(machine.frames.read(pfn: again.pfn, count: 2) == [0, 0])
    }
}
