import PageLayout
@testable import PageModel
import Testing

/// Slab pages, page-table pages, the zero page and page_ext.
@Suite struct KernelPagesTests {
    @Test(arguments: [Design.mainline, .memdesc32, .memdesc8])
    func slabCachesTakeSlabsFromTheBuddyAllocator(design: Design) throws {
        let machine = try Machine(config: MachineConfig(ramBytes: 256 << 20, design: design))
        let cache = try machine.kmemCacheCreate(name: "test_512", size: 500)
        #expect(cache.size == 504)
        #expect(cache.order == 0)   // 8 objects of 504 bytes fit one page
        #expect(cache.objectsPerSlab == 8)
        var objects: [UInt64] = []
        for _ in 0..<20 { objects.append(try #require(machine.kmemCacheAlloc(cache))) }
        #expect(Set(objects).count == 20)
        #expect(cache.slabCount == 3)
        let pfn = Int((objects[0] - machine.addressMap.directMapBase) >> 12)
        let page = try #require(machine.page(pfn))
        switch design {
        case .memdesc32, .memdesc8:
            #expect(page.memdesc & 0xf == UInt64(MemdescType.slab.rawValue))
            #expect(machine.heap.usage()[.slab]?.count == 3)
        default:
            #expect(page.type == .slab)
            #expect(page.refcount == 0)
            // slab->slab_cache overlays compound_head with bit 0 clear.
            #expect(page.compoundHeadWord == cache.address)
            #expect(!page.isTail)
        }
        for object in objects { machine.kmemCacheFree(cache, object) }
        machine.kmemCacheFree(cache, objects[0] &+ 4096 * 1000)
        #expect(machine.diagnostics.of(kind: .warn).count == 1)
        machine.kmemCacheDestroy(cache)
        #expect(machine.diagnostics.of(kind: .badPage).isEmpty)
        #expect(machine.heap.usage()[.slab]?.count ?? 0 == 0)
    }

    @Test func pageTablePagesAreTypedAndCounted() throws {
        let machine = try Machine(ramBytes: 256 << 20)
        let table = try #require(machine.pagetableAlloc())
        #expect(table.type == .table)
        #expect(machine.accounting().pageTableBytes == 4096)
        machine.pagetableFree(table)
        #expect(machine.accounting().pageTableBytes == 0)
        #expect(machine.diagnostics.count == 0)
    }

    @Test func zeroPageIsReserved() throws {
        let machine = try Machine(ramBytes: 256 << 20)
        let zero = machine.zeroPage
        #expect(zero.pfn == 4096)   // CONFIG_PHYSICAL_START, 16 MiB
        #expect(zero.isReserved)
        #expect(zero.refcount == 1)
        #expect(machine.isZeroPfn(4096))
        let m8 = try Machine(config: MachineConfig(ramBytes: 256 << 20, design: .memdesc8))
        #expect(m8.zeroPage.memdesc == 1 << 4)   // Misc, subtype 1 (zero page)
    }

    @Test func pageExtIsSizedByItsClients() throws {
        let cases: [(PageExtClients, Int)] = [
            ([], 0),
            ([.pageOwner], 8 + 64),
            ([.pageTableCheck], 8),
            ([.allocTag], 8),
            ([.pageOwner, .allocTag, .pageTableCheck], 8 + 64 + 8 + 8),
            ([.pageIdle], 0),   // 64-bit keeps Young/Idle in page->flags
        ]
        for (clients, size) in cases {
            let machine = try Machine(config: MachineConfig(ramBytes: 256 << 20, pageExtClients: clients))
            if size == 0 {
                #expect(machine.pageExt == nil)
                #expect(machine.accounting().pageExtBytes == 0)
            } else {
                let ext = try #require(machine.pageExt)
                #expect(ext.layout.entrySize == size)
                #expect(ext.bytes == size * 65536)
                #expect(machine.accounting().pageExtBytes == size * 65536)
            }
        }
        // Offsets in page_ext_ops[] order: page_owner after the header, then alloc_tag.
        let layout = PageExtLayout(clients: [.pageOwner, .allocTag], wordSize: 8, pinClientBytes: 0)
        #expect(layout.offset(of: .pageOwner) == 8 && layout.offset(of: .allocTag) == 72)
        // 32-bit page_idle: the 4-byte shared flags only.
        #expect(PageExtLayout(clients: [.pageIdle], wordSize: 4, pinClientBytes: 0).entrySize == 4)
        // Clients without shared flags start at 0.
        #expect(PageExtLayout(clients: [.pageTableCheck], wordSize: 8, pinClientBytes: 0).offset(of: .pageTableCheck) == 0)
    }

    @Test func pageExtDesignAddsThePinClient() throws {
        let machine = try Machine(config: MachineConfig(ramBytes: 256 << 20, design: .pageExt))
        let ext = try #require(machine.pageExt)
        // unsigned long flags 8 + the pin client's dma_pinned_flags 4 + dma_pinned_count 4.
        #expect(ext.layout.entrySize == 16)
        let entry = try #require(ext.lookup(pfn: 12345))
        entry.flags = 0x5
        #expect(ext.lookup(pfn: 12345)?.flags == 0x5)
        #expect(entry.data(of: .dmaPin)?.count == 8)
        #expect(ext.lookup(pfn: 1 << 20) == nil)
    }

    @Test func offlineSectionsHaveNoPageExtAndNoFreePages() throws {
        let machine = try Machine(config: MachineConfig(ramBytes: 512 << 20, offlineSections: [3], pageExtClients: [.pageOwner]))
        let ext = try #require(machine.pageExt)
        #expect(ext.sectionCount == 3)
        #expect(ext.lookup(pfn: 3 << 15) == nil)
        #expect(machine.page(3 << 15)?.isReserved == true)
        #expect(machine.zones[0][1].present == machine.zones[0][1].span.present - 32768)
    }
}
