// GUP and COW where a line-by-line reading of v6.19 (mm/gup.c, mm/huge_memory.c,
// mm/memory.c, include/linux/mm.h) found the model differing: each expectation is
// derived from the kernel function named beside it, not from the model's output.
import Testing
@testable import PageModel
import PageLayout

/// The folio mapped at `addr` in `process`.
func mappedFolio(_ machine: Machine, _ process: Process, _ addr: UInt64) throws -> Folio {
    let page = try #require(machine.memmap.page(process.tables.entry(at: addr).pte.pfn))
    return try #require(machine.pageFolio(page))
}

@Suite struct GUPKernelExactTests {
    /// Four mapped, written anonymous pages followed by an unmapped page.
    func fourPagesThenHole(_ process: Process) throws -> UInt64 {
        let addr = try process.mmapAnon(5 << 12)
        try process.mm.munmap(addr: addr + 4 << 12, length: 1 << 12)
        for i in 0..<4 { try process.write(pattern(i), at: addr + UInt64(i) << 12) }
        return addr
    }

    /// A negative nr_pages: get_user_pages(), get_user_pages_remote(), pin_user_pages()
    /// and pin_user_pages_remote() take `unsigned long nr_pages`, so -1 is ULONG_MAX and
    /// __get_user_pages() walks until the hole after the VMA, returning the 4 pages it
    /// took (`return i ? i : ret`), or -EFAULT when the hole is at `start`.
    /// get_user_pages_fast() and pin_user_pages_fast() take `int nr_pages`, which
    /// gup_fast_fallback() widens to a huge `unsigned long`: `start + (nr_pages <<
    /// PAGE_SHIFT)` overflows for any start ≥ 4 KiB (-EOVERFLOW); from 0 it ends past
    /// TASK_SIZE_MAX (-EFAULT).
    @Test(arguments: Design.allCases)
    func negativeNrPages(design: Design) throws {
        let (machine, process) = try makeProcess(design)
        let addr = try fourPagesThenHole(process)
        let got = try process.getUserPages(start: addr, nrPages: -1)
        #expect(got.map(\.pfn) == (0..<4).map { process.tables.entry(at: addr + UInt64($0) << 12).pte.pfn })
        for page in got { machine.putPage(page) }
        let remote = try process.getUserPagesRemote(of: process, start: addr + 1 << 12, nrPages: -5)
        #expect(remote.count == 3)
        for page in remote { machine.putPage(page) }
        let pinned = try process.pinUserPages(start: addr, nrPages: -1)
        #expect(pinned.count == 4)
        machine.unpinUserPages(pinned)
        let pinnedRemote = try process.pinUserPagesRemote(of: process, start: addr + 3 << 12, nrPages: Int.min)
        #expect(pinnedRemote.count == 1)
        machine.unpinUserPages(pinnedRemote)
        #expect(throws: Errno.EFAULT) { try process.pinUserPages(start: addr + 4 << 12, nrPages: -1) }
        #expect(throws: Errno.EOVERFLOW) { try process.getUserPagesFast(start: addr, nrPages: -1) }
        #expect(throws: Errno.EOVERFLOW) { try process.pinUserPagesFast(start: addr, nrPages: -2) }
        #expect(throws: Errno.EFAULT) { try process.pinUserPagesFast(start: 0, nrPages: -1) }
        var buffer = [Page](repeating: Page(unchecked: 0, machine.context), count: 4)
        let raw = buffer.withUnsafeMutableBufferPointer { process.pinUserPagesFast(start: addr, nrPages: -1, into: $0) }
        #expect(raw == -Int(Errno.EOVERFLOW.rawValue))
        #expect(machine.pinStats.outstanding == 0)
        #expect(machine.diagnostics.count == 0)
    }

