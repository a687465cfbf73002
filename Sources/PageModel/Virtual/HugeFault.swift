// Transparent huge pages on the fault path: thp_vma_allowable_orders() (mm/huge_memory.c,
// include/linux/huge_mm.h), do_huge_pmd_anonymous_page(), do_huge_pmd_wp_page(),
// __split_huge_pmd_locked(), and the mTHP orders of alloc_anon_folio() (mm/memory.c).
import PageLayout
import Synchronization

/// /sys/kernel/mm/transparent_hugepage/enabled.
public enum THPMode: String, Sendable, CaseIterable {
    case always, madvise, never
}

/// The THP sysfs controls of a machine: `enabled` for PMD-sized THPs, the mTHP
/// sizes' `hugepages-<size>kB/enabled` as a bitmask of orders (an order set here is
/// "always"; the kernel's default leaves every mTHP size at "never"), and `use_zero_page`.
public final class THPControls: Sendable {
    private let state = ModelMutex<(mode: THPMode, mthpOrders: UInt32)>((.madvise, 0))
    private let zeroPage = Atomic<Bool>(true)
    init() {}

    /// /sys/kernel/mm/transparent_hugepage/use_zero_page (TRANSPARENT_HUGEPAGE_USE_ZERO_PAGE_FLAG,
    /// set in the default `transparent_hugepage_flags` of mm/huge_memory.c): read faults
    /// in THP-enabled anonymous VMAs map the huge zero folio; off, they allocate a THP
    /// as a write fault does (do_huge_pmd_anonymous_page()).
    public var useZeroPage: Bool {
        get { zeroPage.load(ordering: .relaxed) }
        set { zeroPage.store(newValue, ordering: .relaxed) }
    }

    public var mode: THPMode {
        get { state.withLock { $0.mode } }
        set { state.withLock { $0.mode = newValue } }
    }

    /// Orders 2...8 enabled for anonymous mTHP (bit n = order n).
    public var mthpOrders: UInt32 {
        get { state.withLock { $0.mthpOrders } }
        set { state.withLock { $0.mthpOrders = newValue & 0x1fc } }
    }

    var snapshot: (mode: THPMode, mthpOrders: UInt32) { state.withLock { $0 } }
}

extension UserPageTables {
    /// Linux: `thp_vma_allowable_order(vma, PMD_ORDER)` for the PMD-size fault, and
    /// whether the 2 MiB range around `address` lies inside the VMA.
    func pmdTHPAllowed(_ vma: VMA, address: UInt64) -> Bool {
        guard vma.isAnonymous, !vma.flags.contains(.shared), !vma.flags.contains(.noHugePage) else { return false }
        let settings = machine.thp.snapshot
        guard settings.mode == .always || (settings.mode == .madvise && vma.flags.contains(.hugePage)) else { return false }
        let start = address & Paging.pmdMask
        return start >= vma.start && start + Paging.pmdSize <= vma.end
    }

    /// Linux: `do_huge_pmd_anonymous_page()`: a PMD-mapped order-9 folio for an empty
    /// PMD in a THP-enabled anonymous VMA; a read fault maps the huge zero folio instead
    /// while `use_zero_page` is set (HugeZeroFolio.swift), and allocates the THP like a
    /// write when it is not (`__do_huge_pmd_anonymous_page()`). nil when THP does not apply;
    /// `.fallback` when the allocation failed (thp_fault_fallback) and small pages must
    /// be used.
    func hugeAnonymousFault(_ vma: VMA, address: UInt64, pmd: EntrySlot, flags: FaultFlags) -> VMFault? {
        guard pmdTHPAllowed(vma, address: address) else { return nil }
        guard let anonVMA = vmfAnonPrepare(vma, at: address) else { return .oom }
        // With use_zero_page off, a read fault allocates the THP as a write would.
        if !flags.contains(.write), let result = hugeZeroFault(vma, address: address, pmd: pmd) { return result }
        let gfp = userGFP(flags).union([.comp, .nowarn, .nomemalloc, .zero]).subtracting(.reclaim)
        guard let folio = machine.folioAlloc(gfp, order: Paging.pmdOrder) else {
            VMEvents.bump(machine.vmEvents.thpFaultFallback)
            return .fallback
        }
        let start = address & Paging.pmdMask
        let pmdTable = pmdTablePfn(start)
        lockTable(pmdTable)
        guard pmd.load().isNone,
              machine.folioAddNewAnonRmap(folio, anonVMA: anonVMA, index: machine.linearPageIndex(vma, start), pmd: true) else {
            unlockTable(pmdTable)
            machine.folioPut(folio)
            return pmd.load().isNone ? .oom : []
        }
        pmd.store(.page(pfn: folio.pfn, writable: vma.flags.contains(.write), dirty: true, huge: true))
        unlockTable(pmdTable)
        machine.folioAddLRU(folio)
        VMEvents.bump(machine.vmEvents.thpFaultAlloc)
        return []
    }

