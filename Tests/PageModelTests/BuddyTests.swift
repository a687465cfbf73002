import PageLayout
@testable import PageModel
import Testing

/// Split and merge on a 256 MiB x86_64 machine. Its ZONE_DMA holds pfns 256-4095 after
/// the low 1 MiB reservation: blocks 256 (order 8), 512 (order 9), 1024, 2048 and 3072
/// (order 10), freed at boot to the tails of the MOVABLE lists.
@Suite struct BuddyTests {
    let machine: Machine
    var dma: MemoryZone { machine.zones[0][0] }

    init() throws { machine = try Machine(ramBytes: 256 << 20) }

    @Test func bootFreeListsAreExact() {
        #expect(dma.freeList(order: 10, type: .movable) == [1024, 2048, 3072])
        #expect(dma.freeList(order: 9, type: .movable) == [512])
        #expect(dma.freeList(order: 8, type: .movable) == [256])
        #expect(dma.buddyinfo == [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3])
        // The first free page of a block is PageBuddy with its order in private.
        let page = machine.page(1024)!
        #expect(page.type == .buddy)
        #expect(page.privateValue == 10)
        #expect(page.refcount == 0)
    }

    @Test func unmovableAllocationClaimsAPageblockAndSplits() throws {
        let page = try #require(machine.allocPages([.kernel, .dma], order: 2))
        #expect(page.pfn == 1024)
        #expect(page.refcount == 1)
        #expect(page.type == nil)
        #expect(dma.freeList(order: 10, type: .movable) == [2048, 3072])
        #expect(dma.freeList(order: 9, type: .unmovable) == [1536])
        #expect(dma.freeList(order: 8, type: .unmovable) == [1280])
        #expect(dma.freeList(order: 7, type: .unmovable) == [1152])
        #expect(dma.freeList(order: 6, type: .unmovable) == [1088])
        #expect(dma.freeList(order: 5, type: .unmovable) == [1056])
        #expect(dma.freeList(order: 4, type: .unmovable) == [1040])
        #expect(dma.freeList(order: 3, type: .unmovable) == [1032])
        #expect(dma.freeList(order: 2, type: .unmovable) == [1028])
        #expect(machine.page(1028)!.type == .buddy && machine.page(1028)!.privateValue == 2)

        // Freed pages wait on the per-cpu list; draining merges them back to order 10.
        machine.freePages(page, order: 2)
        #expect(dma.pcpPages == 4)
        dma.drainPcp()
        #expect(dma.pcpPages == 0)
        #expect(dma.freeList(order: 10, type: .unmovable) == [1024])
        #expect(dma.freeList(order: 2, type: .unmovable) == [])
        #expect(dma.buddyinfo == [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3])
        #expect(machine.diagnostics.count == 0)
    }

    @Test func freeBuddiesMergeAndBlocksLikelyToMergeGoToTheTail() throws {
        // Take two order-9 halves of one order-10 block straight from the buddy lists.
        let first = try #require(dma.state.withLock { dma.rmqueue(order: 9, type: MigrateType.movable.rawValue, &$0) })
        #expect(first == 512)
        let second = try #require(dma.state.withLock { dma.rmqueue(order: 9, type: MigrateType.movable.rawValue, &$0) })
        #expect(second == 1024)
        #expect(dma.freeList(order: 9, type: .movable) == [1536])
        // Freeing 1024 merges with its free buddy 1536 into an order-10 block.
        dma.state.withLock { dma.freeOne(1024, order: 9, type: MigrateType.movable.rawValue, &$0) }
        #expect(dma.freeList(order: 10, type: .movable) == [1024, 2048, 3072])
        // 512's buddy (0) is reserved: no merge; its order-10 buddy block is not free
        // either, so it goes to the head.
        dma.state.withLock { dma.freeOne(512, order: 9, type: MigrateType.movable.rawValue, &$0) }
        #expect(dma.freeList(order: 9, type: .movable) == [512])
    }

    @Test func zonesNeverMerge() throws {
        // pfn 4096 is the first DMA32 page (the zero page, reserved); 4097.. are DMA32.
        #expect(machine.memmap.zoneIndex(of: 4095) == 0)
        #expect(machine.memmap.zoneIndex(of: 4097) == 1)
        #expect(machine.zones[0][1].freeList(order: 0, type: .movable) == [4097])
    }

    @Test func watermarksFollowMinFreeKbytes() {
        // min_free_kbytes = int_sqrt(lowmem_kbytes * 16); each zone's share by managed pages.
        let lowmem = machine.allZones.filter { $0.type != .movable }.reduce(0) { $0 + $1.managed }
        let minFree = Int(Double(lowmem * 4 * 16).squareRoot())
        let pagesMin = minFree / 4
        let dma32 = machine.zones[0][1]
        #expect(dma32.watermarks.min == pagesMin * dma32.managed / lowmem)
        let delta = max(dma32.watermarks.min / 4, dma32.managed * 10 / 10_000)
        #expect(dma32.watermarks.low == dma32.watermarks.min + delta)
        #expect(dma32.watermarks.high == dma32.watermarks.min + 2 * delta)
    }
}

