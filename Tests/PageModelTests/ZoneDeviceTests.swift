import PageLayout
@testable import PageModel
import Synchronization
import Testing

/// memremap_pages() and the life of a ZONE_DEVICE page for each memory type.
@Suite struct ZoneDeviceTests {
    final class FreedFolios: Sendable {
        let pfns = Mutex<[Int]>([])
    }

    /// x86_64-distro with CONFIG_DEVICE_PRIVATE (which MEMORY_DEVICE_PRIVATE requires).
    static func deviceMachine() throws -> Machine {
        let kernel = try KernelConfig.preset("x86_64-distro").setting(["DEVICE_PRIVATE": .yes])
        return try Machine(config: MachineConfig(ramBytes: 256 << 20, kernel: kernel))
    }

    /// The memdesc designs' device pages point (memdesc type File, as every folio's) to a
    /// folio descriptor that keeps `pgmap` at offset 8, where v6.19's struct folio keeps
    /// it (include/linux/mm_types.h: `flags`, then `union { lru; pgmap; }`), read here
    /// as raw descriptor bytes; their zone is ZONE_DEVICE. A device folio's life leaves
    /// it there, and memunmap_pages() gives the descriptors back to the heap.
    @Test(arguments: [Design.memdesc32, .memdesc8], MemoryType.allCases)
    func memdescDeviceFoliosKeepPgmapInTheirDescriptor(design: Design, type: MemoryType) throws {
        let kernel = try KernelConfig.preset("x86_64-distro").setting(["DEVICE_PRIVATE": .yes])
        let machine = try Machine(config: MachineConfig(ramBytes: 128 << 20, design: design, kernel: kernel))
        let before = machine.heap.usage()[.folio]?.bytes ?? 0
        let ops = DevPagemapOps(folioFree: { _ in }, hasMigrateToRam: type == .devicePrivate)
        let pgmap = try machine.memremapPages(type: type, bytes: machine.config.sectionBytes, ops: ops, owner: 0xfeed)
        func descriptorPgmap(_ pfn: Int) throws -> UInt64 {
            let word = try #require(machine.page(pfn)).memdesc
            #expect(word & 0xf == UInt64(MemdescType.file.rawValue))
            let address = word & ~0xf
            #expect(machine.heap.contains(address))
            return machine.heap.pointer(address).load(fromByteOffset: 8, as: UInt64.self)
        }
        for pfn in [pgmap.range.start, pgmap.range.start + 7, pgmap.range.end - 1] {
            #expect(try descriptorPgmap(pfn) == pgmap.address)
            #expect(machine.zone(of: pfn)?.type == .device)
            #expect(machine.isZoneDevice(pfn))
        }
        let page = try #require(machine.page(pgmap.range.start + 7))
        #expect(machine.pagePgmap(page) === pgmap)
        // The descriptors are heap memory, counted with the folios'.
        #expect((machine.heap.usage()[.folio]?.bytes ?? 0) > before)
        if type != .generic {
            let folio = try #require(machine.zoneDevicePageInit(page, pgmap: pgmap))
            #expect(folio.refcount == 1 && folio.isLocked)
            #expect(try descriptorPgmap(page.pfn) == pgmap.address)
            folio.unlock()
            machine.folioPut(folio)
            #expect(pgmap.pagesInUse == 0)
        }
        #expect(try descriptorPgmap(page.pfn) == pgmap.address)
        #expect(machine.diagnostics.count == 0)
        #expect(machine.memunmapPages(pgmap))
        #expect((machine.heap.usage()[.folio]?.bytes ?? 0) == before)
    }