    /// The pfn of the PMD table that maps `address` (its ptl is the huge PMD's lock,
    /// pmd_lockptr()). The table must exist.
    func pmdTablePfn(_ address: UInt64) -> Int {
        let pud = slot(pgdPfn, Paging.index(address, Paging.pgdShift)).load()
        return slot(pud.pfn, Paging.index(address, Paging.pudShift)).load().pfn
    }

    /// A fault on a huge PMD: a write or unshare on a read-only one goes to
    /// `hugePMDWPPage`; anything else has nothing to do here.
    func hugePMDFault(_ vma: VMA, address: UInt64, pmd: EntrySlot, entry: PTE, flags: FaultFlags) -> VMFault {
        guard flags.contains(.write) || flags.contains(.unshare) else { return [] }
        if entry.isWritable && !flags.contains(.unshare) { return [] }
        if machine.isHugeZeroPMD(entry) { return hugeZeroWPPMD(vma, address: address, pmd: pmd, orig: entry, flags: flags) }
        return hugePMDWPPage(vma, address: address, pmd: pmd, orig: entry, unshare: flags.contains(.unshare))
    }

    /// Linux: `do_huge_pmd_wp_page()` [mm/huge_memory.c]: under the PMD lock, an
    /// anonymous THP whose head page (`pmd_page()`) is PageAnonExclusive is reused; else,
    /// with the folio locked (the PMD lock dropped while waiting for it, and the PMD
    /// checked again), a folio nobody else holds (`folio_ref_count() == 1`: the child
    /// that shared it has gone) is made exclusive (`SetPageAnonExclusive(head)`) and
    /// reused. Reuse for an unshare changes nothing; for a write the PMD becomes young,
    /// dirty and writable. Otherwise the PMD is split and the fault handled on the PTEs
    /// (`.fallback`). Deliberately, `folio_move_anon_rmap()` is not done (the folio
    /// stays on its anon_vma, as in the model's small-folio reuse), and a folio in the
    /// swap cache is never reused (the model splits a PMD before swap-out, so none is
    /// PMD-mapped).
    func hugePMDWPPage(_ vma: VMA, address: UInt64, pmd: EntrySlot, orig: PTE, unshare: Bool) -> VMFault {
        guard let folio = normalFolio(orig), machine.folioIsAnon(folio) else {
            splitHugePMD(vma, address: address)
            return .fallback
        }
        let head = folio.headPage
        let table = pmdTablePfn(address)
        func reuse() -> VMFault {
            if !unshare {
                var entry = PTE(rawValue: orig.rawValue | PTE.accessed | PTE.dirty)   // pmd_mkyoung(), pmd_mkdirty()
                if vma.flags.contains(.write) { entry = entry.madeWritableDirty }      // maybe_pmd_mkwrite()
                pmd.store(entry)
            }
            unlockTable(table)
            return []
        }
        lockTable(table)
        guard pmd.load() == orig else { unlockTable(table); return [] }
        // Early check when only holding the PT lock.
        if machine.pageAnonExclusive(head, folio: folio) { return reuse() }
        if !folio.tryLock() {
            folio.get()
            unlockTable(table)
            folio.lock()
            lockTable(table)
            guard pmd.load() == orig else {
                unlockTable(table)
                folio.unlock()
                machine.folioPut(folio)
                return []
            }
            machine.folioPut(folio)
        }
        // Recheck after temporarily dropping the PT lock.
        if machine.pageAnonExclusive(head, folio: folio) {
            folio.unlock()
            return reuse()
        }
        if !machine.swap.cache.contains(folio), folio.refcount == 1 {
            machine.setPageAnonExclusive(head, folio: folio, true)
            folio.unlock()
            return reuse()
        }
        folio.unlock()
        unlockTable(table)
        splitHugePMD(vma, address: address)
        return .fallback
    }

    /// Linux: `split_huge_pmd()` / `__split_huge_pmd_locked()`: replace the huge PMD
    /// covering `address` by a PTE table mapping the same 512 pages with the same
    /// permissions; the folio's PMD mapping becomes 512 PTE mappings (the per-page
    /// mapcounts and PageAnonExclusive of every page follow the head's), holding 512
    /// references. The kernel deposits the table at fault time so a split cannot fail;
    /// the model allocates it here, and leaves the PMD whole if no page is left
    /// (recorded).
    ///
    /// `__split_huge_pmd()` brackets the split with MMU_NOTIFY_CLEAR over the PMD's
    /// whole range, `[address & HPAGE_PMD_MASK, + HPAGE_PMD_SIZE)`, nested in the
    /// caller's own bracket where it has one (zap_pmd_range()). `notify: false` is
    /// `split_huge_pmd_locked()`, which try_to_unmap_one()/try_to_migrate_one() call
    /// inside their own MMU_NOTIFY_CLEAR over the folio (no second notification), or a
    /// caller that notified already (split_huge_pmd_address(): vmaBoundaryWillMove).
    @discardableResult
    func splitHugePMD(_ vma: VMA, address: UInt64, notify: Bool = true) -> Bool {
        let start = address & Paging.pmdMask
        guard let pmd = pmdSlot(start, allocate: false), pmd.load().isHugeEntry else { return true }
        guard notify else { return splitHugePMDLocked(vma, start: start, pmd: pmd) }
        return mm.withMMUNotifier(.clear, start: start, end: start &+ Paging.pmdSize, machine: machine) {
            splitHugePMDLocked(vma, start: start, pmd: pmd)
        }
    }

