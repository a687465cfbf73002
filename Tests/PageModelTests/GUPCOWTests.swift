// The pin-related cases of tools/testing/selftests/mm/cow.c (kernel-selftests.md §5) on
// every design, and the seed scenarios of issue 6 that need page tables.
import Testing
@testable import PageModel
import PageLayout

@Suite struct GUPCOWTests {
    /// do_test_ro_pin(): R/O long-term pin, memset(0xff) through the page tables, READ
    /// through the pin: the pin must see the write ("Longterm R/O pin is reliable").
    static func roPinIsReliable(_ process: Process, _ addr: UInt64, fast: Bool) throws -> Bool {
        let device = GUPTestDevice(process: process)
        try device.startLongtermPin(addr: addr, size: 1 << 12, flags: fast ? GUPTestDevice.longtermUseFast : 0)
        defer { device.stopLongtermPin() }
        try process.write([UInt8](repeating: 0xff, count: 4096), at: addr)
        return try device.readLongtermPin() == process.read(addr, count: 4096)
    }

    @Test(arguments: Design.allCases)
    func roPinOnROMappedSharedPageUnshares(design: Design) throws {
        for fast in [false, true] {
            let (machine, process) = try makeProcess(design)
            let addr = try process.mmapAnon(1 << 12)
            try process.write([UInt8](repeating: 1, count: 4096), at: addr)
            let child = try process.fork()   // the page is COW-shared and R/O in both
            #expect(try Self.roPinIsReliable(process, addr, fast: fast))
            #expect(machine.vmEvents.snapshot.unshareCopies == 1)
            // No leak from parent into child.
            #expect(try child.read(addr, count: 4096) == [UInt8](repeating: 1, count: 4096))
            #expect(machine.pinStats.outstanding == 0)
        }
    }

    @Test(arguments: Design.allCases)
    func roPinOnROMappedExclusivePage(design: Design) throws {
        for fast in [false, true] {
            let (machine, process) = try makeProcess(design)
            let addr = try process.mmapAnon(1 << 12)
            try process.write([UInt8](repeating: 1, count: 4096), at: addr)
            try process.mm.mprotect(addr: addr, length: 4096, prot: [.read])
            try process.mm.mprotect(addr: addr, length: 4096, prot: [.read, .write])
            let before = process.tables.entry(at: addr).pte.pfn
            #expect(try Self.roPinIsReliable(process, addr, fast: fast))
            #expect(process.tables.entry(at: addr).pte.pfn == before)   // the write fault reused the pinned page
            #expect(machine.vmEvents.snapshot.unshareCopies == 0)
        }
    }

    /// "R/O-mapping a page registered as iouring fixed buffer": a R/W long-term pin, then
    /// mprotect(R) and back; the write fault must reuse the exclusive pinned page.
    @Test(arguments: Design.allCases)
    func rwLongtermPinSurvivesMprotect(design: Design) throws {
        let (machine, process) = try makeProcess(design)
        let addr = try process.mmapAnon(1 << 12)
        try process.write([0], at: addr)
        let pages = try process.pinUserPages(start: addr, nrPages: 1, flags: [.write, .longterm])
        try process.mm.mprotect(addr: addr, length: 4096, prot: [.read])
        try process.mm.mprotect(addr: addr, length: 4096, prot: [.read, .write])
        try process.write([UInt8](repeating: 0xff, count: 4096), at: addr)
        let real = machine.proxyTarget(pages[0]) ?? pages[0]
        #expect(machine.frames.read(pfn: real.pfn, count: 4096) == [UInt8](repeating: 0xff, count: 4096))
        machine.unpinUserPages(pages)
    }

    /// "vmsplice() + unmap in child": a R/O GUP reference in the child, the child
    /// unmaps, the parent writes: the reference keeps the old bytes (CVE-2020-29374).
    @Test(arguments: Design.allCases)
    func getReferenceInChildSeesNoParentWrite(design: Design) throws {
        let (machine, process) = try makeProcess(design)
        let addr = try process.mmapAnon(1 << 12)
        try process.write([UInt8](repeating: 1, count: 4096), at: addr)
        let child = try process.fork()
        let refs = try child.getUserPagesFast(start: addr, nrPages: 1)
        try child.mm.munmap(addr: addr, length: 4096)
        try process.write([UInt8](repeating: 0xff, count: 4096), at: addr)
        #expect(machine.frames.read(pfn: refs[0].pfn, count: 4096) == [UInt8](repeating: 1, count: 4096))
        machine.putPage(refs[0])
    }

    /// Non-anon "R/O longterm GUP pin": a private mapping of the zero page or of a memfd
    /// page is unshared into an anon copy; the shared mapping of the file is untouched.
    @Test(arguments: Design.allCases)
    func roLongtermPinOfNonAnonPages(design: Design) throws {
        for fast in [false, true] {
            let (machine, process) = try makeProcess(design)
            let zero = try process.mmapAnon(1 << 12)
            _ = try process.read(zero, count: 1)
            #expect(try Self.roPinIsReliable(process, zero, fast: fast))
            let fs = Filesystem(machine: machine, kind: .shmem)
            let file = try fs.memfdCreate(name: "cow")
            try file.pwrite([UInt8](repeating: 0, count: 4096), offset: 0)
            let mem = try process.mm.mmap(length: 4096, prot: [.read, .write], flags: .private, file: file)
            let smem = try process.mm.mmap(length: 4096, prot: [.read], flags: .shared, file: file)
            _ = try process.read(mem, count: 1)
            _ = try process.read(smem, count: 1)
            #expect(try Self.roPinIsReliable(process, mem, fast: fast))
            #expect(try process.read(smem, count: 4096) == [UInt8](repeating: 0, count: 4096))
            #expect(machine.vmEvents.snapshot.unshareCopies == 2)
        }
    }