    /// follow_pfn_pte() [mm/gup.c]: a special PTE (vmf_insert_mixed() into a
    /// VM_MIXEDMAP VMA: vm_normal_page() finds no page) is -EEXIST whatever the flags;
    /// __get_user_pages() fails with it when it has a pages array and steps over it when
    /// it has none. FOLL_TOUCH makes the PTE young, and dirty for FOLL_WRITE. GUP-fast
    /// stops at pte_special() and the slow path answers.
    @Test(arguments: Design.allCases)
    func specialPTEIsEEXIST(design: Design) throws {
        let (machine, process) = try makeProcess(design)
        let target = try #require(machine.folioAlloc(.user))
        let file = DevDAXFile(size: 2 << 12)
        let addr = try process.mm.mmap(length: 2 << 12, prot: [.read, .write], flags: [.shared], file: file)
        // Bad input is VM_FAULT_SIGBUS, never a trap: a pfn no PTE can hold, the zero
        // pfn (vm_mixed_ok()), an address outside a VM_MIXEDMAP VMA.
        #expect(process.insertMixed(pfn: -1, at: addr) == .sigbus)
        #expect(process.insertMixed(pfn: 1 << 40, at: addr) == .sigbus)
        #expect(process.insertMixed(pfn: machine.zeroPagePfn, at: addr) == .sigbus)
        #expect(process.insertMixed(pfn: target.pfn, at: try process.mmapAnon(1 << 12)) == .sigbus)
        #expect(process.insertMixed(pfn: target.pfn, at: addr) == .nopage)
        let inserted = process.tables.entry(at: addr).pte
        #expect(inserted.isSpecial && inserted.pfn == target.pfn && !inserted.isDirty)
        // x86's vm_page_prot carries _PAGE_ACCESSED; age the entry as reclaim would
        // (ptep_test_and_clear_young()) to see FOLL_TOUCH make it young again.
        let pmd = try #require(process.tables.pmdSlot(addr, allocate: false))
        let table = try #require(process.tables.lowerTable(pmd, allocate: false))
        let slot = process.tables.slot(table, Paging.index(addr, Paging.pageShift))
        slot.store(PTE(rawValue: inserted.rawValue & ~PTE.accessed))
        // pin_user_pages() has no FOLL_TOUCH: the entry stays old.
        #expect(throws: Errno.EEXIST) { try process.pinUserPages(start: addr, nrPages: 1) }
        #expect(!process.tables.entry(at: addr).pte.isYoung)
        // get_user_pages() adds FOLL_TOUCH: pte_mkyoung(), and no pte_mkdirty() for a read.
        #expect(throws: Errno.EEXIST) { try process.getUserPages(start: addr, nrPages: 1) }
        #expect(process.tables.entry(at: addr).pte.isYoung)
        #expect(!process.tables.entry(at: addr).pte.isDirty)
        // GUP-fast stops at pte_special(); the slow path (FOLL_TOUCH added) answers.
        #expect(throws: Errno.EEXIST) { try process.getUserPagesFast(start: addr, nrPages: 1) }
        #expect(!process.tables.entry(at: addr).pte.isDirty)
        #expect(throws: Errno.EEXIST) { try process.pinUserPagesFast(start: addr, nrPages: 1, flags: .write) }
        #expect(process.tables.entry(at: addr).pte.isDirty)
        // Without a pages array (a populate): the entry counts as done.
        let populated = process.tables.getUserPagesLocked(start: addr, nrPages: 1, flags: .touch, pages: nil, pinScope: false)
        #expect(populated == 1)
        #expect(target.refcount == 1)   // a special PTE holds no reference
        #expect(machine.pinStats.outstanding == 0)
        try process.mm.munmap(addr: addr, length: 2 << 12)
        machine.folioPut(target)
        #expect(machine.diagnostics.count == 0)
    }

