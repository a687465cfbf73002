// The huge zero folio of mm/huge_memory.c (v6.19): get_huge_zero_folio(),
// put_huge_zero_folio(), mm_get_huge_zero_folio(), mm_put_huge_zero_folio(), the
// "thp-zero" shrinker (shrink_huge_zero_folio_count()/_scan()), is_huge_zero_pfn() and
// is_huge_zero_pmd() (include/linux/huge_mm.h), set_huge_zero_folio() and
// __split_huge_zero_page_pmd().
//
// One zeroed order-9 folio per machine, allocated on the first read fault that wants it.
// Its users are counted per mm in `huge_zero_refcount` (MMF_HUGE_ZERO_FOLIO: an mm holds
// at most one count, dropped at exit by __mmput()), plus one count of the shrinker's own,
// so it is freed only by the shrinker once no mm uses it. Its mappings take neither a
// reference nor a mapcount: a huge zero PMD is special (pmd_mkspecial()).
// CONFIG_PERSISTENT_HUGE_ZERO_FOLIO (mm/Kconfig: a `bool` with no default, set only by
// the s390 defconfigs; when on, allocated at boot by thp_shrinker_init(), never freed) is
// not modelled: the default refcounted, shrinkable folio is.
import PageLayout
import Synchronization

/// `huge_zero_refcount` and `huge_zero_pfn` of one machine.
public final class HugeZeroFolio: Sendable {
    /// `huge_zero_refcount`: 0 while there is no huge zero folio; 2 when it has just been
    /// allocated (the allocating mm's count and the shrinker's); 1 when only the
    /// shrinker's is left.
    let refcount = Atomic<Int>(0)
    /// `huge_zero_pfn` (`~0UL` in the kernel when there is none; -1 here), which also
    /// stands for the `huge_zero_folio` pointer (the folio at that pfn).
    let pfnWord = Atomic<Int>(-1)
    init() {}

    /// `atomic_read(&huge_zero_refcount)`.
    public var users: Int { refcount.load(ordering: .relaxed) }
    /// `READ_ONCE(huge_zero_pfn)`, nil while no huge zero folio is allocated.
    public var pfn: Int? {
        let pfn = pfnWord.load(ordering: .acquiring)
        return pfn < 0 ? nil : pfn
    }
}

extension Machine {
    /// Linux: `is_huge_zero_pfn()`: whether `pfn` lies in the huge zero folio
    /// (`huge_zero_pfn == (pfn & ~(HPAGE_PMD_NR - 1))`).
    @inline(__always)
    public func isHugeZeroPfn(_ pfn: Int) -> Bool {
        hugeZero.pfnWord.load(ordering: .relaxed) == pfn & ~(Paging.entries - 1)
    }

    /// Linux: `is_huge_zero_pmd()`: a present huge PMD that maps the huge zero folio.
    @inline(__always)
    func isHugeZeroPMD(_ entry: PTE) -> Bool { entry.isLeaf && isHugeZeroPfn(entry.pfn) }

    /// Linux: `READ_ONCE(huge_zero_folio)`.
    public var hugeZeroFolio: Folio? {
        hugeZero.pfn.flatMap { memmap.page($0) }.flatMap { pageFolio($0) }
    }

