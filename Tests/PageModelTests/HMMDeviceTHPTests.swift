// Device THPs (v6.19): PMD-order device folios from the mirror's `free_folios`
// (lib/test_hmm.c dmirror_allocate_chunk(), dmirror_devmem_alloc_page(is_large),
// dmirror_devmem_free()), a PMD-mapped THP migrated whole with MIGRATE_VMA_SELECT_COMPOUND
// (mm/migrate_device.c migrate_vma_collect_huge_pmd(), migrate_vma_insert_huge_pmd_page())
// into a device-private PMD entry (x86-64 swap format) or a present PMD of coherent memory,
// and what every page-table walker does with a device-private PMD (mm/huge_memory.c:
// do_huge_pmd_device_private(), zap_huge_pmd(), copy_huge_non_present_pmd(),
// __split_huge_pmd_locked(); mm/hmm.c hmm_vma_handle_absent_pmd()). Private (device 0)
// and coherent (device 2) variants, on every design that has ZONE_DEVICE.
//
// Ports of hmm-tests.c (tools/testing/selftests/mm/hmm-tests.c, v6.19):
// migrate_anon_huge_err, and the first half of migrate_anon_huge_zero_err, with the
// kernel's expected values. The second half of migrate_anon_huge_zero_err (its read of
// the PROT_READ THP range maps the huge zero folio, which migrate_vma_collect_huge_pmd()
// collects as a compound hole, so FAIL_ALLOC falls back to 512 small device pages) is in
// HugeZeroFolioTests.swift.
import PageLayout
@testable import PageModel
import Testing

@Suite struct HMMDeviceTHPTests {
    static let npages = HMMTHPTests.npages
    static let pmd = HMMTHPTests.pmd

    // MARK: (1) PMD-order device folios