    /// gup_fast_folio_allowed() [mm/gup.c] with CONFIG_SECRETMEM: every order-0 folio is
    /// examined whatever the flags, and one whose mapping is NULL (here a RAM page a
    /// driver mapped with vm_insert_pages()) sends GUP-fast to the slow path; an
    /// anonymous one (FOLIO_MAPPING_ANON) and a large folio are allowed.
    @Test(arguments: Design.allCases)
    func orderZeroFolioWithoutMappingTakesTheSlowPath(design: Design) throws {
        let (machine, process) = try makeProcess(design)
        let small = try #require(machine.folioAlloc(.user))
        let large = try #require(machine.folioAlloc(.user, order: 2))
        let file = DevDAXFile(size: 5 << 12)
        let addr = try process.mm.mmap(length: 5 << 12, prot: [.read, .write], flags: [.shared], file: file)
        try process.insertPages([small.headPage] + (0..<4).map { Page(unchecked: large.pfn + $0, machine.context) }, at: addr, writable: true)
        machine.folioPut(small)
        machine.folioPut(large)
        #expect(small.mapping == 0 && large.mapping == 0)
        let anon = try process.mmapAnon(1 << 12)
        try process.write([1], at: anon)
        var buffer = [Page](repeating: Page(unchecked: 0, machine.context), count: 4)
        func fast(_ start: UInt64, _ n: Int, _ flags: FollFlags) -> Int {
            buffer.withUnsafeMutableBufferPointer {
                process.tables.gupFast(start: start, end: start + UInt64(n) << 12, flags: flags, pages: $0.baseAddress!)
            }
        }
        #expect(fast(addr, 1, .pin) == 0)
        #expect(fast(addr, 1, .get) == 0)
        #expect(fast(anon, 1, .pin) == 1)
        buffer.withUnsafeBufferPointer { machine.unpinUserPages(UnsafeBufferPointer(rebasing: $0[0..<1])) }
        #expect(fast(addr + 1 << 12, 4, .pin) == 4)
        buffer.withUnsafeBufferPointer { machine.unpinUserPages($0) }
        // The slow path pins what GUP-fast left.
        let pinned = try process.pinUserPagesFast(start: addr, nrPages: 5)
        #expect(pinned.count == 5)
        machine.unpinUserPages(pinned)
        #expect(machine.pinStats.outstanding == 0)
        try process.mm.munmap(addr: addr, length: 5 << 12)
    }

    /// gup_fast_pte_range() and gup_fast_pmd_leaf() call folio_set_referenced() on each
    /// folio they hand out [mm/gup.c].
    @Test(arguments: Design.allCases)
    func gupFastMarksFoliosReferenced(design: Design) throws {
        let (machine, process) = try makeProcess(design)
        machine.thp.mode = .always
        let raw = try process.mmapAnon(4 << 20)
        let huge = (raw + Paging.pmdSize - 1) & Paging.pmdMask
        try process.write([1], at: huge)
        let small = try process.mmapAnon(1 << 12, flags: [.private, .anonymous])
        try process.mm.madvise(addr: small, length: 1 << 12, advice: .noHugePage)
        try process.write([2], at: small)
        #expect(process.tables.entry(at: huge).huge)
        let referenced = machine.flagBits.referenced
        var folios: [Folio] = []
        for addr in [huge, small] {
            let folio = try mappedFolio(machine, process, addr)
            folio.clearFlag(referenced)
            folios.append(folio)
        }
        var buffer = [Page](repeating: Page(unchecked: 0, machine.context), count: 2)
        for (i, addr) in [huge + 3 << 12, small].enumerated() {
            let nr = buffer.withUnsafeMutableBufferPointer {
                process.tables.gupFast(start: addr, end: addr + 1 << 12, flags: [.pin], pages: $0.baseAddress! + i)
            }
            #expect(nr == 1)
        }
        #expect(folios.allSatisfy { $0.testFlag(referenced) })
        buffer.withUnsafeBufferPointer { machine.unpinUserPages($0) }
        #expect(machine.pinStats.outstanding == 0)
    }

