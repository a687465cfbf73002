// The slow path, __get_user_pages(): check_vma_flags(), follow_page_pte() and
// faultin_page(), the zero page, FOLL_DUMP/NOFAULT/FORCE, partial results, huge PMDs.
import Testing
@testable import PageModel
import PageLayout

@Suite struct GUPSlowPathTests {
    /// The references one pin of an order-0 folio holds under `design`.
    static func pinRefs(_ design: Design) -> Int32 { design == .mainline ? 1024 : 1 }
    /// lru-pinned holds the LRU isolation reference of a pinned folio it took off its LRU.
    static func lruRef(_ design: Design) -> Int32 { design == .lruPinned || design == .lruPinnedRearranged ? 1 : 0 }

    @Test(arguments: Design.allCases)
    func pinFaultsInAndUnpinRestores(design: Design) throws {
        let (machine, process) = try makeProcess(design)
        let addr = try process.mmapAnon(8 << 12)
        let pages = try process.pinUserPages(start: addr, nrPages: 8, flags: .write)
        #expect(pages.count == 8)
        #expect(process.mm.hasPinned)
        for (i, page) in pages.enumerated() {
            let pte = process.tables.entry(at: addr + UInt64(i) << 12).pte
            #expect(pte.isPresent && pte.isWritable && pte.pfn == page.pfn)
            let folio = try #require(machine.pageFolio(machine.proxyTarget(page) ?? page))
            #expect(folio.refcount == 1 + Self.pinRefs(design) + Self.lruRef(design))
            #expect(machine.folioMaybeDMAPinned(folio))
            #expect(machine.pageAnonExclusive(folio.headPage, folio: folio))
        }
        #expect(machine.pinStats.pinsAcquired == 8)
        #expect(machine.nodePinCounters(nid: 0) == (8, 0))
        // The pin and the mapping see the same bytes.
        _ = machine.frames.write([0xd5], pfn: pages[3].pfn)
        #expect(try process.read(addr + 3 << 12, count: 1) == [0xd5])
        machine.unpinUserPages(pages)
        #expect(machine.nodePinCounters(nid: 0) == (8, 8))
        for page in pages { #expect(machine.pageFolio(machine.proxyTarget(page) ?? page)?.refcount == 1) }
        #expect(machine.pinStats.outstanding == 0)
        #expect(machine.diagnostics.count == 0)
    }

    @Test(arguments: Design.allCases)
    func getReferencesArePlain(design: Design) throws {
        let (machine, process) = try makeProcess(design)
        let addr = try process.mmapAnon(2 << 12)
        try process.write([1], at: addr)
        let pages = try process.getUserPages(start: addr, nrPages: 1)
        #expect(pages.count == 1)
        let folio = try #require(machine.pageFolio(pages[0]))
        #expect(folio.refcount == 2)
        #expect(!machine.folioMaybeDMAPinned(folio))
        #expect(machine.pinStats.pinsAcquired == 0)
        #expect(!process.mm.hasPinned)
        machine.putPage(pages[0])
        #expect(folio.refcount == 1)
    }

    @Test func checkVMAFlags() throws {
        let (machine, process) = try makeProcess()
        // No VMA.
        #expect(throws: Errno.EFAULT) { try process.pinUserPages(start: 0x10000, nrPages: 1) }
        // A write to a read-only VMA; FOLL_FORCE writes a private one (ptrace) without
        // making it writable.
        let ro = try process.mmapAnon(1 << 12, prot: [.read])
        try process.write([], at: ro)
        #expect(throws: Errno.EFAULT) { try process.pinUserPages(start: ro, nrPages: 1, flags: .write) }
        let forced = try process.getUserPages(start: ro, nrPages: 1, flags: [.write, .force])
        #expect(forced.count == 1)
        let pte = process.tables.entry(at: ro).pte
        #expect(pte.isPresent && !pte.isWritable && !pte.isSpecial && pte.pfn == forced[0].pfn)
        _ = machine.frames.write([7], pfn: forced[0].pfn)
        #expect(try process.read(ro, count: 1) == [7])
        machine.putPage(forced[0])
        // PROT_NONE: no read, but FOLL_FORCE may (VM_MAYREAD).
        let none = try process.mmapAnon(1 << 12, prot: [])
        #expect(throws: Errno.EFAULT) { try process.getUserPages(start: none, nrPages: 1) }
        let peeked = try process.pinUserPages(start: none, nrPages: 1, flags: .force)
        #expect(peeked.count == 1 && peeked[0].pfn == machine.zeroPagePfn)
        machine.unpinUserPages(peeked)
        // A shared read-only file mapping: FOLL_FORCE does not break COW in it.
        let fs = Filesystem(machine: machine, kind: .shmem)
        let file = try fs.create(name: "f")
        try file.pwrite([UInt8](repeating: 3, count: 4096), offset: 0)
        let shared = try process.mm.mmap(length: 4096, prot: [.read], flags: .shared, file: file)
        #expect(throws: Errno.EFAULT) { try process.getUserPages(start: shared, nrPages: 1, flags: [.write, .force]) }
        // FOLL_ANON refuses file mappings.
        #expect(throws: Errno.EFAULT) { try process.getUserPages(start: shared, nrPages: 1, flags: .anon) }
        // VM_IO / VM_PFNMAP.
        let special: UInt64 = 0x7000_0000
        process.mm.mmapLock.withWriteLock {
            process.mm.lockedLinkVMA(start: special, end: special + 0x2000, pgoff: 0, flags: [.read, .write, .mayRead, .mayWrite, .pfnMap, .io])
        }
        #expect(throws: Errno.EFAULT) { try process.getUserPages(start: special, nrPages: 1) }
        #expect(throws: Errno.EFAULT) { try process.pinUserPagesFast(start: special, nrPages: 1) }
        #expect(machine.pinStats.pinsAcquired == 0)
    }

    @Test func partialResultsAndNoFault() throws {
        let (machine, process) = try makeProcess()
        let addr = try process.mmapAnon(4 << 12)
        // Past the VMA's end: the pages so far.
        let pages = try process.pinUserPages(start: addr + 2 << 12, nrPages: 5, flags: .write)
        #expect(pages.count == 2)
        machine.unpinUserPages(pages)
        // FOLL_NOFAULT stops at the first page that is not mapped.
        try process.write([1], at: addr)
        let got = try process.getUserPages(start: addr, nrPages: 2, flags: .nofault)
        #expect(got.count == 1)
        machine.putPage(got[0])
        #expect(throws: Errno.EFAULT) { try process.getUserPages(start: addr + 1 << 12, nrPages: 1, flags: .nofault) }
        #expect(process.tables.entry(at: addr + 1 << 12).pte.isNone)
        // pin_user_pages_fast: GUP-fast gets the first page, the slow path fails on the
        // rest, and the first page is what comes back.
        let fast = try process.pinUserPagesFast(start: addr + 3 << 12, nrPages: 4, flags: .write)
        #expect(fast.count == 1)
        machine.unpinUserPages(fast)
        #expect(machine.pinStats.outstanding == 0)
    }

    @Test(arguments: Design.allCases)
    func zeroPageAndDump(design: Design) throws {
        let (machine, process) = try makeProcess(design)
        let addr = try process.mmapAnon(4 << 12)
        // A read-only short-term pin maps and "pins" the zero page: nothing changes.
        let zero = try process.pinUserPages(start: addr, nrPages: 1)
        #expect(zero.count == 1 && zero[0].pfn == machine.zeroPagePfn)
        #expect(machine.pinStats.pinsAcquired == 0)
        #expect(machine.nodePinCounters(nid: 0) == (0, 0))
        machine.unpinUserPages(zero)
        #expect(machine.pinStats.unpinsOfUnpinned == 0)
        // FOLL_DUMP: the zero page and an anonymous hole are -EFAULT.
        #expect(throws: Errno.EFAULT) { try process.getUserPages(start: addr, nrPages: 1, flags: .dump) }
        #expect(throws: Errno.EFAULT) { try process.getUserPages(start: addr + 1 << 12, nrPages: 1, flags: .dump) }
        #expect(process.tables.entry(at: addr + 1 << 12).pte.isNone)
        // A long-term R/O pin of the zero page in a COW mapping unshares it
        // (gup_must_unshare() for non-anon pages).
        let unshared = try process.pinUserPages(start: addr, nrPages: 1, flags: .longterm)
        #expect(unshared.count == 1)
        let real = machine.proxyTarget(unshared[0]) ?? unshared[0]
        #expect(real.pfn != machine.zeroPagePfn)
        let pte = process.tables.entry(at: addr).pte
        #expect(pte.pfn == real.pfn && !pte.isWritable && !pte.isSpecial)
        #expect(machine.vmEvents.snapshot.unshareCopies == 1)
        #expect(machine.pinStats.pinsAcquired == 1)
        machine.unpinUserPages(unshared)
        // FOLL_LONGTERM|FOLL_WRITE on the zero page breaks COW the usual way.
        _ = try process.read(addr + 2 << 12, count: 1)
        let written = try process.pinUserPages(start: addr + 2 << 12, nrPages: 1, flags: [.longterm, .write])
        #expect((machine.proxyTarget(written[0]) ?? written[0]).pfn != machine.zeroPagePfn)
        #expect(process.tables.entry(at: addr + 2 << 12).pte.isWritable)
        machine.unpinUserPages(written)
        #expect(machine.pinStats.outstanding == 0)
        #expect(machine.diagnostics.count == 0)
    }

    @Test(arguments: Design.allCases)
    func hugePMDIsOneGrabPerFolio(design: Design) throws {
        let (machine, process) = try makeProcess(design, ram: 256 << 20)
        machine.thp.mode = .always
        let length: UInt64 = 4 << 20
        let raw = try process.mmapAnon(length)
        let addr = (raw + Paging.pmdSize - 1) & Paging.pmdMask
        try process.write([1], at: addr)
        let (pmd, huge) = process.tables.entry(at: addr)
        try #require(huge && pmd.isLeaf)
        let folio = try #require(machine.page(pmd.pfn).flatMap(machine.pageFolio))
        #expect(folio.order == 9)
        // 123 pages from page 7 (a straddling count, as gup_test's -n 123).
        for fast in [false, true] {
            let start = addr + 7 << 12
            let pages = fast ? try process.pinUserPagesFast(start: start, nrPages: 123, flags: .write)
                             : try process.pinUserPages(start: start, nrPages: 123, flags: .write)
            #expect(pages.count == 123)
            for (i, page) in pages.enumerated() { #expect(page.pfn == folio.pfn + 7 + i) }
            #expect(machine.exactPins(folio) == 123)
            #expect(folio.refcount == 1 + 123 + Self.lruRef(design))   // large folios: one reference per pin on every design
            if design == .mainline || design == .memdesc32 || design == .memdesc8 { #expect(folio.pincount == 123) }
            #expect(machine.folioMaybeDMAPinned(folio))
            machine.unpinUserPages(pages)
            #expect(folio.refcount == 1)
            #expect(machine.exactPins(folio) == 0)
        }
        #expect(machine.nodePinCounters(nid: 0) == (246, 246))
        #expect(process.tables.entry(at: addr).huge)
        #expect(machine.diagnostics.count == 0)
    }

    @Test func remoteAndTouch() throws {
        let (machine, process) = try makeProcess()
        let other = try Process(machine: machine)
        let addr = try other.mmapAnon(2 << 12)
        let pages = try process.pinUserPagesRemote(of: other, start: addr, nrPages: 2, flags: .write, locked: 1)
        #expect(pages.count == 2)
        #expect(other.mm.hasPinned && !process.mm.hasPinned)
        #expect(other.tables.entry(at: addr).pte.pfn == pages[0].pfn)
        machine.unpinUserPages(pages)
        let refs = try process.getUserPagesRemote(of: other, start: addr, nrPages: 1)
        #expect(refs.count == 1)
        #expect(machine.pageFolio(refs[0])?.refcount == 2)
        machine.putPage(refs[0])
        #expect(machine.pinStats.outstanding == 0)
    }
}

@Suite struct UnpinRangeTests {
    @Test(arguments: Design.allCases)
    func unpinUserPageRangeDirtyLockReleasesEveryPinAndDirties(_ design: Design) throws {
        let (machine, process) = try makeProcess(design)
        let raw = try process.mmapAnon(4 << 20)
        let addr = (raw + (1 << 21) - 1) & ~((1 << 21) - 1)
        try process.mm.madvise(addr: addr, length: 2 << 20, advice: .hugePage)
        try process.write([1], at: addr)
        let pages = try process.pinUserPages(start: addr, nrPages: 8, flags: [.write])
        #expect(pages.count == 8)
        let first = machine.proxyTarget(pages[0]) ?? pages[0]
        let folio = try #require(machine.pageFolio(first))
        folio.clearFlag(machine.flagBits.dirty)
        machine.unpinUserPageRangeDirtyLock(first, nrPages: 8, makeDirty: true)
        #expect(machine.pinStats.outstanding == 0)
        #expect(machine.pinStats.pinsAcquired == 8 && machine.pinStats.pinsReleased == 8)
        #expect(folio.testFlag(machine.flagBits.dirty))
        #expect(!machine.folioMaybeDMAPinned(folio))
    }
}