@Suite struct PageblockTests {
    @Test func isolatedPageblocksAreNotAllocatedAndMergeBackWhenUndone() throws {
        let machine = try Machine(ramBytes: 256 << 20)
        let dma = machine.zones[0][0]
        #expect(machine.setPageblockMigratetype(pfn: 1024, .isolate))
        #expect(machine.pageblockMigratetype(pfn: 1024) == .isolate)
        #expect(machine.pageblockMigratetype(pfn: 1536) == .movable)
        #expect(dma.freeList(order: 9, type: .isolate) == [1024])
        #expect(dma.freeList(order: 9, type: .movable) == [1536, 512])
        var pages: [Page] = []
        while let page = machine.allocPages([.kernel, .dma, .nowarn], order: 0) { pages.append(page) }
        #expect(!pages.contains { $0.pfn >= 1024 && $0.pfn < 1536 })
        for page in pages { machine.freePages(page, order: 0) }
        dma.drainPcp()
        #expect(machine.setPageblockMigratetype(pfn: 1024, .movable))
        #expect(dma.freeList(order: 9, type: .isolate) == [])
        // Moving the pageblock back lets 1024 merge with 1536 on the next free; the free
        // page count is whole again.
        #expect(dma.freePages == 3840)
        #expect(machine.setPageblockMigratetype(pfn: 1 << 30, .isolate) == false)
    }

    @Test func cmaPageblocksServeOnlyMovableAllocations() throws {
        let machine = try Machine(ramBytes: 256 << 20)
        for block in stride(from: 256, to: 4096, by: 512) { machine.setPageblockMigratetype(pfn: block, .cma) }
        let movable = try #require(machine.allocPages([.user, .movable, .dma], order: 0))
        #expect(machine.pageblockMigratetype(pfn: movable.pfn) == .cma)
        #expect(machine.allocPages([.kernel, .dma, .nowarn], order: 0) == nil)
    }

    /// free_pcppages_bulk() drains the list it was asked for first, from its tail (the
    /// oldest page), and moves to the next list only when that one is empty.
    @Test func pcpBulkFreeDrainsTheRequestedListFirstFromTheTail() throws {
        let machine = try Machine(ramBytes: 256 << 20)
        let unmovable = try (0..<3).map { _ in try #require(machine.allocPages(.kernel)) }.map(\.pfn)
        let movable = try (0..<3).map { _ in try #require(machine.allocPages(.highuserMovable)) }.map(\.pfn)
        let zone = try #require(machine.zone(of: movable[0]))
        #expect(machine.zone(of: unmovable[0]) === zone)
        zone.drainPcp()
        for pfn in unmovable + movable { machine.freePages(machine.page(pfn)!, order: 0) }
        let unmovableList = MemoryZone.pindex(order: 0, type: MigrateType.unmovable.rawValue)
        let movableList = MemoryZone.pindex(order: 0, type: MigrateType.movable.rawValue)
        // Freed pages go to the head: the lists read newest first.
        #expect(zone.pcpList(unmovableList) == unmovable.reversed())
        #expect(zone.pcpList(movableList) == movable.reversed())
        zone.state.withLock { zone.freePcpBulk(count: 2, from: movableList, &$0) }
        #expect(zone.pcpList(movableList) == [movable[2]])
        #expect(zone.pcpList(unmovableList) == unmovable.reversed())
        // Three more: the movable list empties, then the unmovable one is taken, oldest first.
        zone.state.withLock { zone.freePcpBulk(count: 3, from: movableList, &$0) }
        #expect(zone.pcpList(movableList) == [])
        #expect(zone.pcpList(unmovableList) == [unmovable[2]])
        #expect(zone.pcpPages == 1)
    }
}

@Suite struct ConcurrencyTests {
    /// The zone lock and atomic refcounts keep concurrent allocators consistent.
    @Test func concurrentAllocateAndFreeLosesNothing() async throws {
        let machine = try Machine(ramBytes: 512 << 20)
        for zone in machine.allZones { zone.drainPcp() }
        let before = machine.allZones.reduce(0) { $0 + $1.freePages }
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    var held: [(Page, Int)] = []
                    for i in 0..<5_000 {
                        let order = (i + worker) % 4
                        if let page = machine.allocPages(.kernel, order: order) { held.append((page, order)) }
                        if held.count > 64 {
                            let (page, order) = held.removeFirst()
                            machine.freePages(page, order: order)
                        }
                    }
                    for (page, order) in held { machine.freePages(page, order: order) }
                }
            }
        }
        for zone in machine.allZones { zone.drainPcp() }
        #expect(machine.allZones.reduce(0) { $0 + $1.freePages } == before)
        #expect(machine.diagnostics.count == 0)
        #expect(machine.wildPointerAccesses == 0)
    }
}