    /// FOLL_NOWAIT: faultin_page() asks for FAULT_FLAG_RETRY_NOWAIT; do_swap_page()'s
    /// folio_lock_or_retry() on a swap-cache folio locked elsewhere returns
    /// VM_FAULT_RETRY with the mmap_lock kept (__folio_lock_or_retry()), faultin_page()
    /// -EBUSY, and __get_user_pages() `ret = 0; goto out`: the pages taken so far, or 0
    /// (no WARN: __get_user_pages_locked() excuses FOLL_NOWAIT).
    @Test(arguments: Design.allCases)
    func nowaitReturnsThePagesSoFar(design: Design) throws {
        let (machine, parent) = try makeProcess(design)
        _ = try machine.swap.swapon(slots: 16)
        let addr = try parent.mmapAnon(2 << 12)
        try parent.write(pattern(0), at: addr)
        try parent.write(pattern(1), at: addr + 1 << 12)
        let child = try parent.fork()
        defer { child.exit() }
        let second = try mappedFolio(machine, parent, addr + 1 << 12)
        _ = machine.reclaimFolios([second])
        #expect(parent.tables.entry(at: addr + 1 << 12).pte.softLeaf == .swap)
        // The child swaps it in; the parent's swap entry keeps it in the swap cache.
        #expect(try child.read(addr + 1 << 12, count: 64) == pattern(1))
        let cached = try mappedFolio(machine, child, addr + 1 << 12)
        #expect(machine.swap.cache.contains(cached))
        #expect(cached.tryLock())   // someone else holds the folio lock
        let got = try parent.getUserPages(start: addr, nrPages: 2, flags: .nowait)
        #expect(got.count == 1)
        for page in got { machine.putPage(page) }
        #expect(try parent.pinUserPages(start: addr + 1 << 12, nrPages: 1, flags: .nowait).isEmpty)
        #expect(parent.tables.entry(at: addr + 1 << 12).pte.softLeaf == .swap)
        cached.unlock()
        let after = try parent.getUserPages(start: addr + 1 << 12, nrPages: 1, flags: .nowait)
        #expect(after.map(\.pfn) == [cached.pfn])
        for page in after { machine.putPage(page) }
        #expect(machine.diagnostics.count == 0)
    }

    /// folio_is_longterm_pinnable() [include/linux/mm.h] with CONFIG_CMA: a folio in a
    /// MIGRATE_CMA or MIGRATE_ISOLATE pageblock is not, so FOLL_LONGTERM migrates it out
    /// (check_and_migrate_movable_pages(), GFP_USER: never into a CMA or isolated block).
    @Test(arguments: Design.allCases, [MigrateType.cma, .isolate])
    func cmaAndIsolatedPageblocksAreNotLongtermPinnable(design: Design, type: MigrateType) throws {
        let (machine, process) = try makeProcess(design)
        let addr = try process.mmapAnon(1 << 12)
        try process.write(pattern(7), at: addr)
        let old = process.tables.entry(at: addr).pte.pfn
        let folio = try mappedFolio(machine, process, addr)
        #expect(machine.folioIsLongtermPinnable(folio))
        let previous = try #require(machine.pageblockMigratetype(pfn: old))
        #expect(machine.setPageblockMigratetype(pfn: old, type))
        #expect(!machine.folioIsLongtermPinnable(folio))
        let pinned = try process.pinUserPages(start: addr, nrPages: 1, flags: [.longterm])
        #expect(pinned.count == 1)
        let now = (machine.proxyTarget(pinned[0]) ?? pinned[0]).pfn
        #expect(now != old)
        #expect(machine.pageblockMigratetype(pfn: now) != type)
        #expect(process.tables.entry(at: addr).pte.pfn == now)
        #expect(machine.frames.read(pfn: now, count: 64) == pattern(7))
        machine.unpinUserPages(pinned)
        #expect(machine.setPageblockMigratetype(pfn: old, previous))
        #expect(machine.pinStats.outstanding == 0)
    }

    /// A PMD-mapped anonymous THP of the parent, four pages into it.
    func pmdTHP(_ machine: Machine, _ process: Process) throws -> (UInt64, Folio) {
        machine.thp.mode = .always
        let raw = try process.mmapAnon(4 << 20)
        let mem = (raw + Paging.pmdSize - 1) & Paging.pmdMask
        try process.write([UInt8](repeating: 3, count: 1 << 12), at: mem)
        #expect(process.tables.entry(at: mem).huge)
        let folio = try mappedFolio(machine, process, mem)
        return (mem, folio)
    }

    /// do_huge_pmd_wp_page() [mm/huge_memory.c]: after the fork child that shared the
    /// THP has exited, the parent's write finds folio_ref_count() == 1, sets
    /// PageAnonExclusive on the head and reuses the PMD: no split, no copy.
    @Test(arguments: Design.allCases)
    func writeReusesAnUnsharedTHP(design: Design) throws {
        let (machine, process) = try makeProcess(design)
        let (mem, folio) = try pmdTHP(machine, process)
        try process.fork().exit()
        #expect(!process.tables.entry(at: mem).pte.isWritable)
        #expect(!machine.pageAnonExclusive(folio.headPage, folio: folio))
        try process.write([9], at: mem + 5 << 12)
        let entry = process.tables.entry(at: mem)
        #expect(entry.huge && entry.pte.isWritable && entry.pte.isDirty && entry.pte.pfn == folio.pfn)
        #expect(machine.pageAnonExclusive(folio.headPage, folio: folio))
        #expect(try process.read(mem + 5 << 12, count: 1) == [9])
    }