    /// dmirror_devmem_alloc_page(dmirror, true): the first large request adds a chunk
    /// whose PMD-aligned 2 MiB pieces all go on `free_folios`; the folio handed out is of
    /// order 9, refcount 1, locked, its pagemap in `pgmap`, the backing folio (private
    /// memory: folio_alloc(GFP_HIGHUSER, 9)) of the same order in the head's
    /// `zone_device_data`; calloc counts 512. Its last reference gives it back to the
    /// driver (free_zone_device_folio() -> folio_free: dmirror_devmem_free()) at refcount
    /// 0 on `free_folios`, the backing folio freed, cfree 512.
    @Test(arguments: HMMMigrateTests.designs, [0, 2])
    func deviceFolioLifeCycle(_ design: Design, device id: Int) throws {
        let (machine, _, mirror) = try HMMMigrateTests.setup(design, device: id)
        let device = mirror.device
        let freeBefore = machine.zones.joined().reduce(0) { $0 + $1.freePages }
        let folio = try #require(device.allocPage(large: true))
        let chunkPages = HMMMigrateTests.chunkPages  // DEVMEM_CHUNK_SIZE (lib/test_hmm.c), 256 MiB
        #expect(folio.order == 9 && folio.nrPages == 512)
        #expect(folio.refcount == 1 && folio.isLocked)
        #expect(folio.pfn % 512 == 0)
        #expect(machine.pagePgmap(folio.headPage)?.type == (id == 0 ? .devicePrivate : .deviceCoherent))
        #expect(device.pagesInUse == 512)
        #expect(device.freePages == chunkPages - 512)
        if id == 0 {
            let backing = try #require(machine.memmap.page(atAddress: machine.zoneDeviceData(folio.headPage)).flatMap { machine.pageFolio($0) })
            #expect(backing.order == 9)
            #expect(device.dataPfn(Page(unchecked: folio.pfn + 7, machine.context)) == backing.pfn + 7)
            #expect(machine.zones.joined().reduce(0) { $0 + $1.freePages } == freeBefore - 512)
        }
        folio.unlock()
        machine.folioPut(folio)
        #expect(folio.refcount == 0)
        #expect(device.pagesInUse == 0)
        #expect(device.freePages == chunkPages)
        #expect(machine.zones.joined().reduce(0) { $0 + $1.freePages } == freeBefore)
        // Handed out again: the same folio, from the head of `free_folios`.
        let again = try #require(device.allocPage(large: true))
        #expect(again.pfn == folio.pfn && again.order == 9 && again.refcount == 1)
        again.unlock()
        machine.folioPut(again)
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption || $0.kind == .warn }.isEmpty)
    }

    // MARK: (2) a THP migrated whole

    /// MIGRATE_TO_DEV of a written, PMD-mapped THP (dmirror_migrate_to_device(): SYSTEM |
    /// COMPOUND): cpages npages, the data read back; nothing split (THP_SPLIT_PAGE 0); one
    /// device folio of order 9 in use, mapped by one PMD: for private memory a
    /// device-private write entry (SWP_DEVICE_WRITE, type 28 in bits 59-63, the pfn
    /// inverted from bit 14) holding one reference and the entire mapping, for coherent
    /// memory a present huge PMD. SNAPSHOT reports every page with the PMD bit
    /// (dmirror_mkentry(): 0x20 | WRITE 0x02 | PMD 0x04 = 0x26 for this device's private
    /// page, 0x40 | 0x02 | 0x04 = 0x46 for a coherent one). A CPU read brings the THP home
    /// whole (do_huge_pmd_device_private() -> dmirror_devmem_fault() with order 9 and
    /// MIGRATE_VMA_SELECT_COMPOUND): PMD-mapped again, the device folio freed.
    @Test(arguments: HMMMigrateTests.designs, [0, 2])
    func thpMigratesWhole(_ design: Design, device id: Int) throws {
        let (machine, process, mirror, map, data) = try HMMHugeSplitTests.written(design, device: id)
        var buffer: [UInt8] = []
        #expect(try mirror.migrateToDevice(addr: map, npages: UInt64(Self.npages), into: &buffer).cpages == Self.npages)
        #expect(buffer == data)
        #expect(machine.vmEvents.snapshot.thpSplitPage == 0)
        #expect(mirror.device.pagesInUse == 512)
        let (entry, huge) = process.tables.entry(at: map)
        let pfn: Int
        if id == 0 {
            #expect(!huge && entry.isPMDSoftLeaf && entry.softLeaf == .devicePrivateWrite)
            #expect(entry.rawValue >> 59 == 28)
            pfn = try #require(entry.devicePfn)
            #expect(entry.rawValue == (~UInt64(pfn) << 14) >> 5 | 28 << 59)
        } else {
            #expect(huge && entry.isPresent && entry.isWritable)
            pfn = entry.pfn
        }
        let folio = try #require(machine.page(pfn).flatMap { machine.pageFolio($0) })
        #expect(folio.pfn == pfn && folio.order == 9 && machine.isZoneDevice(pfn))
        #expect(folio.refcount == 1 && machine.folioMapcount(folio) == 1)
        #expect(try mirror.snapshot(addr: map, npages: UInt64(Self.npages)).1.allSatisfy { $0 == (id == 0 ? 0x26 : 0x46) })
        #expect(try process.read(map, count: data.count) == data)
        if id == 0 {
            #expect(process.tables.entry(at: map).huge)
            #expect(mirror.device.pagesInUse == 0)
        }
        #expect(machine.vmEvents.snapshot.thpSplitPage == 0)
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption || $0.kind == .badPage }.isEmpty)
    }

    /// MIGRATE_TO_SYS of a device THP (SELECT_DEVICE_PRIVATE | COMPOUND): one compound
    /// source, so cpages (dmirror_successful_migrated_pages(): entries VALID and MIGRATE)
    /// is 1; the range is a system THP again, PMD-mapped, with the data. (A coherent THP
    /// is mapped by a present PMD, which migrate_vma_collect_huge_pmd() skips without
    /// MIGRATE_VMA_SELECT_SYSTEM: cpages 0, it stays on the device.)
    @Test(arguments: HMMMigrateTests.designs, [0, 2])
    func thpComesBackWhole(_ design: Design, device id: Int) throws {
        let (machine, process, mirror, map, data) = try HMMHugeSplitTests.written(design, device: id)
        var buffer: [UInt8] = []
        _ = try mirror.migrateToDevice(addr: map, npages: UInt64(Self.npages), into: &buffer)
        #expect(try mirror.migrateToSystem(addr: map, npages: UInt64(Self.npages)).cpages == (id == 0 ? 1 : 0))
        #expect(process.tables.entry(at: map).huge)
        #expect(mirror.device.pagesInUse == (id == 0 ? 0 : 512))
        #expect(try process.read(map, count: data.count) == data)
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption || $0.kind == .badPage }.isEmpty)
    }

    /// HMM_DMIRROR_RELEASE with a device THP resident: migrate_device_range() selects
    /// its head with MIGRATE_PFN_COMPOUND (the 511 tails 0), dmirror_device_evict_chunk()
    /// allocates a system folio of its order, and the PMD migration entry
    /// (try_to_migrate(folio, 0): set_pmd_migration_entry()) becomes a present huge PMD
    /// again (remove_migration_pmd()): the THP comes home whole, every device page freed.
    @Test(arguments: HMMMigrateTests.designs)
    func releaseEvictsTheDeviceTHPWhole(_ design: Design) throws {
        let (machine, process, mirror, map, data) = try Self.onDevice(design)
        mirror.device.release()
        #expect(process.tables.entry(at: map).huge)
        #expect(mirror.device.pagesInUse == 0)
        #expect(try process.read(map, count: data.count) == data)
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption || $0.kind == .badPage }.isEmpty)
    }

    /// A CPU fault on a device THP while FAIL_ALLOC is set: dmirror_devmem_fault_alloc_and_copy()
    /// falls back to order-0 system pages, so migrate_vma_pages() must split the device THP
    /// (migrate_vma_split_unmapped_folio()); the fault's own reference on the folio makes
    /// folio_split_unmapped() refuse (EAGAIN), so nothing moves and the PMD is left split
    /// into 512 PTE device-private entries. The access faults again, now on a PTE
    /// (dmirror_devmem_fault() with order 0: the folio split, one page brought home),
    /// and so on page by page: the data arrives intact, every device page is freed.
    @Test(arguments: HMMMigrateTests.designs)
    func faultWithFailAllocComesHomePageByPage(_ design: Design) throws {
        let (machine, process, mirror, map, data) = try Self.onDevice(design)
        mirror.setFlags(DeviceMirror.flagFailAlloc)
        #expect(try process.read(map, count: 4) == Array(data[..<4]))
        let next = process.tables.entry(at: map + 4096)
        #expect(!next.huge && next.pte.softLeaf == .devicePrivateWrite)
        #expect(mirror.device.pagesInUse == 511)
        #expect(try process.read(map, count: data.count) == data)
        let entry = process.tables.entry(at: map)
        #expect(!entry.huge && entry.pte.isPresent && !machine.isZoneDevice(entry.pte.pfn))
        #expect(mirror.device.pagesInUse == 0)
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption || $0.kind == .badPage }.isEmpty)
    }

    // MARK: (3) the walkers

    /// The written THP on device 0, PMD-mapped by a device-private entry.
    static func onDevice(_ design: Design) throws -> (Machine, Process, DeviceMirror, UInt64, [UInt8]) {
        let (machine, process, mirror, map, data) = try HMMHugeSplitTests.written(design, device: 0)
        var buffer: [UInt8] = []
        _ = try mirror.migrateToDevice(addr: map, npages: UInt64(npages), into: &buffer)
        try #require(process.tables.entry(at: map).pte.isDevicePrivate)
        return (machine, process, mirror, map, data)
    }

    /// zap_huge_pmd() of a device-private PMD (munmap of the whole 2 MiB): the mapping and
    /// the reference go, the device folio returns to `free_folios`, its backing folio is
    /// freed; exit does the same.
    @Test(arguments: HMMMigrateTests.designs, [false, true])
    func zapFreesTheDeviceTHP(_ design: Design, exit: Bool) throws {
        let (machine, process, mirror, map, _) = try Self.onDevice(design)
        let free = mirror.device.freePages
        if exit { process.exit() } else { try process.mm.munmap(addr: map, length: Self.pmd) }
        #expect(mirror.device.pagesInUse == 0)
        #expect(mirror.device.freePages == free + 512)
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption || $0.kind == .badPage }.isEmpty)
    }

    /// copy_huge_non_present_pmd(): fork shares the device THP (one more reference and
    /// mapping), the write entry read-only in parent and child; the child's read faults it
    /// home whole (migrate_device_unmap() unmaps the parent's PMD too), so both then map
    /// the same system THP, and both read the data.
    @Test(arguments: HMMMigrateTests.designs)
    func forkSharesTheDeviceTHP(_ design: Design) throws {
        let (machine, process, mirror, map, data) = try Self.onDevice(design)
        let child = try process.fork()
        let parentEntry = process.tables.entry(at: map).pte, childEntry = child.tables.entry(at: map).pte
        #expect(parentEntry.softLeaf == .devicePrivateRead && childEntry == parentEntry)
        let folio = try #require(parentEntry.devicePfn.flatMap { machine.page($0) }.flatMap { machine.pageFolio($0) })
        #expect(folio.refcount == 2 && machine.folioMapcount(folio) == 2)
        #expect(try child.read(map, count: data.count) == data)
        #expect(child.tables.entry(at: map).huge && process.tables.entry(at: map).huge)
        #expect(child.tables.entry(at: map).pte.pfn == process.tables.entry(at: map).pte.pfn)
        #expect(mirror.device.pagesInUse == 0)
        #expect(try process.read(map, count: data.count) == data)
        child.exit()
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption || $0.kind == .badPage }.isEmpty)
    }

    /// mprotect(PROT_READ) of the first 1 MiB splits the device-private PMD
    /// (__split_huge_pmd_locked(): 512 PTE device-private entries of the still large
    /// folio, 511 more references) and makes those entries read-only
    /// (change_pte_range()); the CPU then faults each page home (the folio split on the
    /// first, dmirror_devmem_folio_split() keeping each page's backing page), every
    /// device page freed.
    @Test(arguments: HMMMigrateTests.designs)
    func mprotectSplitsTheDevicePMD(_ design: Design) throws {
        let (machine, process, mirror, map, data) = try Self.onDevice(design)
        try process.mm.mprotect(addr: map, length: 1 << 20, prot: [.read])
        let first = process.tables.entry(at: map), last = process.tables.entry(at: map + Self.pmd - 4096)
        #expect(!first.huge && first.pte.softLeaf == .devicePrivateRead)
        #expect(!last.huge && last.pte.softLeaf == .devicePrivateWrite)
        let folio = try #require(first.pte.devicePfn.flatMap { machine.page($0) }.flatMap { machine.pageFolio($0) })
        #expect(folio.order == 9 && folio.refcount == 512 && machine.folioMapcount(folio) == 512)
        #expect(try process.read(map, count: data.count) == data)
        #expect(mirror.device.pagesInUse == 0)
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption || $0.kind == .badPage }.isEmpty)
    }

    /// mprotect(PROT_READ) of the whole 2 MiB: change_huge_pmd() ->
    /// change_non_present_huge_pmd() makes the device-private PMD a read entry in place
    /// (no split); the data still comes home whole on a read.
    @Test(arguments: HMMMigrateTests.designs)
    func mprotectKeepsAWholeDevicePMD(_ design: Design) throws {
        let (machine, process, mirror, map, data) = try Self.onDevice(design)
        try process.mm.mprotect(addr: map, length: Self.pmd, prot: [.read])
        let entry = process.tables.entry(at: map).pte
        #expect(entry.isPMDSoftLeaf && entry.softLeaf == .devicePrivateRead)
        #expect(machine.vmEvents.snapshot.thpSplitPmd == 0)
        #expect(try process.read(map, count: data.count) == data)
        #expect(process.tables.entry(at: map).huge)
        #expect(mirror.device.pagesInUse == 0)
    }

    /// mremap(MAYMOVE|FIXED) of the device THP to another 2 MiB-aligned address: the
    /// entries move (the model splits the PMD first, as it does for a present THP) and
    /// the data faults home intact at the new address.
    @Test(arguments: HMMMigrateTests.designs)
    func mremapMovesTheDeviceTHP(_ design: Design) throws {
        let (machine, process, mirror, map, data) = try Self.onDevice(design)
        let raw = try process.mmapAnon(3 * Self.pmd)
        let target = (raw + Self.pmd - 1) & ~(Self.pmd - 1)
        let moved = try process.mm.mremap(oldAddr: map, oldLength: Self.pmd, newLength: Self.pmd, flags: [.mayMove, .fixed], newAddr: target)
        #expect(moved == target)
        #expect(process.tables.entry(at: target).pte.isDevicePrivate)
        #expect(try process.read(target, count: data.count) == data)
        #expect(mirror.device.pagesInUse == 0)
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption || $0.kind == .badPage }.isEmpty)
    }

    /// GUP on a device-private PMD: follow_pmd_mask() finds it not present
    /// (no_page_table()), the fault brings the THP home through migrate_to_ram(), and the
    /// system page is pinned; GUP-fast falls back the same way.
    @Test(arguments: HMMMigrateTests.designs, [false, true])
    func gupFaultsTheDeviceTHPHome(_ design: Design, fast: Bool) throws {
        let (machine, process, mirror, map, data) = try Self.onDevice(design)
        let pages = fast ? try process.pinUserPagesFast(start: map + 5 << 12, nrPages: 1, flags: [.write])
                         : try process.pinUserPages(start: map + 5 << 12, nrPages: 1, flags: [.write])
        #expect(pages.count == 1 && !machine.isZoneDevice(pages[0].pfn))
        #expect(process.tables.entry(at: map).huge)
        #expect(mirror.device.pagesInUse == 0)
        machine.unpinUserPages(pages)
        #expect(try process.read(map, count: data.count) == data)
    }

    /// hmm_vma_handle_absent_pmd() for another owner's device-private THP: without a
    /// fault request HMM_PFN_ERROR (SNAPSHOT from device 1: 0xff on every page); with
    /// one, the THP is faulted home (READ from device 1: 0, cpages npages, faults 1).
    @Test(arguments: HMMMigrateTests.designs)
    func anotherOwnerSeesAnError(_ design: Design) throws {
        let (machine, process, mirror, map, data) = try Self.onDevice(design)
        let other = DeviceMirror(device: try DeviceMirrorDevice(machine: machine, id: 1), process: process)
        #expect(try other.snapshot(addr: map, npages: UInt64(Self.npages)).1.allSatisfy { $0 == 0xff })
        var buffer: [UInt8] = []
        #expect(try other.read(addr: map, npages: UInt64(Self.npages), into: &buffer) == DeviceMirror.Result(cpages: Self.npages, faults: 1))
        #expect(buffer == data)
        #expect(mirror.device.pagesInUse == 0)
        other.close()
    }

    // MARK: (5) hmm-tests ports

    /// Whether the 2 MiB at `map` are 512 order-0 device pages, each mapped by its own PTE
    /// (a device-private entry, or a present PTE of coherent memory), 512 pages in use.
    static func smallDevicePages(_ machine: Machine, _ process: Process, _ map: UInt64, id: Int) -> Bool {
        (0..<npages).allSatisfy { i in
            let (entry, huge) = process.tables.entry(at: map + UInt64(i) << 12)
            guard !huge, let pfn = id == 0 ? entry.devicePfn : entry.pfn, entry.isDevicePrivate == (id == 0),
                  let folio = machine.page(pfn).flatMap({ machine.pageFolio($0) }) else { return false }
            return machine.isZoneDevice(pfn) && folio.order == 0
        }
    }

    /// hmm-tests `migrate_anon_huge_err`: FLAGS(FAIL_ALLOC) makes the THP allocation of
    /// MIGRATE_TO_DEV fail; dmirror_migrate_alloc_and_copy() falls back to 512 small device
    /// pages and migrate_vma_pages() splits the THP (migrate_vma_split_unmapped_folio()):
    /// 0, cpages npages, the device read `i`, and the CPU reads ptr[2048] == 2048. Then,
    /// remapped and written again, the THP migrates (0, cpages npages); with FAIL_ALLOC,
    /// MIGRATE_TO_SYS gets order-0 system pages (the device THP split) and returns 0;
    /// ptr[2048] == 2048.
    @Test(arguments: HMMMigrateTests.designs, [0, 2])
    func migrateAnonHugeErr(_ design: Design, device id: Int) throws {
        let (machine, process, mirror) = try HMMMigrateTests.setup(design, device: id)
        machine.thp.mode = .madvise
        let size = Self.pmd
        let data = HMMMigrateTests.pattern(Self.npages)
        var oldPtr = try process.mmapAnon(2 * size)
        var map = (oldPtr + size - 1) & ~(size - 1)
        try process.mm.madvise(addr: map, length: size, advice: .hugePage)
        try process.write(data, at: map)
        mirror.setFlags(DeviceMirror.flagFailAlloc)
        var buffer: [UInt8] = []
        #expect(try mirror.migrateToDevice(addr: map, npages: UInt64(Self.npages), into: &buffer).cpages == Self.npages)
        #expect(buffer == data)
        // The fallback: 512 order-0 device pages, each mapped by its own PTE.
        #expect(Self.smallDevicePages(machine, process, map, id: id))
        #expect(try process.read(map + 2048 * 4, count: 4) == [0x00, 0x08, 0, 0])
        try process.mm.munmap(addr: oldPtr, length: 2 * size)
        oldPtr = try process.mmapAnon(2 * size)
        map = (oldPtr + size - 1) & ~(size - 1)
        try process.mm.madvise(addr: map, length: size, advice: .hugePage)
        try process.write(data, at: map)
        #expect(try mirror.migrateToDevice(addr: map, npages: UInt64(Self.npages), into: &buffer).cpages == Self.npages)
        mirror.setFlags(DeviceMirror.flagFailAlloc)
        _ = try mirror.migrateToSystem(addr: map, npages: UInt64(Self.npages))
        if id == 0 {
            // Order-0 system pages (dmirror_devmem_fault_alloc_and_copy()'s fallback), the
            // device THP split: every page home, PTE-mapped.
            let entry = process.tables.entry(at: map)
            #expect(!entry.huge && entry.pte.isPresent && !machine.isZoneDevice(entry.pte.pfn))
            #expect(mirror.device.pagesInUse == 0)
        }
        #expect(try process.read(map + 2048 * 4, count: 4) == [0x00, 0x08, 0, 0])
        #expect(try process.read(map, count: data.count) == data)
        try process.mm.munmap(addr: oldPtr, length: 2 * size)
        #expect(mirror.device.pagesInUse == 0)
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption || $0.kind == .badPage }.isEmpty)
    }

    /// hmm-tests `migrate_anon_huge_zero_err`, first half: a PROT_READ THP range never
    /// touched, with FAIL_ALLOC: the compound hole (migrate_vma_collect_hole()) falls back
    /// to 512 small device pages inserted one by one (__migrate_device_pages(): a
    /// compound source with an order-0 destination), so 0, cpages npages, the device
    /// reads zeroes, ptr[2048] == 0, and every int reads 0. (The second half is
    /// HugeZeroFolioTests.migrateAnonHugeZeroErrSecondHalf.)
    @Test(arguments: HMMMigrateTests.designs, [0, 2])
    func migrateAnonHugeZeroErr(_ design: Design, device id: Int) throws {
        let (machine, process, mirror) = try HMMMigrateTests.setup(design, device: id)
        machine.thp.mode = .madvise
        let size = Self.pmd
        let oldPtr = try process.mmapAnon(2 * size, prot: [.read])
        let map = (oldPtr + size - 1) & ~(size - 1)
        try process.mm.madvise(addr: map, length: size, advice: .hugePage)
        mirror.setFlags(DeviceMirror.flagFailAlloc)
        var buffer: [UInt8] = []
        #expect(try mirror.migrateToDevice(addr: map, npages: UInt64(Self.npages), into: &buffer).cpages == Self.npages)
        #expect(buffer.count == Int(size) && buffer.allSatisfy { $0 == 0 })
        #expect(Self.smallDevicePages(machine, process, map, id: id))
        #expect(try process.read(map + 2048 * 4, count: 4) == [0, 0, 0, 0])
        #expect(try process.read(map, count: Int(size)).allSatisfy { $0 == 0 })
        try process.mm.munmap(addr: oldPtr, length: 2 * size)
        #expect(mirror.device.pagesInUse == 0)
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption || $0.kind == .badPage }.isEmpty)
    }
}
