// The huge zero folio (v6.19): do_huge_pmd_anonymous_page()'s read-fault arm and
// set_huge_zero_folio(), get_huge_zero_folio()/mm_get_huge_zero_folio()/
// mm_put_huge_zero_folio() and the "thp-zero" shrinker (mm/huge_memory.c), the write and
// unshare faults on it (do_huge_pmd_wp_page() -> do_huge_zero_wp_pmd(), falling back to
// __split_huge_zero_page_pmd()), fork (copy_huge_pmd()), zap and splits, GUP
// (follow_huge_pmd(), gup_fast_pmd_leaf(), gup_must_unshare(), try_grab_folio() in
// mm/gup.c and mm/internal.h), hmm_range_fault() (hmm_vma_handle_pmd()), the dmirror
// snapshot (lib/test_hmm.c dmirror_mkentry()) and /proc/kpageflags (fs/proc/page.c
// stable_page_flags()), on every design; and the second half of hmm-tests'
// migrate_anon_huge_zero_err (tools/testing/selftests/mm/hmm-tests.c) and cow.c's
// run_with_huge_zeropage() R/O longterm pin cases (tools/testing/selftests/mm/cow.c).
// Every expected value is read off the kernel function named beside it.
import PageLayout
@testable import PageModel
import Testing

@Suite struct HugeZeroFolioTests {
    static let pmd: UInt64 = 2 << 20

    /// A PMD-aligned 2 MiB range of a 4 MiB private anonymous mapping with MADV_HUGEPAGE
    /// (THP "madvise", the kernel's default), as cow.c and hmm-tests align it.
    static func hugeRange(_ process: Process, prot: Prot = [.read, .write]) throws -> UInt64 {
        let base = try process.mmapAnon(2 * pmd, prot: prot)
        let map = (base + pmd - 1) & ~(pmd - 1)
        try process.mm.madvise(addr: map, length: pmd, advice: .hugePage)
        return map
    }

    static func freePages(_ machine: Machine) -> Int { machine.zones.joined().reduce(0) { $0 + $1.freePages } }