    /// The same with a read-only pin: follow_huge_pmd() asks gup_must_unshare() about
    /// pmd_page() (the head), which is not exclusive, so -EMLINK; the unshare fault's
    /// do_huge_pmd_wp_page() makes the head exclusive and leaves the PMD as it was
    /// (`if (unlikely(unshare)) return 0`); the second look pins the subpage.
    @Test(arguments: Design.allCases)
    func readOnlyPinUnsharesAnUnsharedTHPInPlace(design: Design) throws {
        let (machine, process) = try makeProcess(design)
        let (mem, folio) = try pmdTHP(machine, process)
        try process.fork().exit()
        let pinned = try process.pinUserPages(start: mem + 5 << 12, nrPages: 1)
        #expect((machine.proxyTarget(pinned[0]) ?? pinned[0]).pfn == folio.pfn + 5)
        let entry = process.tables.entry(at: mem)
        #expect(entry.huge && !entry.pte.isWritable && entry.pte.pfn == folio.pfn)
        #expect(machine.pageAnonExclusive(folio.headPage, folio: folio))
        #expect(machine.folioMaybeDMAPinned(folio))
        machine.unpinUserPages(pinned)
        #expect(machine.pinStats.outstanding == 0)
    }

    /// follow_huge_pmd() checks the head page: once the unshare fault has made the
    /// head PageAnonExclusive (the tail pages' bits stay clear), read-only pins of other
    /// tail pages of the still read-only PMD need no fault.
    @Test(arguments: Design.allCases)
    func followHugePMDAsksTheHeadPage(design: Design) throws {
        let (machine, process) = try makeProcess(design)
        let (mem, folio) = try pmdTHP(machine, process)
        try process.fork().exit()
        let first = try process.pinUserPages(start: mem + 5 << 12, nrPages: 1)
        let faults = machine.vmEvents.snapshot.faults
        let pinned = try process.pinUserPages(start: mem + 7 << 12, nrPages: 2)
        #expect(pinned.map { (machine.proxyTarget($0) ?? $0).pfn } == [folio.pfn + 7, folio.pfn + 8])
        #expect(machine.vmEvents.snapshot.faults == faults)
        #expect(process.tables.entry(at: mem).huge && !process.tables.entry(at: mem).pte.isWritable)
        machine.unpinUserPages(pinned)
        machine.unpinUserPages(first)
        #expect(machine.pinStats.outstanding == 0)
    }

    /// unpin_user_pages_dirty_lock(make_dirty) on the zero page: the model leaves it
    /// untouched (deliberately: v6.19's folio_mark_dirty() → noop_dirty_folio() would set
    /// PG_dirty on it, to no effect); its refcount is never changed by pin or unpin
    /// (try_grab_folio() and gup_put_folio() return early for is_zero_folio()).
    @Test(arguments: Design.allCases)
    func zeroPageIsNeverDirtiedOnUnpin(design: Design) throws {
        let (machine, process) = try makeProcess(design)
        let addr = try process.mmapAnon(2 << 12)
        _ = try process.read(addr, count: 1)
        _ = try process.read(addr + 1 << 12, count: 1)
        let zero = try #require(machine.memmap.page(machine.zeroPagePfn))
        let flags = zero.flags, refcount = zero.refcount
        let pinned = try process.pinUserPages(start: addr, nrPages: 2)
        #expect(pinned.map { (machine.proxyTarget($0) ?? $0).pfn } == [machine.zeroPagePfn, machine.zeroPagePfn])
        machine.unpinUserPages(pinned, makeDirty: true)
        machine.unpinUserPageRangeDirtyLock(zero, nrPages: 1, makeDirty: true)
        #expect(zero.flags == flags)
        #expect(zero.refcount == refcount)
        #expect(machine.diagnostics.count == 0)
    }
}