    /// A PMD-order device folio (v6.19 `zone_device_page_init(page, pgmap, HPAGE_PMD_ORDER)`)
    /// in the memdesc designs: its 512 pages point to the head page's own descriptor,
    /// which keeps pgmap and order 9; once freed, a former tail page made a folio of
    /// its own points to its own descriptor, with the same pgmap.
    @Test(arguments: [Design.memdesc32, .memdesc8])
    func memdescPMDOrderDeviceFolio(design: Design) throws {
        let kernel = try KernelConfig.preset("x86_64-distro").setting(["DEVICE_PRIVATE": .yes])
        let machine = try Machine(config: MachineConfig(ramBytes: 128 << 20, design: design, kernel: kernel))
        let ops = DevPagemapOps(folioFree: { _ in }, hasMigrateToRam: true)
        let pgmap = try machine.memremapPages(type: .devicePrivate, bytes: machine.config.sectionBytes, ops: ops, owner: 0xfeed)
        let head = try #require(machine.page(pgmap.range.start + 512))
        let folio = try #require(machine.zoneDevicePageInit(head, pgmap: pgmap, order: 9))
        #expect(folio.order == 9 && folio.nrPages == 512)
        #expect(pgmap.pagesInUse == 512)
        for i in [0, 1, 511] {
            let page = try #require(machine.page(head.pfn + i))
            #expect(page.memdesc & ~0xf == folio.address)
            #expect(machine.pagePgmap(page) === pgmap)
        }
        #expect(machine.heap.pointer(folio.address).load(fromByteOffset: 8, as: UInt64.self) == pgmap.address)
        let tail = try #require(machine.page(head.pfn + 3))
        machine.setZoneDeviceData(tail, 0x1234)
        #expect(machine.zoneDeviceData(tail) == 0x1234)
        #expect(machine.zoneDeviceData(head) == 0)
        folio.unlock()
        machine.folioPut(folio)
        #expect(pgmap.pagesInUse == 0)
        let small = try #require(machine.zoneDevicePageInit(tail, pgmap: pgmap))
        #expect(small.order == 0 && small.address != folio.address)
        #expect(tail.memdesc & ~0xf == small.address)
        #expect(machine.heap.pointer(small.address).load(fromByteOffset: 8, as: UInt64.self) == pgmap.address)
        // zone_device_page_init() leaves zone_device_data as it was.
        #expect(machine.zoneDeviceData(tail) == 0x1234)
        small.unlock()
        machine.folioPut(small)
        #expect(machine.diagnostics.count == 0)
        #expect(machine.memunmapPages(pgmap))
    }

    @Test(arguments: MemoryType.allCases)
    func lifecycle(type: MemoryType) throws {
        let machine = try Self.deviceMachine()
        let freed = FreedFolios()
        let ops = DevPagemapOps(folioFree: { folio in freed.pfns.withLock { $0.append(folio.pfn) } },
                                hasMigrateToRam: type == .devicePrivate)
        let pgmap = try machine.memremapPages(type: type, bytes: 128 << 20, ops: ops, owner: 0xfeed)
        // request_free_mem_region(): the top of the 46-bit physical address space.
        #expect(pgmap.range.end == 1 << 34)
        #expect(pgmap.range.count == 32768)
        #expect(machine.accounting().memmapBytes == (65536 + 32768) * 64)
        let page = try #require(machine.page(pgmap.range.start))
        #expect(machine.zone(of: page.pfn)?.type == .device)
        #expect(page.isReserved)
        #expect(machine.pagePgmap(page) === pgmap)
        // pgmap lives in the folio's lru slot, which is the page's first union word.
        #expect(page.loadWord(atOffset: machine.layout.folioPgmap) == pgmap.address)
        #expect(machine.layout.folioPgmap == machine.layout.link)
        #expect(page.zoneDeviceData == 0)
        #expect(machine.layout.zoneDeviceData == 16)
        #expect(page.refcount == (type == .generic ? 1 : 0))
        if type == .generic { return }

        let folio = try #require(machine.zoneDevicePageInit(page, pgmap: pgmap))
        #expect(folio.refcount == 1)
        #expect(page.testFlag(machine.flagBits.locked))
        #expect(pgmap.pagesInUse == 1)
        #expect(!machine.memunmapPages(pgmap))
        page.unlock()
        machine.folioPut(folio)
        // Freed at refcount 0 (not 1, since the 2022 cleanup), through folio_free.
        switch type {
        case .devicePrivate, .deviceCoherent, .pciP2PDMA:
            #expect(freed.pfns.withLock { $0 } == [page.pfn])
        case .fsDax, .generic:
            #expect(freed.pfns.withLock { $0 }.isEmpty)
        }
        #expect(pgmap.pagesInUse == 0)
        #expect(machine.diagnostics.count == 1)   // the refused memunmap_pages
        #expect(machine.memunmapPages(pgmap))
        #expect(machine.page(pgmap.range.start) == nil)
        #expect(machine.accounting().memmapBytes == 65536 * 64)
    }

    @Test func compoundPagemapsPrepareFolios() throws {
        let machine = try Machine(ramBytes: 256 << 20)
        let pgmap = try machine.memremapPages(type: .fsDax, bytes: 128 << 20, vmemmapShift: 9, ops: DevPagemapOps())
        let head = try #require(machine.page(pgmap.range.start))
        let folio = try #require(machine.pageFolio(head))
        #expect(folio.order == 9)
        #expect(machine.compoundHead(machine.page(pgmap.range.start + 511)!) == head)
        #expect(machine.page(pgmap.range.start + 512)?.isHead == true)
        // Device pages never reach the buddy allocator.
        machine.freeFrozenPages(pgmap.range.start + 1024, order: 0)
        #expect(machine.diagnostics.of(kind: .warn).map(\.reason) == ["freeing a ZONE_DEVICE page to the page allocator"])
        #expect(machine.zones[0][4].freePages == 0)
    }

