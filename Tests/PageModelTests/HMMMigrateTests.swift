// hmm-tests.c (tools/testing/selftests/mm/hmm-tests.c, v6.19) migration cases against the
// model's dmirror device (lib/test_hmm.c), with the kernel's expected values: `migrate`,
// `migrate_fault`, `migrate_multiple` (private and coherent variants), plus what
// kernel-facts §4.5-4.6 say of device-private entries: fork copies them (read-only in a
// COW mapping), zap frees them, GUP faults the page back through migrate_to_ram() and
// pins the system page, migrate_vma refuses a pinned page.
//
// Designs: the struct page designs (mainline and the 2018 ones) and memdesc32 and memdesc8
// (whose device folio descriptors keep pgmap: ZoneDeviceTests), as in the other device
// tests. lru-pinned-rearranged
// cannot hold anonymous device memory: its ZONE_DEVICE arm keeps pgmap in the index
// word, which v6.19 needs for the page's anon rmap (device-private pages "keep
// mapping/index/private of the source page"); `rearrangedArmLosesPgmap` shows it. Not ported yet: the
// hmm_range_fault cases (READ, WRITE, SNAPSHOT), EXCLUSIVE, THP migration and RELEASE
// with resident pages; hugetlb and timing cases are not portable.
import PageLayout
@testable import PageModel
import Testing

@Suite struct HMMMigrateTests {
    static let designs: [Design] = [.mainline, .dmaPinnedField, .lruPinned, .pageExt, .proxy, .memdesc32, .memdesc8]
    /// The pages of one chunk of mirror device memory: DEVMEM_CHUNK_SIZE (256 MiB,
    /// lib/test_hmm.c) in 4 KiB pages.
    static let chunkPages = (256 << 20) >> 12

    static func setup(_ design: Design, device id: Int) throws -> (Machine, Process, DeviceMirror) {
        let kernel = try KernelConfig.preset("x86_64-distro").setting(["DEVICE_PRIVATE": .yes])
        let machine = try Machine(config: MachineConfig(ramBytes: 128 << 20, design: design, kernel: kernel))
        let process = try Process(machine: machine)
        let mirror = DeviceMirror(device: try DeviceMirrorDevice(machine: machine, id: id), process: process)
        return (machine, process, mirror)
    }