    /// Linux: `split_huge_pmd_locked()` (the model takes the PMD's table lock itself).
    private func splitHugePMDLocked(_ vma: VMA, start: UInt64, pmd: EntrySlot) -> Bool {
        guard let tablePage = machine.pagetableAlloc(Self.gfp) else {
            machine.diagnostics.record(Diagnostic(kind: .warn, reason: "split_huge_pmd: no page for the PTE table (the kernel deposits one at fault time)"))
            return false
        }
        initPtl(tablePage.pfn)
        let pmdTable = pmdTablePfn(start)
        lockTable(pmdTable)
        let entry = pmd.load()
        guard entry.isHugeEntry else {
            unlockTable(pmdTable)
            machine.pagetableFree(tablePage)
            return true
        }
        if !entry.isPresent {
            // A device-private THP or a PMD migration entry (Device/DevicePrivatePMD.swift).
            if entry.isDevicePrivate { splitDevicePrivatePMD(entry, into: tablePage.pfn) } else { splitMigrationPMD(entry, into: tablePage.pfn) }
            pmd.store(.table(pfn: tablePage.pfn))
            unlockTable(pmdTable)
            VMEvents.bump(machine.vmEvents.thpSplitPmd)
            return true
        }
        if machine.isHugeZeroPMD(entry) {
            splitHugeZeroPMD(pmd, into: tablePage.pfn)
            unlockTable(pmdTable)
            VMEvents.bump(machine.vmEvents.thpSplitPmd)
            return true
        }
        if let folio = normalFolio(entry) {
            let exclusive = machine.folioIsAnon(folio) && machine.pageAnonExclusive(folio.headPage, folio: folio)
            folio.refAdd(Int32(folio.nrPages - 1))
            machine.folioAddRmapPTEs(folio, firstPfn: folio.pfn, nr: folio.nrPages)
            machine.folioRemoveRmapPMD(folio)
            if exclusive {
                for i in 0..<folio.nrPages { machine.setPageAnonExclusive(Page(unchecked: folio.pfn + i, machine.context), folio: folio, true) }
            }
        }
        for i in 0..<Paging.entries {
            slot(tablePage.pfn, i).store(.page(pfn: entry.pfn + i, writable: entry.isWritable, dirty: entry.isDirty))
        }
        pmd.store(.table(pfn: tablePage.pfn))
        unlockTable(pmdTable)
        VMEvents.bump(machine.vmEvents.thpSplitPmd)
        return true
    }

    /// Linux: `alloc_anon_folio()`'s mTHP orders: the highest enabled order whose
    /// naturally aligned range lies in the VMA with every PTE empty gets one folio,
    /// mapped by all its PTEs; nil when no mTHP order applies (order 0 follows), falling
    /// back order by order when an allocation fails.
    func mthpAnonymousFault(_ vma: VMA, anonVMA: AnonVMA, address: UInt64, table: Int, flags: FaultFlags) -> VMFault? {
        let settings = machine.thp.snapshot
        guard settings.mthpOrders != 0, settings.mode != .never, !vma.flags.contains(.noHugePage) else { return nil }
        for order in stride(from: Paging.pmdOrder - 1, through: 2, by: -1) where settings.mthpOrders & (1 << UInt32(order)) != 0 {
            let size = UserVM.pageSize << UInt64(order)
            let start = address & ~(size - 1)
            guard start >= vma.start, start + size <= vma.end else { continue }
            let first = Paging.index(start, Paging.pageShift), nr = 1 << order
            guard (0..<nr).allSatisfy({ slot(table, first + $0).load().isNone }) else { continue }
            let gfp = userGFP(flags).union([.comp, .nowarn, .zero])
            guard let folio = machine.folioAlloc(gfp, order: order) else {
                VMEvents.bump(machine.vmEvents.thpFaultFallback)
                continue
            }
            lockTable(table)
            guard (0..<nr).allSatisfy({ slot(table, first + $0).load().isNone }),
                  machine.folioAddNewAnonRmap(folio, anonVMA: anonVMA, index: machine.linearPageIndex(vma, start), pmd: false) else {
                unlockTable(table)
                machine.folioPut(folio)
                return []
            }
            folio.refAdd(Int32(nr - 1))
            for i in 0..<nr {
                slot(table, first + i).store(.page(pfn: folio.pfn + i, writable: vma.flags.contains(.write), dirty: true))
            }
            unlockTable(table)
            machine.folioAddLRU(folio)
            VMEvents.bump(machine.vmEvents.thpFaultAlloc)
            return []
        }
        return nil
    }
}
