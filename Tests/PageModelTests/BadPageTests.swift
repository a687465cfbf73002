import PageLayout
@testable import PageModel
import Testing

/// free_pages_prepare()/bad_page(): each cause is reported with the kernel's words and
/// the page is kept out of the allocator.
@Suite struct BadPageTests {
    enum Cause: String, CaseIterable {
        case mapcount, mapping, refcount, flags, memcg
    }

    static func expectLeaked(_ machine: Machine, _ pfn: Int, reason: String) {
        let bad = machine.diagnostics.of(kind: .badPage)
        #expect(bad.count == 1)
        #expect(bad.first?.pfn == UInt64(pfn))
        #expect(bad.first?.reason == reason)
        #expect(bad.first?.dump?.contains("page dumped because: \(reason)") == true)
        for zone in machine.allZones {
            zone.drainPcp()
            for order in 0...BuddyConstants.maxOrder {
                for type in MigrateType.allCases { #expect(!zone.freeList(order: order, type: type).contains(pfn)) }
            }
        }
    }

    @Test(arguments: Cause.allCases)
    func orderZeroCause(cause: Cause) throws {
        let machine = try Machine(ramBytes: 256 << 20)
        let page = try #require(machine.allocPages(.kernel))
        let reason: String
        switch cause {
        case .mapcount:
            page.mapcountRaw = 0
            reason = "nonzero mapcount"
        case .mapping:
            page.mapping = 0xffff_8880_1234_5600
            reason = "non-NULL mapping"
        case .refcount:
            page.setRefcount(2)
            reason = "nonzero _refcount"
        case .flags:
            page.setFlag(machine.flagBits.lru)
            reason = "PAGE_FLAGS_CHECK_AT_FREE flag(s) set"
        case .memcg:
            page.memcgData = 0xffff_8880_0000_1000
            reason = "page still charged to cgroup"
        }
        if cause == .refcount {
            // A count still raised when the page reaches free_frozen_pages().
            machine.freeFrozenPages(page.pfn, order: 0)
        } else {
            machine.freePages(page, order: 0)
        }
        Self.expectLeaked(machine, page.pfn, reason: reason)
    }

    @Test func typedPagesLoseTheirTypeWhenFreed() throws {
        let machine = try Machine(ramBytes: 256 << 20)
        let page = try #require(machine.allocPages(.kernel))
        page.pageType = UInt32(PageType.table.rawValue) << 24
        machine.freePages(page, order: 0)
        #expect(machine.diagnostics.count == 0)
        #expect(page.pageType == UInt32.max)
    }

    enum TailCause: String, CaseIterable {
        case largeMapcount, entireMapcount, pincount, deferredList, tailMapping, notTail, wrongHead
    }

    @Test(arguments: TailCause.allCases)
    func compoundTailCause(cause: TailCause) throws {
        let machine = try Machine(ramBytes: 256 << 20)
        let folio = try #require(machine.folioAlloc(.kernel, order: 3))
        let layout = machine.layout
        let reason: String
        var tail = 1
        switch cause {
        case .largeMapcount:
            folio.setAtomic(layout.folioLargeMapcount, 0)
            reason = "nonzero large_mapcount"
        case .entireMapcount:
            folio.setAtomic(layout.folioEntireMapcount, 0)
            reason = "nonzero entire_mapcount"
        case .pincount:
            folio.pincountAdd(1)
            reason = "nonzero pincount"
        case .deferredList:
            tail = 2
            let list = folio.address + UInt64(layout.folioDeferredList)
            machine.context.pointer(list).storeBytes(of: UInt64(0xffff_8880_0000_2000), as: UInt64.self)   // deferred_list.next
            reason = "on deferred list"
        case .tailMapping:
            tail = 5
            folio.page(5)?.mapping = 0
            reason = "corrupted mapping in tail page"
        case .notTail:
            tail = 6
            folio.page(6)?.compoundHeadWord = 0
            reason = "PageTail not set"
        case .wrongHead:
            tail = 7
            folio.page(7)?.compoundHeadWord = machine.page(12345)!.address | 1
            reason = "compound_head not consistent"
        }
        machine.folioPut(folio)
        let bad = machine.diagnostics.of(kind: .badPage)
        #expect(bad.map(\.reason) == [reason])
        #expect(machine.wildPointerAccesses == 0)
        #expect(bad.first?.pfn == UInt64(folio.pfn + tail))
        for zone in machine.allZones { zone.drainPcp() }
        #expect(!machine.zones[0][1].freeList(order: 3, type: .unmovable).contains(folio.pfn))
        #expect(machine.page(folio.pfn)!.type != .buddy)
    }

    @Test func dumpPageNamesFieldsLikeTheKernel() throws {
        let machine = try Machine(ramBytes: 256 << 20)
        let page = try #require(machine.allocPages(.kernel))
        page.setFlag(machine.flagBits.lru)
        machine.freePages(page, order: 0)
        let dump = try #require(machine.diagnostics.all.first?.dump)
        let lines = dump.split(separator: "\n").map(String.init)
        #expect(lines[0].hasPrefix("page: refcount:0 mapcount:0 mapping:0000000000000000 index:0x0 pfn:0x"))
        #expect(lines[1].hasPrefix("flags: 0x"))
        #expect(lines[1].contains("(lru|"))
        #expect(lines[1].contains("node=0|zone=\(page.zoneIndex)"))
        #expect(lines.filter { $0.hasPrefix("raw: ") }.count == 2)
    }

    @Test func corruptedListWordsAreCountedNotTrapped() throws {
        let machine = try Machine(ramBytes: 256 << 20)
        let dma = machine.zones[0][0]
        let page = try #require(machine.page(1024))   // first free block of ZONE_DMA's order-10 list
        page.storeWord(0x1234_5678, atOffset: machine.layout.link + machine.layout.wordSize)   // buddy_list.prev
        let taken = dma.state.withLock { dma.rmqueue(order: 10, type: MigrateType.movable.rawValue, &$0) }
        #expect(taken == 1024)
        #expect(machine.wildPointerAccesses == 1)
    }
}