    @Test func invalidPagemapsAreRefused() throws {
        let machine = try Self.deviceMachine()
        let plain = try Machine(ramBytes: 256 << 20)
        #expect(throws: KernelError.invalid("MEMORY_DEVICE_PRIVATE needs CONFIG_DEVICE_PRIVATE")) {
            try plain.memremapPages(type: .devicePrivate, bytes: 128 << 20, ops: DevPagemapOps(folioFree: { _ in }, hasMigrateToRam: true), owner: 1)
        }
        #expect(throws: KernelError.self) { try machine.memremapPages(type: .devicePrivate, bytes: 128 << 20, ops: DevPagemapOps(), owner: 1) }
        #expect(throws: KernelError.self) { try machine.memremapPages(type: .deviceCoherent, bytes: 128 << 20, ops: DevPagemapOps(folioFree: { _ in })) }
        #expect(throws: KernelError.self) { try machine.memremapPages(type: .generic, bytes: 4096, ops: DevPagemapOps()) }
        let i386 = try Machine(config: MachineConfig(ramBytes: 256 << 20, arch: .i386))
        #expect(throws: KernelError.unsupported("the kernel config has no ZONE_DEVICE")) {
            try i386.memremapPages(type: .generic, bytes: 64 << 20, ops: DevPagemapOps())
        }
    }
}

/// Allocation failure: watermarks, injection, impossible requests.
@Suite struct AllocationFailureTests {
    @Test func exhaustingAZoneFailsAtTheMinWatermark() throws {
        let machine = try Machine(ramBytes: 256 << 20)
        var pages: [Page] = []
        while let page = machine.allocPages([.kernel, .dma, .nowarn], order: 0) { pages.append(page) }
        let dma = machine.zones[0][0]
        // The last allocation that worked left free pages at or above WMARK_MIN.
        #expect(dma.freePages + dma.pcpPages >= dma.watermarks.min - 1)
        #expect(pages.count > 3000)
        #expect(machine.diagnostics.count == 0)
        #expect(machine.allocPages([.kernel, .dma], order: 0) == nil)
        #expect(machine.diagnostics.of(kind: .warn).first?.reason.hasPrefix("page allocation failure: order:0, mode:0x") == true)
        // __GFP_HIGH dips below min (to half of it).
        #expect(machine.allocPages([.kernel, .dma, .high, .nowarn], order: 0) != nil)
        for page in pages { machine.freePages(page, order: 0) }
    }

    @Test func injectedFailuresFollowTimesAndInterval() throws {
        let machine = try Machine(ramBytes: 256 << 20)
        machine.injectAllocationFailures(FailInjection(times: 2, interval: 2))
        let results = (0..<6).map { _ in machine.allocPages([.kernel, .nowarn]) != nil }
        #expect(results == [true, false, true, false, true, true])
        #expect(machine.allocationStats.injectedFailures == 2)
        machine.injectAllocationFailures(FailInjection(times: -1))
        #expect(machine.allocPages([.kernel, .nofail]) != nil)   // __GFP_NOFAIL is never failed
        #expect(machine.allocPages(.kernel) == nil)
        #expect(machine.diagnostics.all.last?.reason.hasSuffix("(fail_page_alloc)") == true)
    }

    @Test func impossibleRequestsAreRecordedNotTrapped() throws {
        let machine = try Machine(ramBytes: 256 << 20)
        #expect(machine.allocPages(.kernel, order: 11) == nil)
        #expect(machine.allocPages([.kernel, .dma, .dma32]) == nil)   // GFP_ZONE_BAD
        #expect(machine.diagnostics.of(kind: .bug).count == 1)
        #expect(machine.page(-1) == nil && machine.page(1 << 40) == nil)
    }

    @Test func zoneSelectionFollowsGfp() throws {
        let machine = try Machine(ramBytes: (4 << 30) + (256 << 20))
        let zoneOf = { (gfp: GFP) -> Zone? in machine.allocPages(gfp).flatMap { machine.zone(of: $0.pfn)?.type } }
        #expect(zoneOf([.kernel, .dma]) == .dma)
        #expect(zoneOf([.kernel, .dma32]) == .dma32)
        #expect(zoneOf(.kernel) == .normal)
        #expect(zoneOf(.highuserMovable) == .normal)   // ZONE_MOVABLE is empty here
        let movable = try Machine(config: MachineConfig(ramBytes: (4 << 30) + (256 << 20), movableBytes: 128 << 20))
        #expect(movable.allocPages(.highuserMovable).flatMap { movable.zone(of: $0.pfn)?.type } == .movable)
        #expect(movable.allocPages(.kernel).flatMap { movable.zone(of: $0.pfn)?.type } == .normal)
    }
}