    /// hmm-tests' fill pattern: `int[i] = i`, little endian.
    static func pattern(_ npages: Int, plus c: UInt32 = 0) -> [UInt8] {
        (0..<(npages * 1024)).flatMap { i -> [UInt8] in
            let v = UInt32(i) &+ c
            return [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)]
        }
    }

    /// hmm-tests `migrate` and `migrate_multiple` (10 iterations: MIGRATE_TO_DEV returns 0
    /// with cpages == npages and the mirror holds the pattern; the coherent variant then
    /// MIGRATE_TO_SYS with cpages == npages; the CPU reads the pattern).
    @Test(arguments: designs, [0, 2])
    func migrateMultiple(_ design: Design, device: Int) throws {
        let (machine, process, mirror) = try Self.setup(design, device: device)
        let npages = 64
        for c in 0..<3 {
            let addr = try process.mmapAnon(UInt64(npages) << 12)
            let data = Self.pattern(npages, plus: UInt32(c))
            try process.write(data, at: addr)
            var buffer: [UInt8] = []
            let result = try mirror.migrateToDevice(addr: addr, npages: UInt64(npages), into: &buffer)
            #expect(result.cpages == npages)
            #expect(buffer == data)
            #expect(mirror.device.pagesInUse == npages)
            if device >= 2 {
                #expect(try mirror.migrateToSystem(addr: addr, npages: UInt64(npages)).cpages == npages)
            }
            #expect(try process.read(addr, count: data.count) == data)
            #expect(mirror.device.pagesInUse == 0)   // every device page back on the free list
            try process.mm.munmap(addr: addr, length: UInt64(npages) << 12)
        }
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption }.isEmpty)
    }

    /// hmm-tests `migrate_fault`: after migrating, a CPU read of the first half faults it
    /// back (migrate_to_ram()); migrating again gives cpages == npages (the second half
    /// kept its device pt entries).
    @Test(arguments: designs)
    func migrateFault(_ design: Design) throws {
        let npages = 32
        let (_, process, mirror, addr, data) = try HMMBuffer.make(design, device: 0, npages: npages)
        var buffer: [UInt8] = []
        #expect(try mirror.migrateToDevice(addr: addr, npages: UInt64(npages), into: &buffer).cpages == npages)
        let half = data.count / 2
        #expect(try process.read(addr, count: half) == Array(data[..<half]))
        #expect(mirror.device.pagesInUse == npages / 2)
        #expect(try mirror.migrateToDevice(addr: addr, npages: UInt64(npages), into: &buffer).cpages == npages)
        #expect(buffer == data)
    }

    /// The device-private entries themselves: the x86-64 swap format with
    /// SWP_DEVICE_WRITE (28) for a VM_WRITE VMA [mm/migrate_device.c: migrate_vma_insert_page()
    /// and remove_migration_pte()], one reference and one mapcount per entry.
    @Test func devicePrivateEntryEncoding() throws {
        let (machine, process, mirror) = try Self.setup(.mainline, device: 0)
        let addr = try process.mmapAnon(2 << 12)
        try process.write([7], at: addr)   // page 0 present, page 1 pte_none
        var buffer: [UInt8] = []
        #expect(try mirror.migrateToDevice(addr: addr, npages: 2, into: &buffer).cpages == 2)
        for i in 0..<2 {
            let entry = try #require(process.tables.withPTELock(addr + UInt64(i) << 12) { slot, _ in slot.load() })
            #expect(entry.softLeaf == .devicePrivateWrite)
            #expect(entry.swapEntry?.type == 28)
            let pfn = try #require(entry.devicePfn)
            let page = try #require(machine.page(pfn))
            #expect(machine.zone(of: page.pfn)?.type == .device)
            let folio = try #require(machine.pageFolio(page))
            #expect(folio.refcount == 1)
            #expect(machine.folioMapcount(folio) == 1)
            #expect(machine.folioIsAnon(folio))
        }
        #expect(buffer[0] == 7)
    }

    /// copy_nonpresent_pte(): fork copies device-private entries, a write entry becoming
    /// readable in parent and child (COW mapping); each side reads the data back through
    /// migrate_to_ram(), and a child write leaves the parent's copy alone. Exit (zap)
    /// gives every device page back to the driver.
    @Test(arguments: designs)
    func forkCopiesDevicePrivateEntries(_ design: Design) throws {
        let npages = 8
        let (machine, process, mirror, addr, data) = try HMMBuffer.make(design, device: 0, npages: npages)
        var buffer: [UInt8] = []
        #expect(try mirror.migrateToDevice(addr: addr, npages: UInt64(npages), into: &buffer).cpages == npages)
        let child = try process.fork()
        for p in [process, child] {
            let entry = try #require(p.tables.withPTELock(addr) { slot, _ in slot.load() })
            #expect(entry.softLeaf == .devicePrivateRead)
        }
        let parentEntry = try #require(process.tables.withPTELock(addr) { s, _ in s.load() })
        let dpfn = try #require(parentEntry.devicePfn)
        let dpage = try #require(machine.page(dpfn))
        let dfolio = try #require(machine.pageFolio(dpage))
        #expect(dfolio.refcount == 2)
        #expect(machine.folioMapcount(dfolio) == 2)
        try child.write([0xaa], at: addr)
        #expect(try child.read(addr, count: 1) == [0xaa])
        #expect(try process.read(addr, count: data.count) == data)
        child.exit()
        #expect(mirror.device.pagesInUse == 0)
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption }.isEmpty)
    }

    /// zap_nonpresent_ptes(): munmap of device-resident memory frees every device page
    /// (folio_free() back to the driver) and every backing page.
    @Test(arguments: designs)
    func unmapFreesDevicePages(_ design: Design) throws {
        let npages = 16
        let (machine, process, mirror, addr, _) = try HMMBuffer.make(design, device: 0, npages: npages)
        var buffer: [UInt8] = []
        _ = try mirror.migrateToDevice(addr: addr, npages: UInt64(npages), into: &buffer)
        #expect(mirror.device.pagesInUse == npages)
        let backing = try (0..<npages).map { i -> Int in
            let entry = try #require(process.tables.withPTELock(addr + UInt64(i) << 12) { slot, _ in slot.load() })
            let pfn = try #require(entry.devicePfn)
            let page = try #require(machine.page(pfn))
            return try #require(mirror.device.dataPfn(page))
        }
        #expect(backing.allSatisfy { Self.folioRefcount(machine, $0) == 1 })
        try process.mm.munmap(addr: addr, length: UInt64(npages) << 12)
        #expect(mirror.device.pagesInUse == 0)
        #expect(mirror.device.freePages == HMMMigrateTests.chunkPages)
        // dmirror_devmem_free() freed each backing page.
        #expect(backing.allSatisfy { Self.folioRefcount(machine, $0) == 0 })
    }

    /// `folio_ref_count(page_folio(page))` of a system page, 0 once it is no folio's (the
    /// memdesc designs' freed pages are Misc memory, memdesc8's without a refcount, and
    /// memdesc32's `_refcount` is under the `buddy_list` link while the page is listed).
    static func folioRefcount(_ machine: Machine, _ pfn: Int) -> Int32? {
        guard let page = machine.page(pfn) else { return nil }
        if machine.layout.foliosAreDescriptors { return machine.pageFolio(page)?.refcount ?? 0 }
        return page.refcount
    }

    /// kernel-facts §4.6: GUP (slow path, and GUP-fast falling back) on a device-private
    /// entry faults the page back through migrate_to_ram() and pins the system page.
    @Test(arguments: designs)
    func gupFaultsDevicePrivatePageBack(_ design: Design) throws {
        let (machine, process, mirror, addr, data) = try HMMBuffer.make(design, device: 0, npages: 2)
        var buffer: [UInt8] = []
        _ = try mirror.migrateToDevice(addr: addr, npages: 2, into: &buffer)
        let slow = try process.pinUserPages(start: addr, nrPages: 1, flags: [.write])
        let fast = try process.pinUserPagesFast(start: addr + 4096, nrPages: 1, flags: [.write])
        for page in slow + fast {
            let target = machine.proxyTarget(page) ?? page
            #expect(machine.zone(of: target.pfn)?.type != .device)
        }
        #expect(mirror.device.pagesInUse == 0)
        #expect(try process.read(addr, count: data.count) == data)
        // A pinned page is refused by migrate_vma (migrate_vma_check_page()): the device
        // pt misses it, so MIGRATE_TO_DEV is -ENOENT.
        #expect(throws: Errno.ENOENT) { try mirror.migrateToDevice(addr: addr, npages: 2, into: &buffer) }
        machine.unpinUserPages(slow + fast)
        #expect(try mirror.migrateToDevice(addr: addr, npages: 2, into: &buffer).cpages == 2)
    }

    /// kernel-facts §4.7: a short-term pin of a device-coherent page keeps it on the
    /// device; FOLL_LONGTERM moves it to system memory first (folio_is_longterm_pinnable()
    /// is false, migrate_longterm_unpinnable_folios() -> migrate_device_coherent_folio())
    /// and pins the copy, which holds the same bytes; the device page goes back to the driver.
    /// (page-ext cannot pin ZONE_DEVICE memory at all, having no page_ext there; lru-pinned
    /// damages pgmap: `lruPinnedPinOfDevicePageIsCaught`.)
    @Test(arguments: [Design.mainline, .dmaPinnedField, .proxy, .memdesc32, .memdesc8])
    func longtermPinMovesCoherentPageOut(_ design: Design) throws {
        let (machine, process, mirror, addr, data) = try HMMBuffer.make(design, device: 2, npages: 2)
        var buffer: [UInt8] = []
        #expect(try mirror.migrateToDevice(addr: addr, npages: 2, into: &buffer).cpages == 2)
        let short = try process.pinUserPages(start: addr, nrPages: 2, flags: [.write])
        #expect(short.allSatisfy { machine.zone(of: (machine.proxyTarget($0) ?? $0).pfn)?.type == .device })
        machine.unpinUserPages(short)
        let long = try process.pinUserPages(start: addr, nrPages: 2, flags: [.write, .longterm])
        #expect(long.count == 2)
        #expect(long.allSatisfy { machine.zone(of: (machine.proxyTarget($0) ?? $0).pfn)?.type != .device })
        #expect(mirror.device.pagesInUse == 0)
        #expect(try process.read(addr, count: data.count) == data)
        machine.unpinUserPages(long)
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption }.isEmpty)
    }

    /// Seed 001 under lru-pinned: a pin of a device-coherent page writes its counter over
    /// the lru words, where v6.19 keeps `pgmap` (and zone_device_data next to it); the
    /// damage is reported by the unpin, and the page can no longer be told to be device memory of
    /// its pagemap, so MIGRATE_TO_SYS cannot select it.
    @Test func lruPinnedPinOfDevicePageIsCaught() throws {
        let (machine, process, mirror) = try Self.setup(.lruPinned, device: 2)
        let addr = try process.mmapAnon(1 << 12)
        try process.write([5], at: addr)
        var buffer: [UInt8] = []
        #expect(try mirror.migrateToDevice(addr: addr, npages: 1, into: &buffer).cpages == 1)
        let pinned = try process.pinUserPages(start: addr, nrPages: 1, flags: [.write])
        machine.unpinUserPages(pinned)
        #expect(machine.diagnostics.all.contains { $0.kind == .corruption && $0.reason.contains("pgmap") })
        #expect(try mirror.migrateToSystem(addr: addr, npages: 1).cpages == 0)
    }

    /// lru-pinned-rearranged (Wilcox's 2018 arm, seed 001) against v6.19's HMM: the
    /// migrated page's anon rmap writes its index (folio_add_new_anon_rmap() in
    /// folio_migrate_mapping()) into the word that arm gives pgmap: the page no longer
    /// looks device-private when its entry is made (remove_migration_pte()), which is
    /// recorded as corruption, and the CPU, mapped to a pfn with no memory, gets SIGBUS.
    @Test func rearrangedArmLosesPgmap() throws {
        let (machine, process, mirror) = try Self.setup(.lruPinnedRearranged, device: 0)
        let addr = try process.mmapAnon(1 << 12)
        try process.write([1], at: addr)
        var buffer: [UInt8] = []
        _ = try mirror.migrateToDevice(addr: addr, npages: 1, into: &buffer)
        #expect(machine.layout.folioPgmap == machine.layout.index)
        #expect(machine.diagnostics.all.contains { $0.kind == .corruption && $0.reason.hasPrefix("folio_is_device_private") })
        #expect(throws: AccessError.bus(address: addr)) { try process.read(addr, count: 1) }
    }

    /// hmm-tests `migrate_shared`: MAP_SHARED|MAP_ANONYMOUS (shmem) is not selected by
    /// migrate_vma (not vma_is_anonymous()), so MIGRATE_TO_DEV is -ENOENT.
    @Test func migrateShared() throws {
        let (_, process, mirror) = try Self.setup(.mainline, device: 0)
        let addr = try process.mmapAnon(16 << 12, flags: [.shared, .anonymous])
        var buffer: [UInt8] = []
        #expect(throws: Errno.ENOENT) { try mirror.migrateToDevice(addr: addr, npages: 16, into: &buffer) }
        #expect(mirror.device.pagesInUse == 0)
    }

    /// HMM_DMIRROR_FLAGS(FAIL_ALLOC) on base pages: the next device-page allocation fails
    /// and dmirror_migrate_alloc_and_copy() skips that page (no fallback for order 0), so
    /// MIGRATE_TO_DEV is -ENOENT; the flag is one-shot, every byte stays intact, and the
    /// next migration moves everything. Process exit then returns every device page.
    @Test(arguments: designs)
    func failAllocThenExitLeaksNothing(_ design: Design) throws {
        let npages = 16
        let (_, process, mirror, addr, data) = try HMMBuffer.make(design, device: 0, npages: npages)
        mirror.setFlags(DeviceMirror.flagFailAlloc)
        var buffer: [UInt8] = []
        #expect(throws: Errno.ENOENT) { try mirror.migrateToDevice(addr: addr, npages: UInt64(npages), into: &buffer) }
        #expect(mirror.device.pagesInUse == npages - 1)
        #expect(try process.read(addr, count: data.count) == data)
        #expect(try mirror.migrateToDevice(addr: addr, npages: UInt64(npages), into: &buffer).cpages == npages)
        #expect(buffer == data)
        process.exit()
        #expect(mirror.device.pagesInUse == 0)
    }

    /// HMM_DMIRROR_RELEASE (dmirror_device_remove_chunks()): resident device pages are
    /// evicted to system memory (migrate_device_range()), every chunk is unmapped, the
    /// process keeps its data in present PTEs, and the next migration re-creates a chunk.
    @Test(arguments: designs, [0, 2])
    func releaseEvictsResidentPages(_ design: Design, device: Int) throws {
        let npages = 16
        let (machine, process, mirror, addr, data) = try HMMBuffer.make(design, device: device, npages: npages)
        var buffer: [UInt8] = []
        #expect(try mirror.migrateToDevice(addr: addr, npages: UInt64(npages), into: &buffer).cpages == npages)
        mirror.device.release()
        #expect(mirror.device.pagesInUse == 0)
        #expect(mirror.device.freePages == 0)
        for i in 0..<npages {
            let entry = try #require(process.tables.withPTELock(addr + UInt64(i) << 12) { slot, _ in slot.load() })
            #expect(entry.isPresent && entry.isWritable)
            #expect(machine.zone(of: entry.pfn)?.type != .device)
        }
        #expect(try process.read(addr, count: data.count) == data)
        #expect(try mirror.migrateToDevice(addr: addr, npages: UInt64(npages), into: &buffer).cpages == npages)
        #expect(buffer == data)
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption }.isEmpty)
    }

    /// hmm_dmirror_init() (lib/test_hmm.c): DMIRROR_NDEVICES is 4, devices 0 and 1
    /// MEMORY_DEVICE_PRIVATE, 2 and 3 MEMORY_DEVICE_COHERENT; no fifth. A device has no
    /// memory until it needs a page (dmirror_devmem_alloc_page() calls
    /// dmirror_allocate_chunk() when the free list is empty), then one DEVMEM_CHUNK_SIZE
    /// (256 MiB) chunk: one pagemap of 65536 pages owned by the device, the pages not
    /// handed out on its free list.
    @Test(arguments: 0..<4)
    func devicesAndTheirChunks(_ id: Int) throws {
        #expect(throws: KernelError.self) { try DeviceMirrorDevice(machine: try Machine(ramBytes: 128 << 20), id: 4) }
        let (machine, process, mirror) = try Self.setup(.mainline, device: id)
        #expect(mirror.device.type == (id < 2 ? .devicePrivate : .deviceCoherent))
        #expect(mirror.device.freePages == 0 && mirror.device.pagesInUse == 0)
        let addr = try process.mmapAnon(4 << 12)
        try process.write(Self.pattern(4), at: addr)
        var buffer: [UInt8] = []
        #expect(try mirror.migrateToDevice(addr: addr, npages: 4, into: &buffer).cpages == 4)
        #expect(mirror.device.pagesInUse == 4)
        #expect(mirror.device.freePages == Self.chunkPages - 4)
        let pfn = try #require(id < 2 ? process.tables.entry(at: addr).pte.devicePfn : process.tables.entry(at: addr).pte.pfn)
        let page = try #require(machine.page(pfn))
        let pgmap = try #require(machine.pagePgmap(page))
        #expect(pgmap.range.count == Self.chunkPages)
        #expect(pgmap.owner == mirror.device.owner)
        #expect(pgmap.type == mirror.device.type)
    }

    /// The dmirror ioctl entry's checks: unaligned address, zero length, overflow -> EINVAL;
    /// a hole -> EINVAL (dmirror_migrate_to_device()'s vma_lookup()).
    @Test func badRanges() throws {
        let (_, process, mirror) = try Self.setup(.mainline, device: 0)
        var buffer: [UInt8] = []
        let addr = try process.mmapAnon(4 << 12)
        #expect(throws: Errno.EINVAL) { try mirror.migrateToDevice(addr: addr + 1, npages: 1, into: &buffer) }
        #expect(throws: Errno.EINVAL) { try mirror.migrateToDevice(addr: addr, npages: 0, into: &buffer) }
        #expect(throws: Errno.EINVAL) { try mirror.migrateToDevice(addr: UInt64.max & ~0xfff, npages: 2, into: &buffer) }
        #expect(throws: Errno.EINVAL) { try mirror.migrateToDevice(addr: addr + (4 << 12), npages: 1, into: &buffer) }
        #expect(throws: Errno.EINVAL) { try mirror.migrateToSystem(addr: addr + 1, npages: 1) }
    }
}