    /// Linux: `get_huge_zero_folio()`: a count on the huge zero folio, allocating it
    /// (`folio_alloc((GFP_TRANSHUGE | __GFP_ZERO) & ~__GFP_MOVABLE, HPAGE_PMD_ORDER)`,
    /// PG_large_rmappable cleared) when there is none; whoever loses the race to install
    /// it frees its own and retries. false: the allocation failed
    /// (THP_ZERO_PAGE_ALLOC_FAILED).
    func getHugeZeroFolio() -> Bool {
        let state = hugeZero
        while true {
            // atomic_inc_not_zero()
            var users = state.refcount.load(ordering: .relaxed)
            while users != 0 {
                let (done, seen) = state.refcount.compareExchange(expected: users, desired: users + 1, ordering: .acquiringAndReleasing)
                if done { return true }
                users = seen
            }
            // GFP_TRANSHUGE = GFP_TRANSHUGE_LIGHT (GFP_HIGHUSER_MOVABLE | __GFP_COMP |
            // __GFP_NOMEMALLOC | __GFP_NOWARN, without __GFP_RECLAIM) | __GFP_DIRECT_RECLAIM;
            // its __GFP_MOVABLE removed (__GFP_ZEROTAGS: no memory tags in the model).
            let gfp = GFP.highuser.union([.comp, .nomemalloc, .nowarn, .zero]).subtracting(.kswapdReclaim)
            guard let folio = folioAlloc(gfp, order: Paging.pmdOrder) else { return false }
            // folio_clear_large_rmappable(): "Ensure zero folio won't have large_rmappable flag set."
            if !layout.foliosAreDescriptors, let second = folio.page(1) { second.clearFlag(flagBits.workingset) }
            guard state.pfnWord.compareExchange(expected: -1, desired: folio.pfn, ordering: .acquiringAndReleasing).exchanged else {
                folioPut(folio)
                continue
            }
            // "We take additional reference here. It will be put back by shrinker"
            state.refcount.store(2, ordering: .releasing)
            return true
        }
    }

    /// Linux: `put_huge_zero_folio()`: only the shrinker may drop the last count
    /// (BUG_ON(atomic_dec_and_test()), recorded).
    func putHugeZeroFolio() {
        if hugeZero.refcount.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
            diagnostics.record(Diagnostic(kind: .bug, reason: "put_huge_zero_folio: huge_zero_refcount dropped to 0 (only the shrinker may put the last reference)"))
            hugeZero.refcount.store(1, ordering: .relaxed)
        }
    }

    /// Linux: `mm_get_huge_zero_folio()`: the huge zero folio for `mm`, which takes one
    /// count the first time (MMF_HUGE_ZERO_FOLIO) and none after; nil when it could not
    /// be allocated.
    func mmGetHugeZeroFolio(_ mm: MM) -> Folio? {
        if mm.flags.contains(.hugeZeroFolio) { return hugeZeroFolio }
        guard getHugeZeroFolio() else { return nil }
        if mm.testAndSetFlag(.hugeZeroFolio) { putHugeZeroFolio() }
        return hugeZeroFolio
    }

    /// Linux: `mm_put_huge_zero_folio()`, from `__mmput()` after `exit_mmap()`: the mm's
    /// count, if it took one.
    func mmPutHugeZeroFolio(_ mm: MM) {
        if mm.flags.contains(.hugeZeroFolio) { putHugeZeroFolio() }
    }

    /// Linux: the "thp-zero" shrinker, `shrink_huge_zero_folio_count()` then
    /// `shrink_huge_zero_folio_scan()`: when only the shrinker's own count is left
    /// (no mm uses the folio), the folio is freed. Returns the pages freed (HPAGE_PMD_NR
    /// or 0).
    @discardableResult
    public func shrinkHugeZeroFolio() -> Int {
        guard hugeZero.refcount.compareExchange(expected: 1, desired: 0, ordering: .acquiringAndReleasing).exchanged else { return 0 }
        let folio = hugeZeroFolio
        hugeZero.pfnWord.store(-1, ordering: .releasing)
        guard let folio else {
            diagnostics.record(Diagnostic(kind: .bug, reason: "shrink_huge_zero_folio_scan: BUG_ON(zero_folio == NULL)"))
            return 0
        }
        folioPut(folio)
        return Paging.entries
    }
}