    // MARK: Seed scenarios (issue 6 item 6)

    /// RDMA: a long-term R/W pin of anonymous memory, then fork: the child gets a copy,
    /// the parent's pinned page is untouched and stays writable and exclusive.
    @Test(arguments: Design.allCases)
    func longtermPinThenFork(design: Design) throws {
        let (machine, process) = try makeProcess(design)
        let addr = try process.mmapAnon(4 << 12)
        for i in 0..<4 { try process.write(pattern(i), at: addr + UInt64(i) << 12) }
        let pages = try process.pinUserPagesFast(start: addr, nrPages: 4, flags: [.write, .longterm])
        let child = try process.fork()
        #expect(machine.vmEvents.snapshot.forkPinnedCopies == 4)
        for i in 0..<4 {
            let at = addr + UInt64(i) << 12
            let real = machine.proxyTarget(pages[i]) ?? pages[i]
            #expect(process.tables.entry(at: at).pte.pfn == real.pfn && process.tables.entry(at: at).pte.isWritable)
            #expect(child.tables.entry(at: at).pte.pfn != real.pfn)
            #expect(try child.read(at, count: 64) == pattern(i))
        }
        // The device writes through the pin; the parent sees it, the child does not.
        _ = machine.frames.write([0xab], pfn: (machine.proxyTarget(pages[1]) ?? pages[1]).pfn)
        #expect(try process.read(addr + 1 << 12, count: 1) == [0xab])
        #expect(try child.read(addr + 1 << 12, count: 1) == [pattern(1)[0]])
        machine.unpinUserPages(pages)
        #expect(machine.pinStats.outstanding == 0)
    }

    /// O_DIRECT read into a disk-file page: a short-term FOLL_PIN|FOLL_WRITE (allowed on
    /// a shared file mapping), writeback of the same page meanwhile, then
    /// unpin_user_pages_dirty_lock(true) dirties it again; reclaim keeps it while pinned.
    @Test(arguments: Design.allCases)
    func shortTermPinOfDiskPageAcrossWriteback(design: Design) throws {
        let (machine, process) = try makeProcess(design)
        let fs = Filesystem(machine: machine, kind: .disk)
        let file = try fs.create(name: "data")
        try file.pwrite([UInt8](repeating: 7, count: 4096), offset: 0)
        let addr = try process.mm.mmap(length: 4096, prot: [.read, .write], flags: .shared, file: file)
        try process.write([8], at: addr)
        let pages = try process.pinUserPages(start: addr, nrPages: 1, flags: .write)
        let real = machine.proxyTarget(pages[0]) ?? pages[0]
        let folio = try #require(machine.pageFolio(real))
        #expect(file.pageCache.writebackAll() == 1)
        #expect(!folio.testFlag(machine.flagBits.dirty))
        _ = machine.frames.write([9], pfn: real.pfn)   // the DMA lands after writeback
        // Mainline keeps it at shrink_folio_list(); lru-pinned has taken it off the LRU,
        // so reclaim cannot even isolate it.
        let lruPinned = design == .lruPinned || design == .lruPinnedRearranged
        let reclaimed = machine.reclaimFolios([folio])
        #expect(reclaimed.keptPinned == (lruPinned ? 0 : 1) && reclaimed.scanned == (lruPinned ? 0 : 1) && reclaimed.reclaimed == 0)
        machine.unpinUserPages(pages, makeDirty: true)
        #expect(folio.testFlag(machine.flagBits.dirty))
        #expect(file.pageCache.writebackAll() == 1)
        #expect(try file.pread(count: 1, offset: 0) == [9])
        // A long-term R/W pin of the same mapping is refused.
        #expect(throws: Errno.EFAULT) { try process.pinUserPages(start: addr, nrPages: 1, flags: [.write, .longterm]) }
        #expect(machine.pinStats.outstanding == 0)
    }

    /// put_page() where unpin_user_page() was needed: once the mapping's reference is
    /// gone the put would drop a pin's reference: refused and reported on every design.
    @Test(arguments: Design.allCases)
    func putPageInsteadOfUnpinIsReported(design: Design) throws {
        let (machine, process) = try makeProcess(design)
        let addr = try process.mmapAnon(1 << 12)
        try process.write([1], at: addr)
        let pages = try process.pinUserPages(start: addr, nrPages: 1, flags: .write)
        let real = machine.proxyTarget(pages[0]) ?? pages[0]
        let folio = try #require(machine.pageFolio(real))
        try process.mm.munmap(addr: addr, length: 4096)
        let held = folio.refcount
        machine.putPage(real)
        #expect(folio.refcount == held)
        #expect(machine.pinStats.putsOfPinnedReferences == 1)
        #expect(machine.diagnostics.of(kind: .warn).count == 1)
        machine.unpinUserPages(pages)
        #expect(machine.pinStats.outstanding == 0)
        #expect(folio.refcount == 0)
    }
}
