// Swap and migration round trips through the page tables: data survives, the PTEs
// become swap or migration entries and back, fork children share swap slots, and
// nothing leaks (mm/vmscan.c, mm/memory.c do_swap_page(), mm/migrate.c).
import Testing
@testable import PageModel
import PageLayout

@Suite struct SwapMigrateTests {
    @Test(arguments: Design.allCases)
    func swapOutAndBackKeepsTheBytes(_ design: Design) throws {
        let (machine, process) = try makeProcess(design)
        _ = try machine.swap.swapon(slots: 1024)
        let addr = try process.mmapAnon(32 << 12)
        for i in 0..<32 { try process.write(pattern(i), at: addr + UInt64(i) << 12) }
        let free = machine.totalFreePages
        try process.mm.madvise(addr: addr, length: 32 << 12, advice: .pageOut)
        #expect(machine.vmEvents.snapshot.swapOuts == 32)
        #expect(machine.totalFreePages == free + 32)
        let pte = process.tables.entry(at: addr).pte
        #expect(pte.softLeaf == .swap && pte.isSwapExclusive)
        #expect(machine.swap.devices[0].inusePages == 32)
        for i in 0..<32 { #expect(try process.read(addr + UInt64(i) << 12, count: 64) == pattern(i)) }
        #expect(machine.vmEvents.snapshot.swapIns == 32)
        // Exclusive entries come back writable: a write needs no COW.
        try process.write([1], at: addr)
        #expect(machine.vmEvents.snapshot.cowCopies == 0)
        #expect(machine.swap.devices[0].inusePages == 0)
        #expect(machine.swap.cache.nrSwapcache == 0)
    }

    @Test func forkedChildSharesSwapSlotsAndBothSeeTheirData() throws {
        let (machine, parent) = try makeProcess()
        _ = try machine.swap.swapon(slots: 256)
        let addr = try parent.mmapAnon(4 << 12)
        for i in 0..<4 { try parent.write(pattern(i), at: addr + UInt64(i) << 12) }
        let child = try parent.fork()
        let result = machine.reclaim(count: 64)
        #expect(result.swappedOut == 4)
        let device = machine.swap.devices[0]
        let entry = try #require(parent.tables.entry(at: addr).pte.swapEntry)
        #expect(child.tables.entry(at: addr).pte.swapEntry == entry)
        #expect(device.swapCount(entry.offset) == 2)
        try child.write(pattern(0, 9), at: addr)
        #expect(try parent.read(addr, count: 64) == pattern(0))
        #expect(try child.read(addr, count: 64) == pattern(0, 9))
        for i in 1..<4 {
            #expect(try child.read(addr + UInt64(i) << 12, count: 64) == pattern(i))
            #expect(try parent.read(addr + UInt64(i) << 12, count: 64) == pattern(i))
        }
        child.exit()
        parent.exit()
        #expect(device.inusePages == 0)
    }

    @Test func munmapOfSwappedMemoryFreesTheSlots() throws {
        let (machine, process) = try makeProcess()
        _ = try machine.swap.swapon(slots: 64)
        let addr = try process.mmapAnon(8 << 12)
        for i in 0..<8 { try process.store(UInt64(i), at: addr + UInt64(i) << 12) }
        try process.mm.madvise(addr: addr, length: 8 << 12, advice: .pageOut)
        #expect(machine.swap.devices[0].inusePages == 8)
        try process.mm.munmap(addr: addr, length: 8 << 12)
        #expect(machine.swap.devices[0].inusePages == 0)
    }

    @Test func withoutSwapAnonymousMemoryStays() throws {
        let (machine, process) = try makeProcess()
        let addr = try process.mmapAnon(8 << 12)
        for i in 0..<8 { try process.store(UInt64(i), at: addr + UInt64(i) << 12) }
        let result = machine.reclaim(count: 64)
        #expect(result.reclaimed == 0 && result.kept == 8)
        #expect(process.tables.entry(at: addr).pte.isPresent)
    }

    @Test(arguments: Design.allCases)
    func migrationBetweenNodesKeepsTheBytes(_ design: Design) throws {
        let machine = try Machine(ramBytes: 256 << 20, design: design, nodes: 2)
        let process = try Process(machine: machine)
        let addr = try process.mmapAnon(16 << 12)
        for i in 0..<16 { try process.write(pattern(i), at: addr + UInt64(i) << 12) }
        let before = (0..<16).map { process.tables.entry(at: addr + UInt64($0) << 12).pte.pfn }
        #expect(before.allSatisfy { machine.memmap.nid(of: $0) == 0 })
        let free = machine.totalFreePages
        let result = process.migrate(addr, length: 16 << 12, toNode: 1, gfp: GFP.highuserMovable.union(.thisnode))
        #expect(result.migrated.count == 16 && result.failed.isEmpty)
        #expect(machine.totalFreePages == free)
        for i in 0..<16 {
            let pte = process.tables.entry(at: addr + UInt64(i) << 12).pte
            #expect(pte.isPresent && pte.isWritable)
            #expect(machine.memmap.nid(of: pte.pfn) == 1)
            #expect(try process.read(addr + UInt64(i) << 12, count: 64) == pattern(i))
        }
        // The folio stays exclusive: a write after migration reuses it.
        try process.write([7], at: addr)
        #expect(machine.vmEvents.snapshot.cowCopies == 0)
        #expect(machine.vmEvents.snapshot.migrations == 16)
    }

    @Test func migrationOfSharedFolioUpdatesEveryMapping() throws {
        let machine = try Machine(ramBytes: 256 << 20, nodes: 2)
        let parent = try Process(machine: machine)
        let addr = try parent.mmapAnon(2 << 12)
        try parent.write(pattern(1), at: addr)
        let child = try parent.fork()
        let result = parent.migrate(addr, length: 4096, toNode: 1, gfp: GFP.highuserMovable.union(.thisnode))
        #expect(result.migrated.count == 1)
        let new = try #require(result.migrated.first)
        #expect(parent.tables.entry(at: addr).pte.pfn == new.pfn)
        #expect(child.tables.entry(at: addr).pte.pfn == new.pfn)
        #expect(machine.folioMapcount(new) == 2 && new.refcount == 2)
        try child.write(pattern(2), at: addr)
        #expect(try parent.read(addr, count: 64) == pattern(1))
        #expect(try child.read(addr, count: 64) == pattern(2))
    }

    @Test func aFolioWithAnExtraReferenceIsNotMigrated() throws {
        let machine = try Machine(ramBytes: 256 << 20, nodes: 2)
        let process = try Process(machine: machine)
        let addr = try process.mmapAnon(4096)
        try process.write(pattern(3), at: addr)
        let pfn = process.tables.entry(at: addr).pte.pfn
        let folio = try #require(machine.page(pfn).flatMap(machine.pageFolio))
        folio.get()   // someone else's reference (a GUP FOLL_GET, a driver)
        let result = process.migrate(addr, length: 4096, toNode: 1, gfp: GFP.highuserMovable.union(.thisnode))
        #expect(result.migrated.isEmpty)
        #expect(result.failed.map(\.errno) == [.EAGAIN])
        #expect(process.tables.entry(at: addr).pte.pfn == pfn)
        #expect(try process.read(addr, count: 64) == pattern(3))
        machine.folioPut(folio)
    }

    /// do_swap_page() reads the page into a new folio in the swap cache, then finds the
    /// PTE changed (another thread got there) and gives up; the entry is then zapped
    /// while the folio is locked, so free_swap_and_cache()'s trylock leaves it in the
    /// swap cache. The folio has no anon_vma and no PTE, only the cache's reference: it
    /// must be on the LRU (the kernel adds it before mapping) and reclaim must free it.
    @Test(arguments: [Design.mainline, .memdesc8])
    func aSwapInThatLosesItsPTEStaysReclaimable(_ design: Design) throws {
        let (machine, process) = try makeProcess(design)
        _ = try machine.swap.swapon(slots: 64)
        let free = machine.totalFreePages
        let addr = try process.mmapAnon(1 << 12)
        try process.write(pattern(0), at: addr)
        try process.mm.madvise(addr: addr, length: 1 << 12, advice: .pageOut)
        let swapPTE = process.tables.entry(at: addr).pte
        let entry = try #require(swapPTE.swapEntry)
        let vma = try #require(process.mm.vmaLookup(addr))
        let table = try #require(process.tables.pmdSlot(addr, allocate: false)).load().pfn
        let slot = process.tables.slot(table, Paging.index(addr, Paging.pageShift))
        // The fault saw an entry the PTE no longer holds (its exclusive bit differs).
        let seen = PTE(rawValue: swapPTE.rawValue ^ PTE.swpExclusive)
        let fault = process.mm.mmapLock.withReadLock {
            process.tables.swapIn(vma, address: addr, pte: slot, table: table, entry: seen, flags: [.user])
        }
        #expect(!fault.contains(.sigbus) && !fault.contains(.oom))
        #expect(process.tables.entry(at: addr).pte == swapPTE)
        let folio = try #require(machine.swap.cache.getFolio(entry))
        #expect(folio.testFlag(machine.flagBits.lru) && !machine.folioIsAnon(folio))
        #expect(folio.tryLock())
        try process.mm.munmap(addr: addr, length: 1 << 12)
        folio.unlock()
        #expect(machine.swap.cache.contains(folio) && folio.refcount == 2)
        machine.folioPut(folio)   // getFolio()'s reference
        #expect(machine.reclaim(count: 16).reclaimed == 1)
        #expect(machine.swap.cache.nrSwapcache == 0 && machine.swap.devices[0].inusePages == 0)
        #expect(machine.totalFreePages == free)
    }
}

@Suite struct ShmemSwapTests {
    @Test func sharedAnonymousMemoryIsSwappedAndSharedAfterwards() throws {
        let (machine, parent) = try makeProcess()
        _ = try machine.swap.swapon(slots: 256)
        let addr = try parent.mmapAnon(8 << 12, flags: [.shared, .anonymous])
        for i in 0..<8 { try parent.write(pattern(i), at: addr + UInt64(i) << 12) }
        let child = try parent.fork()
        let free = machine.totalFreePages
        let result = machine.reclaim(count: 64)
        #expect(result.swappedOut == 8)
        #expect(machine.totalFreePages == free + 8)
        #expect(parent.tables.entry(at: addr).pte.isNone && child.tables.entry(at: addr).pte.isNone)
        #expect(machine.swap.devices[0].inusePages == 8)
        for i in 0..<8 { #expect(try child.read(addr + UInt64(i) << 12, count: 64) == pattern(i)) }
        try child.write([0x99], at: addr)
        #expect(try parent.read(addr, count: 1) == [0x99])
        #expect(machine.swap.devices[0].inusePages == 0)
    }

    @Test func memfdPagesComeBackThroughPread() throws {
        let (machine, _) = try makeProcess()
        _ = try machine.swap.swapon(slots: 64)
        let file = try Filesystem(machine: machine, kind: .shmem).memfdCreate(name: "swap")
        for i in 0..<4 { _ = try file.pwrite(pattern(i), offset: Int64(i) << 12) }
        machine.reclaim(count: 16)
        #expect(file.pageCache.swappedPages == 4 && file.pageCache.folioCount == 0)
        #expect(try file.pread(count: 64, offset: 2 << 12) == pattern(2))
        #expect(file.pageCache.swappedPages == 3)
        try file.ftruncate(0)
        #expect(file.pageCache.swappedPages == 0 && machine.swap.devices[0].inusePages == 0)
    }
}

@Suite struct MovableMigrationTests {
    @Test func migrationOutOfZoneMovableWithoutMovableGFP() throws {
        let machine = try Machine(config: MachineConfig(ramBytes: 256 << 20, movableBytes: 128 << 20))
        let process = try Process(machine: machine)
        let addr = try process.mmapAnon(8 << 12)
        for i in 0..<8 { try process.write(pattern(i), at: addr + UInt64(i) << 12) }
        let movable = Zone.movable
        func zoneOf(_ i: Int) -> Zone? { machine.zone(of: process.tables.entry(at: addr + UInt64(i) << 12).pte.pfn)?.type }
        // GFP_HIGHUSER_MOVABLE user memory lands in ZONE_MOVABLE first.
        #expect((0..<8).allSatisfy { zoneOf($0) == movable })
        // What FOLL_LONGTERM's migrate_longterm_unpinnable_folios() asks: GFP_USER, no
        // __GFP_MOVABLE, so the targets come from the kernel's zones.
        let result = process.migrate(addr, length: 8 << 12, toNode: nil, gfp: .highuser)
        #expect(result.migrated.count == 8)
        #expect((0..<8).allSatisfy { zoneOf($0) != movable })
        for i in 0..<8 { #expect(try process.read(addr + UInt64(i) << 12, count: 64) == pattern(i)) }
    }
}