extension UserPageTables {
    /// Linux: `do_huge_pmd_anonymous_page()`'s read-fault arm, when not a write,
    /// `!mm_forbids_zeropage()` (s390 only) and `transparent_hugepage_use_zero_page()`:
    /// map the huge zero folio (`set_huge_zero_folio()`: `folio_mk_pmd(zero_folio,
    /// vma->vm_page_prot)`, which is never writable in a private mapping, made special;
    /// no reference, no rmap, no RSS). nil: the knob is off (the caller goes on to
    /// `__do_huge_pmd_anonymous_page()`). The kernel allocates and deposits the PTE table
    /// a later split needs (pte_alloc_one(), pgtable_trans_huge_deposit()); the model
    /// allocates it at split time (splitHugePMD).
    func hugeZeroFault(_ vma: VMA, address: UInt64, pmd: EntrySlot) -> VMFault? {
        guard machine.thp.useZeroPage else { return nil }
        guard let zero = machine.mmGetHugeZeroFolio(mm) else {
            VMEvents.bump(machine.vmEvents.thpFaultFallback)
            return .fallback
        }
        let table = pmdTablePfn(address)
        lockTable(table)
        if pmd.load().isNone {
            pmd.store(.page(pfn: zero.pfn, writable: false, special: true, huge: true))
        }
        unlockTable(table)
        return []
    }

    /// Linux: `__split_huge_zero_page_pmd()`: the huge zero PMD becomes a table of 512
    /// special, read-only PTEs of the small zero page (`my_zero_pfn()`), under the PMD
    /// lock the caller holds.
    func splitHugeZeroPMD(_ pmd: EntrySlot, into table: Int) {
        let zero = PTE.page(pfn: machine.zeroPagePfn, writable: false, special: true)
        for i in 0..<Paging.entries { slot(table, i).store(zero) }
        pmd.store(.table(pfn: table))
    }

    /// Linux: `copy_huge_pmd()` on a huge zero PMD: the child maps it too and takes its
    /// own count (`mm_get_huge_zero_folio(dst_mm)` "will never allocate a new folio
    /// here"); no reference on the folio, no write-protection needed (it is read-only).
    func copyHugeZeroPMD(dst: UserPageTables, dstPMD: EntrySlot, entry: PTE, address: UInt64) {
        _ = machine.mmGetHugeZeroFolio(dst.mm)
        let dstTable = dst.pmdTablePfn(address)
        dst.lockTable(dstTable)
        dstPMD.store(entry)
        dst.unlockTable(dstTable)
    }

    /// Linux: `do_huge_pmd_wp_page()` on a huge zero PMD -> `do_huge_zero_wp_pmd()`: a
    /// write (or unshare) fault allocates a new zeroed THP (vma_alloc_anon_folio_pmd())
    /// and, if the PMD is unchanged, maps it in place of the huge zero PMD
    /// (`map_anon_folio_pmd_pf()`: exclusive, dirty, writable if VM_WRITE, on the LRU,
    /// THP_FAULT_ALLOC), inside MMU_NOTIFY_CLEAR over the PMD. When no THP can be had, the
    /// huge zero PMD is split into 512 small zero PTEs (`goto fallback`:
    /// __split_huge_pmd()) and the fault goes on at the PTE level (`.fallback`).
    func hugeZeroWPPMD(_ vma: VMA, address: UInt64, pmd: EntrySlot, orig: PTE, flags: FaultFlags) -> VMFault {
        let start = address & Paging.pmdMask
        let gfp = userGFP(flags).union([.comp, .nowarn, .nomemalloc, .zero]).subtracting(.reclaim)
        guard let anonVMA = vmfAnonPrepare(vma, at: address), let folio = machine.folioAlloc(gfp, order: Paging.pmdOrder) else {
            VMEvents.bump(machine.vmEvents.thpFaultFallback)
            splitHugePMD(vma, address: address)
            return .fallback
        }
        return mm.withMMUNotifier(.clear, start: start, end: start &+ Paging.pmdSize, machine: machine) {
            let table = pmdTablePfn(start)
            lockTable(table)
            guard pmd.load() == orig,
                  machine.folioAddNewAnonRmap(folio, anonVMA: anonVMA, index: machine.linearPageIndex(vma, start), pmd: true) else {
                unlockTable(table)
                machine.folioPut(folio)
                return []
            }
            let write = vma.flags.contains(.write)
            pmd.store(.page(pfn: folio.pfn, writable: write, dirty: true, huge: true))
            unlockTable(table)
            machine.folioAddLRU(folio)
            VMEvents.bump(machine.vmEvents.thpFaultAlloc)
            return []
        }
    }
}