    /// A fresh process of `design` whose `hugeRange` has been read once (the huge zero
    /// PMD mapped), and the huge zero folio's pfn.
    static func readHugeRange(_ design: Design) throws -> (Machine, Process, UInt64, Int) {
        let (machine, process) = try makeProcess(design)
        let map = try hugeRange(process)
        _ = try process.read(map, count: 1)
        return (machine, process, map, try #require(machine.hugeZero.pfn))
    }

    /// A read fault maps the huge zero folio: one PMD, present, special (pmd_mkspecial()),
    /// read-only (folio_mk_pmd() with a private mapping's vm_page_prot), pfn 512-aligned.
    /// The folio: order 9, refcount 1 (folio_alloc()'s; set_huge_zero_folio() takes none),
    /// no mapcount (no rmap). huge_zero_refcount 2 (get_huge_zero_folio(): the mm's count
    /// and the shrinker's) and MMF_HUGE_ZERO_FOLIO; a second PMD of the same mm takes no
    /// further count. kpageflags: KPF_ZERO_PAGE | KPF_THP (is_huge_zero_pfn()), not
    /// KPF_MMAP (folio_mapped() is false) nor KPF_ANON (no anon mapping).
    @Test(arguments: Design.allCases)
    func readFaultMapsTheHugeZeroPMD(_ design: Design) throws {
        let (machine, process) = try makeProcess(design)
        #expect(machine.thp.useZeroPage)   // TRANSPARENT_HUGEPAGE_USE_ZERO_PAGE_FLAG is in the default flags
        #expect(machine.hugeZero.pfn == nil && machine.hugeZero.users == 0)
        let map = try Self.hugeRange(process)
        #expect(try process.read(map + 12345, count: 8) == [UInt8](repeating: 0, count: 8))
        let (entry, huge) = process.tables.entry(at: map)
        let zeroPfn = try #require(machine.hugeZero.pfn)
        #expect(huge && entry.isLeaf && entry.isSpecial && !entry.isWritable)
        #expect(entry.pfn == zeroPfn && zeroPfn % 512 == 0)
        let folio = try #require(machine.hugeZeroFolio)
        #expect(folio.order == 9 && folio.refcount == 1 && machine.folioMapcount(folio) == 0)
        #expect(!machine.folioIsAnon(folio))
        #expect(machine.hugeZero.users == 2 && process.mm.flags.contains(.hugeZeroFolio))
        // A second PMD of this mm: the same folio, no further count.
        let other = try Self.hugeRange(process)
        _ = try process.read(other, count: 1)
        #expect(process.tables.entry(at: other).pte.pfn == zeroPfn)
        #expect(machine.hugeZero.users == 2)
        let zero: UInt64 = 1 << 24, thp: UInt64 = 1 << 22, mmap: UInt64 = 1 << 11, anon: UInt64 = 1 << 12
        for pfn in [zeroPfn, zeroPfn + 1, zeroPfn + 511] {
            let flags = machine.stablePageFlags(pfn)
            #expect(flags & zero != 0 && flags & thp != 0 && flags & (mmap | anon) == 0, "pfn +\(pfn - zeroPfn): \(String(flags, radix: 16))")
        }
        #expect(machine.stablePageFlags(machine.zeroPagePfn) & (zero | thp) == zero)
        #expect(machine.diagnostics.count == 0)
    }

    /// use_zero_page = 0: `transparent_hugepage_use_zero_page()` is false, so a read
    /// fault takes __do_huge_pmd_anonymous_page(): a new THP, mapped dirty and writable
    /// (map_anon_folio_pmd_pf()), THP_FAULT_ALLOC; no huge zero folio is allocated.
    @Test(arguments: Design.allCases)
    func useZeroPageOffMakesReadFaultsAllocateATHP(_ design: Design) throws {
        let (machine, process) = try makeProcess(design)
        machine.thp.useZeroPage = false
        let map = try Self.hugeRange(process)
        #expect(try process.read(map, count: 4) == [0, 0, 0, 0])
        let (entry, huge) = process.tables.entry(at: map)
        #expect(huge && !entry.isSpecial && entry.isWritable)
        let folio = try mappedFolio(machine, process, map)
        #expect(folio.order == 9 && folio.refcount == 1 && machine.folioMapcount(folio) == 1 && machine.folioIsAnon(folio))
        #expect(machine.hugeZero.pfn == nil && machine.hugeZero.users == 0)
        #expect(machine.vmEvents.snapshot.thpFaultAlloc == 1)
    }

    /// A write after the read: do_huge_zero_wp_pmd() maps a new zeroed THP in place of the
    /// huge zero PMD (map_anon_folio_pmd_pf(): exclusive anon, mapcount 1, writable,
    /// THP_FAULT_ALLOC). The huge zero folio is untouched and the mm keeps its count.
    @Test(arguments: Design.allCases)
    func writeAfterReadReplacesItByATHP(_ design: Design) throws {
        let (machine, process, map, zeroPfn) = try Self.readHugeRange(design)
        try process.write([7, 8, 9], at: map + 5 << 12)
        let (entry, huge) = process.tables.entry(at: map)
        #expect(huge && !entry.isSpecial && entry.isWritable && entry.pfn != zeroPfn)
        let folio = try mappedFolio(machine, process, map)
        #expect(folio.order == 9 && folio.refcount == 1 && machine.folioMapcount(folio) == 1 && machine.folioIsAnon(folio))
        #expect(machine.pageAnonExclusive(folio.headPage, folio: folio))
        #expect(try process.read(map + 5 << 12 - 1, count: 5) == [0, 7, 8, 9, 0])
        #expect(machine.vmEvents.snapshot.thpFaultAlloc == 1 && machine.vmEvents.snapshot.thpSplitPmd == 0)
        #expect(machine.hugeZero.users == 2)
        #expect(machine.frames.read(pfn: zeroPfn + 5, count: 4096)?.allSatisfy { $0 == 0 } == true)
    }

    /// The THP allocation of do_huge_zero_wp_pmd() fails (fail_page_alloc, order 9): the
    /// huge zero PMD is split (`goto fallback`: __split_huge_pmd() ->
    /// __split_huge_zero_page_pmd(): 512 special read-only PTEs of the small zero page,
    /// THP_SPLIT_PMD), THP_FAULT_FALLBACK (vma_alloc_anon_folio_pmd()), and the write
    /// goes on at the PTE level: do_wp_page() on the zero page gives that one page a new
    /// order-0 anonymous folio; the other 511 stay on the zero page.
    @Test(arguments: Design.allCases)
    func writeFallsBackToSmallZeroPTEsWithoutATHP(_ design: Design) throws {
        let (machine, process, map, _) = try Self.readHugeRange(design)
        let fallbacks = machine.vmEvents.snapshot.thpFaultFallback
        machine.injectAllocationFailures(FailInjection(times: 1, minOrder: 9))
        try process.write([0xab], at: map + 5 << 12 + 3)
        #expect(!process.tables.entry(at: map).huge)
        for i in 0..<512 {
            let entry = process.tables.entry(at: map + UInt64(i) << 12).pte
            if i == 5 {
                #expect(!entry.isSpecial && entry.isWritable && entry.pfn != machine.zeroPagePfn)
                let folio = try mappedFolio(machine, process, map + 5 << 12)
                #expect(folio.order == 0 && machine.folioMapcount(folio) == 1)
            } else if !(entry.isPresent && entry.isSpecial && !entry.isWritable && entry.pfn == machine.zeroPagePfn) {
                Issue.record("PTE \(i) is not the small zero page: \(entry)")
            }
        }
        #expect(machine.vmEvents.snapshot.thpSplitPmd == 1)
        #expect(machine.vmEvents.snapshot.thpFaultFallback == fallbacks + 1)
        #expect(try process.read(map + 5 << 12 + 2, count: 3) == [0, 0xab, 0])
        #expect(try process.read(map, count: Int(Self.pmd)).reduce(0) { $0 + Int($1) } == 0xab)
    }

    /// fork: copy_huge_pmd() copies the huge zero PMD and the child takes its own count
    /// (mm_get_huge_zero_folio(dst_mm)): huge_zero_refcount 3, the folio's refcount and
    /// mapcount unchanged. The child's write replaces only its own PMD. __mmput() of each
    /// mm puts its count (mm_put_huge_zero_folio()); with only the shrinker's left
    /// (1), shrink_huge_zero_folio_scan() frees the 512 pages and huge_zero_pfn is ~0.
    @Test(arguments: Design.allCases)
    func forkSharesItAndTheShrinkerFreesItWhenUnused(_ design: Design) throws {
        let (machine, parent) = try makeProcess(design)
        let map = try Self.hugeRange(parent)
        _ = try parent.read(map, count: 1)
        let zeroPfn = try #require(machine.hugeZero.pfn)
        let child = try parent.fork()
        #expect(child.tables.entry(at: map).pte == parent.tables.entry(at: map).pte)
        #expect(child.mm.flags.contains(.hugeZeroFolio) && machine.hugeZero.users == 3)
        let folio = try #require(machine.hugeZeroFolio)
        #expect(folio.refcount == 1 && machine.folioMapcount(folio) == 0)
        try child.write([1], at: map)
        #expect(child.tables.entry(at: map).pte.pfn != zeroPfn)
        #expect(parent.tables.entry(at: map).pte.pfn == zeroPfn)
        #expect(machine.shrinkHugeZeroFolio() == 0)   // still used: count 3
        child.exit()
        #expect(machine.hugeZero.users == 2)
        parent.exit()
        #expect(machine.hugeZero.users == 1)
        let free = Self.freePages(machine)
        #expect(machine.shrinkHugeZeroFolio() == 512)
        #expect(Self.freePages(machine) == free + 512)
        #expect(machine.hugeZero.pfn == nil && machine.hugeZero.users == 0 && !machine.isHugeZeroPfn(zeroPfn))
        #expect(machine.shrinkHugeZeroFolio() == 0)
        #expect(machine.diagnostics.count == 0)
        // The next user allocates it again.
        let again = try Process(machine: machine)
        _ = try again.read(try Self.hugeRange(again), count: 1)
        #expect(machine.hugeZero.pfn != nil && machine.hugeZero.users == 2)
    }

    /// munmap of the whole PMD: zap_huge_pmd() clears it, no folio put (is_huge_zero_pmd()
    /// arm); the mm keeps its count until __mmput(). munmap of one page inside: the PMD
    /// is split first (__split_huge_zero_page_pmd()) and only that PTE goes. MADV_DONTNEED
    /// zaps it; the next read maps it again.
    @Test(arguments: Design.allCases)
    func munmapAndMadviseZapIt(_ design: Design) throws {
        let (machine, process) = try makeProcess(design)
        let whole = try Self.hugeRange(process)
        _ = try process.read(whole, count: 1)
        let folio = try #require(machine.hugeZeroFolio)
        try process.mm.madvise(addr: whole, length: Self.pmd, advice: .dontNeed)
        #expect(process.tables.entry(at: whole).pte.isNone)
        _ = try process.read(whole, count: 1)
        #expect(machine.isHugeZeroPMD(process.tables.entry(at: whole).pte))
        try process.mm.munmap(addr: whole, length: Self.pmd)
        #expect(folio.refcount == 1 && machine.hugeZero.users == 2)
        let part = try Self.hugeRange(process)
        _ = try process.read(part, count: 1)
        try process.mm.munmap(addr: part + 7 << 12, length: 1 << 12)
        #expect(!process.tables.entry(at: part).huge)
        #expect(process.tables.entry(at: part + 7 << 12).pte.isNone)
        for i in [0, 6, 8, 511] {
            let entry = process.tables.entry(at: part + UInt64(i) << 12).pte
            #expect(entry.isSpecial && !entry.isWritable && entry.pfn == machine.zeroPagePfn)
        }
        #expect(try process.read(part + 8 << 12, count: 4) == [0, 0, 0, 0])
        #expect(folio.refcount == 1 && machine.hugeZero.users == 2)
        #expect(machine.diagnostics.count == 0)
    }

    /// mprotect() of part of the PMD: change_pmd_range() splits it (__split_huge_pmd() ->
    /// __split_huge_zero_page_pmd()), the protected page's PTE stays the small zero page,
    /// read-only; mremap() moves the range (the model splits first, where the kernel's
    /// move_huge_pmd() moves an aligned PMD whole) and it still reads zeroes.
    @Test(arguments: Design.allCases)
    func mprotectAndMremapKeepZeroes(_ design: Design) throws {
        let (machine, process, map, _) = try Self.readHugeRange(design)
        try process.mm.mprotect(addr: map, length: 1 << 12, prot: [.read])
        #expect(!process.tables.entry(at: map).huge && machine.vmEvents.snapshot.thpSplitPmd == 1)
        for i in [0, 1, 511] {
            let entry = process.tables.entry(at: map + UInt64(i) << 12).pte
            #expect(entry.isSpecial && !entry.isWritable && entry.pfn == machine.zeroPagePfn)
        }
        let other = try Self.hugeRange(process)
        _ = try process.read(other, count: 1)
        #expect(machine.isHugeZeroPMD(process.tables.entry(at: other).pte))
        let moved = try process.mm.mremap(oldAddr: other, oldLength: Self.pmd, newLength: 2 * Self.pmd, flags: .mayMove)
        #expect(moved != other && process.tables.entry(at: other).pte.isNone)
        #expect(try process.read(moved, count: Int(2 * Self.pmd)).allSatisfy { $0 == 0 })
        #expect(machine.hugeZeroFolio?.refcount == 1 && machine.hugeZero.users == 2)
        #expect(machine.diagnostics.count == 0)
    }

    /// A short-term FOLL_PIN on the huge zero folio really pins it: follow_huge_pmd() ->
    /// try_grab_folio(), which exempts only is_zero_folio() (the small zero page). GUP-fast
    /// leaves the special PMD to the slow path (gup_fast_pmd_leaf(): pmd_special()).
    /// Mainline: a large folio's pin adds 1 to _refcount and 1 to _pincount.
    @Test(arguments: Design.allCases, [false, true])
    func shortTermPinPinsTheHugeZeroFolio(_ design: Design, fast: Bool) throws {
        let (machine, process, map, zeroPfn) = try Self.readHugeRange(design)
        let folio = try #require(machine.hugeZeroFolio)
        let pages = fast ? try process.pinUserPagesFast(start: map + 3 << 12, nrPages: 2)
                         : try process.pinUserPages(start: map + 3 << 12, nrPages: 2)
        #expect(pages.count == 2)
        #expect(machine.isHugeZeroPMD(process.tables.entry(at: map).pte))
        #expect(machine.folioMaybeDMAPinned(folio))
        if design == .mainline {
            #expect(pages.map(\.pfn) == [zeroPfn + 3, zeroPfn + 4])
            #expect(folio.refcount == 3 && folio.pincount == 2)
        }
        machine.unpinUserPages(pages)
        #expect(!machine.folioMaybeDMAPinned(folio) && folio.refcount == 1)
        #expect(machine.pinStats.outstanding == 0)
        #expect(machine.diagnostics.count == 0)
    }

    /// A FOLL_WRITE pin, or a R/O FOLL_LONGTERM pin in a private (COW) mapping, never
    /// pins the huge zero folio: can_follow_write_pmd() fails, or gup_must_unshare()
    /// (not anon, FOLL_LONGTERM, is_cow_mapping()) asks for an unshare fault; either way
    /// do_huge_zero_wp_pmd() maps a new exclusive THP and that is pinned.
    @Test(arguments: Design.allCases, [FollFlags.write, FollFlags.longterm])
    func writeOrLongtermPinGetsAFreshTHP(_ design: Design, flags: FollFlags) throws {
        let (machine, process, map, _) = try Self.readHugeRange(design)
        let zero = try #require(machine.hugeZeroFolio)
        let pages = try process.pinUserPages(start: map, nrPages: 1, flags: flags)
        let (entry, huge) = process.tables.entry(at: map)
        #expect(huge && !entry.isSpecial && !machine.isHugeZeroPfn(entry.pfn))
        let folio = try mappedFolio(machine, process, map)
        #expect(folio.order == 9 && machine.folioIsAnon(folio) && machine.pageAnonExclusive(folio.headPage, folio: folio))
        #expect(machine.folioMaybeDMAPinned(folio) && !machine.folioMaybeDMAPinned(zero))
        machine.unpinUserPages(pages)
        #expect(machine.pinStats.outstanding == 0)
    }

    /// cow.c run_with_huge_zeropage() + test_ro_pin() / test_ro_fast_pin(): R/W `mem`
    /// and R/O `smem`, both PMD-aligned MADV_HUGEPAGE and read (huge zeropage populated:
    /// pagemap of mem + pagesize present), a R/O longterm pin of `mem` (pmdsize), then
    /// memset(mem, 0xff): the pin sees it ("Longterm R/O pin is reliable"), and smem stays
    /// zero. KSFT_PASS in v6.19.
    @Test(arguments: Design.allCases, [false, true])
    func cowROLongtermPinWithHugeZeropage(_ design: Design, fast: Bool) throws {
        let (machine, process) = try makeProcess(design)
        let mem = try Self.hugeRange(process)
        let smem = try Self.hugeRange(process, prot: [.read])
        _ = try process.read(mem, count: 1)
        _ = try process.read(smem, count: 1)
        #expect(process.tables.entry(at: mem + 4096).pte.isPresent && process.tables.entry(at: smem + 4096).pte.isPresent)
        #expect(try COWSelftestPinTests.roPin(process, mem, Self.pmd, .none, fast: fast))
        #expect(try process.read(smem, count: Int(Self.pmd)).allSatisfy { $0 == 0 })
        #expect(machine.isHugeZeroPMD(process.tables.entry(at: smem).pte))
        #expect(machine.pinStats.outstanding == 0)
        #expect(machine.diagnostics.count == 0)
    }

    /// hmm_range_fault() over the huge zero PMD: hmm_vma_handle_pmd() reports every page's
    /// pfn with the PMD order (no special-page check at the PMD level), read-only; the
    /// dmirror snapshot byte is READ|PMD = 0x05: dmirror_mkentry()'s PROT_ZERO is only for
    /// is_zero_pfn(), the small zero page.
    @Test(arguments: HMMMigrateTests.designs)
    func snapshotReportsItAsAReadOnlyPMD(_ design: Design) throws {
        let (machine, process, mirror) = try HMMMigrateTests.setup(design, device: 0)
        let map = try Self.hugeRange(process)
        _ = try process.read(map, count: 1)
        #expect(machine.hugeZero.pfn != nil)
        let (result, bytes) = try mirror.snapshot(addr: map, npages: 512)
        #expect(result.cpages == 512)
        #expect(bytes.count == 512 && bytes.allSatisfy { $0 == 0x05 })
    }

    /// hmm-tests `migrate_anon_huge_zero_err`, second half: after munmap and a new
    /// PROT_READ mapping with MADV_HUGEPAGE, `ret = ptr[0]` maps the huge zero folio
    /// (do_huge_pmd_anonymous_page()); FLAGS(FAIL_ALLOC); MIGRATE_TO_DEV returns 0 with
    /// cpages == npages: migrate_vma_collect_huge_pmd() collects the huge zero PMD as a
    /// hole (is_huge_zero_folio()), the failed device THP falls back to 512 small device
    /// pages, and migrate_vma_insert_page() splits the huge zero PMD (split_huge_pmd())
    /// and replaces each small zero PTE; then every int faults back as 0.
    @Test(arguments: HMMMigrateTests.designs, [0, 2])
    func migrateAnonHugeZeroErrSecondHalf(_ design: Design, device id: Int) throws {
        let (machine, process, mirror) = try HMMMigrateTests.setup(design, device: id)
        let size = Self.pmd, npages = UInt64(Self.pmd >> 12)
        // First half (HMMDeviceTHPTests.migrateAnonHugeZeroErr), then "unmap and remap".
        var oldPtr = try process.mmapAnon(2 * size, prot: [.read])
        var map = (oldPtr + size - 1) & ~(size - 1)
        try process.mm.madvise(addr: map, length: size, advice: .hugePage)
        mirror.setFlags(DeviceMirror.flagFailAlloc)
        var buffer: [UInt8] = []
        #expect(try mirror.migrateToDevice(addr: map, npages: npages, into: &buffer).cpages == Int(npages))
        #expect(try process.read(map + 2048 * 4, count: 4) == [0, 0, 0, 0])
        try process.mm.munmap(addr: oldPtr, length: 2 * size)
        oldPtr = try process.mmapAnon(2 * size, prot: [.read])
        map = (oldPtr + size - 1) & ~(size - 1)
        try process.mm.madvise(addr: map, length: size, advice: .hugePage)
        // "Initialize buffer in system memory (zero THP page)."
        #expect(try process.read(map, count: 4) == [0, 0, 0, 0])
        #expect(machine.isHugeZeroPMD(process.tables.entry(at: map).pte))
        // "Migrate memory to device but force a THP allocation error."
        mirror.setFlags(DeviceMirror.flagFailAlloc)
        buffer = []
        #expect(try mirror.migrateToDevice(addr: map, npages: npages, into: &buffer).cpages == Int(npages))
        #expect(buffer.count == Int(size) && buffer.allSatisfy { $0 == 0 })
        #expect(HMMDeviceTHPTests.smallDevicePages(machine, process, map, id: id))
        // "Fault the device memory back and check it."
        #expect(try process.read(map, count: Int(size)).allSatisfy { $0 == 0 })
        try process.mm.munmap(addr: oldPtr, length: 2 * size)
        #expect(mirror.device.pagesInUse == 0)
        let folio = try #require(machine.hugeZeroFolio)
        #expect(folio.refcount == 1 && machine.folioMapcount(folio) == 0)
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption || $0.kind == .badPage }.isEmpty)
    }
}
