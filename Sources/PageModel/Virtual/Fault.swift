// Page faults: handle_mm_fault() and what it calls in mm/memory.c (v6.19):
// __handle_mm_fault(), handle_pte_fault(), do_anonymous_page(), do_fault()
// (do_read_fault(), do_cow_fault(), do_shared_fault()), do_wp_page() (wp_page_reuse(),
// wp_page_copy(), wp_page_shared(), wp_can_reuse_anon_folio()), do_swap_page() and
// migration_entry_wait(); the THP entry in mm/huge_memory.c is in HugeFault.swift.
import PageLayout

extension UserPageTables {
    /// GFP_HIGHUSER_MOVABLE, without __GFP_MOVABLE inside a memalloc_pin scope
    /// (current_gfp_context()).
    @inline(__always)
    func userGFP(_ flags: FaultFlags) -> GFP {
        flags.contains(.memallocPin) ? GFP.highuser : GFP.highuserMovable
    }

    /// Linux: `handle_mm_fault()`. The caller holds the mmap_lock for read and has
    /// checked the access against the VMA (access_error()). Returns the kernel's
    /// vm_fault_t; `.retry` means the caller must look again (a migration entry, a lost
    /// race), as the kernel's fault path re-executes the instruction.
    public func handleFault(_ vma: VMA, address: UInt64, flags: FaultFlags) -> VMFault {
        VMEvents.bump(machine.vmEvents.faults)
        let address = address & ~(UserVM.pageSize - 1)
        guard let pmd = pmdSlot(address, allocate: true) else { return .oom }
        var pmdEntry = pmd.load()
        if pmdEntry.isNone, let result = hugeAnonymousFault(vma, address: address, pmd: pmd, flags: flags) {
            if result != .fallback { return result }
            pmdEntry = pmd.load()
        }
        if pmdEntry.isLeaf {
            let result = hugePMDFault(vma, address: address, pmd: pmd, entry: pmdEntry, flags: flags)
            if result != .fallback { return result }
        } else if pmdEntry.isDevicePrivate {
            return doHugePMDDevicePrivate(vma, address: address, pmd: pmd, entry: pmdEntry, flags: flags)
        } else if !pmdEntry.isNone, !pmdEntry.isPresent {
            // A PMD migration entry: wait for the migration to finish.
            sched_yield_model()
            return .retry
        }
        guard let table = lowerTable(pmd, allocate: true) else { return pmd.load().isLeaf ? .retry : .oom }
        return handlePTEFault(vma, address: address, table: table, flags: flags)
    }

    /// Linux: `handle_pte_fault()`.
    func handlePTEFault(_ vma: VMA, address: UInt64, table: Int, flags: FaultFlags) -> VMFault {
        let pte = slot(table, Paging.index(address, Paging.pageShift))
        let entry = pte.load()
        if entry.isNone {
            return vma.isAnonymous ? doAnonymousPage(vma, address: address, pte: pte, table: table, flags: flags)
                                   : doFault(vma, address: address, pte: pte, table: table, flags: flags)
        }
        if !entry.isPresent { return doSwapPage(vma, address: address, pte: pte, table: table, entry: entry, flags: flags) }
        if flags.contains(.write) || flags.contains(.unshare) {
            if !entry.isWritable || flags.contains(.unshare) {
                return doWPPage(vma, address: address, pte: pte, table: table, orig: entry, flags: flags)
            }
            // A writable PTE: a spurious fault; the hardware sets dirty and young.
            lockTable(table)
            if pte.load() == entry { pte.store(entry.madeWritableDirty) }
            unlockTable(table)
        }
        return []
    }

    // MARK: Anonymous memory

    /// Linux: `vmf_anon_prepare()`: a fault's anon_vma, from the VMA itself when it has
    /// one already (every fault after the first), else `anon_vma_prepare()`. The mm is
    /// read only then: each read of the unretained `mm` retains and releases it, and
    /// since `owner` is weak the mm has a side table, so both take the runtime's slow
    /// path (about 170 instructions per anonymous fault when read every time).
    @inline(__always)
    func vmfAnonPrepare(_ vma: VMA, at addr: UInt64) -> AnonVMA? { vma.anonVMA ?? mm.lockedAnonVMAPrepare(at: addr) }

    /// Linux: `do_anonymous_page()`: a read maps the shared zero page (special,
    /// read-only); a write maps a new zeroed folio (an mTHP order where allowed, else
    /// order 0), exclusive, on the LRU.
    func doAnonymousPage(_ vma: VMA, address: UInt64, pte: EntrySlot, table: Int, flags: FaultFlags) -> VMFault {
        if vma.flags.contains(.shared) { return .sigbus }   // shared anonymous VMAs have a shmem file
        guard let anonVMA = vmfAnonPrepare(vma, at: address) else { return .oom }
        if !flags.contains(.write) {
            let zero = PTE.page(pfn: machine.zeroPagePfn, writable: false, special: true)
            lockTable(table)
            defer { unlockTable(table) }
            guard pte.load().isNone else { return [] }
            pte.store(zero)
            VMEvents.bump(machine.vmEvents.zeroPageFaults)
            return []
        }
        if let result = mthpAnonymousFault(vma, anonVMA: anonVMA, address: address, table: table, flags: flags) { return result }
        guard let folio = machine.folioAlloc(userGFP(flags).union(.zero)) else { return .oom }
        lockTable(table)
        guard pte.load().isNone else {
            unlockTable(table)
            machine.folioPut(folio)
            return []
        }
        guard machine.folioAddNewAnonRmap(folio, anonVMA: anonVMA, index: machine.linearPageIndex(vma, address), pmd: false) else {
            unlockTable(table)
            machine.folioPut(folio)
            return .oom
        }
        pte.store(.page(pfn: folio.pfn, writable: vma.flags.contains(.write), dirty: true))
        unlockTable(table)
        machine.folioAddLRU(folio)
        return []
    }

    // MARK: Write-protect faults and COW

    /// The folio a present PTE maps, nil for special entries (the zero page, PFN maps).
    /// Linux: `vm_normal_folio()`.
    @inline(__always)
    func normalFolio(_ entry: PTE) -> Folio? {
        guard !entry.isSpecial, let page = machine.memmap.page(entry.pfn) else { return nil }
        return machine.pageFolio(page)
    }

    /// Linux: `do_wp_page()`: a write (or an unshare request) hit a present PTE that
    /// does not allow it. Shared mappings make the page writable and dirty
    /// (wp_page_shared()); an exclusive anonymous page is reused (wp_page_reuse()), as is
    /// one that `wp_can_reuse_anon_folio()` proves exclusive; anything else is copied
    /// (wp_page_copy()).
    func doWPPage(_ vma: VMA, address: UInt64, pte: EntrySlot, table: Int, orig: PTE, flags: FaultFlags) -> VMFault {
        let unshare = flags.contains(.unshare) && !flags.contains(.write)
        let folio = normalFolio(orig)
        if vma.flags.contains(.shared) {
            if unshare { return [] }
            guard let folio else { return .sigbus }
            if let mapping = fileMapping(vma) { _ = mapping.folioMarkDirty(folio) }
            lockTable(table)
            if pte.load() == orig { pte.store(orig.madeWritableDirty) }
            unlockTable(table)
            return []
        }
        if let folio, machine.folioIsAnon(folio) {
            let page = Page(unchecked: orig.pfn, machine.context)
            // do_wp_page() decides under the PTE lock (vmf->ptl): the mapping's reference
            // keeps the folio alive while wp_can_reuse_anon_folio() locks it, and nobody
            // can unmap (migrate, reclaim, zap) it meanwhile. Without the lock the folio
            // could be freed while locked here (bad_page with PG_locked).
            lockTable(table)
            guard pte.load() == orig else {
                unlockTable(table)
                return []
            }
            if machine.pageAnonExclusive(page, folio: folio) || canReuseAnonFolio(folio, page: page) {
                if !unshare { pte.store(orig.madeWritableDirty) }
                unlockTable(table)
                if !unshare { VMEvents.bump(machine.vmEvents.cowReuses) }
                return []
            }
            unlockTable(table)
        } else if unshare && folio != nil && !vma.flags.contains(.mayWrite) {
            // Unsharing a file page in a mapping that can never be written: nothing to do
            // (gup_must_unshare() only asks for COW mappings).
            return []
        }
        return wpPageCopy(vma, address: address, pte: pte, table: table, orig: orig, old: folio, flags: flags, unshare: unshare)
    }

    /// Linux: `wp_can_reuse_anon_folio()`: a small folio mapped only here, with no other
    /// reference, may be reused (and becomes exclusive again). Large folios are copied.
    func canReuseAnonFolio(_ folio: Folio, page: Page) -> Bool {
        guard !folio.isLarge, folio.refcount == 1, machine.folioMapcount(folio) == 1 else { return false }
        guard folio.tryLock() else { return false }
        defer { folio.unlock() }
        guard folio.refcount == 1, machine.folioMapcount(folio) == 1 else { return false }
        machine.setPageAnonExclusive(page, folio: folio, true)
        return true
    }

    /// Linux: `wp_page_copy()`: a new exclusive anonymous folio with the old page's bytes
    /// (zeroes for the zero page) replaces the old mapping; the old folio loses a mapping
    /// and the reference it held. For an unshare the new entry stays read-only.
    func wpPageCopy(_ vma: VMA, address: UInt64, pte: EntrySlot, table: Int, orig: PTE, old: Folio?,
                    flags: FaultFlags, unshare: Bool) -> VMFault {
        guard let anonVMA = vmfAnonPrepare(vma, at: address) else { return .oom }
        let zero = old == nil && machine.isZeroPfn(orig.pfn)
        guard let new = machine.folioAlloc(zero ? userGFP(flags).union(.zero) : userGFP(flags)) else { return .oom }
        if !zero { machine.frames.copy(from: orig.pfn, to: new.pfn) }
        let page = address & ~(UserVM.pageSize - 1)
        return mm.withMMUNotifier(.clear, start: page, end: page &+ UserVM.pageSize, machine: machine) {
            wpPageCopyInstall(vma, address: address, pte: pte, table: table, orig: orig, old: old, new: new,
                              anonVMA: anonVMA, unshare: unshare)
        }
    }

    /// The locked half of `wp_page_copy()`, inside its MMU_NOTIFY_CLEAR bracket.
    private func wpPageCopyInstall(_ vma: VMA, address: UInt64, pte: EntrySlot, table: Int, orig: PTE, old: Folio?, new: Folio,
                                   anonVMA: AnonVMA, unshare: Bool) -> VMFault {
        lockTable(table)
        guard pte.load() == orig else {
            unlockTable(table)
            machine.folioPut(new)
            return []
        }
        guard machine.folioAddNewAnonRmap(new, anonVMA: anonVMA, index: machine.linearPageIndex(vma, address), pmd: false) else {
            unlockTable(table)
            machine.folioPut(new)
            return .oom
        }
        let writable = !unshare && vma.flags.contains(.write)
        pte.store(.page(pfn: new.pfn, writable: writable, dirty: writable))
        if let old { machine.folioRemoveRmapPTEs(old, firstPfn: orig.pfn, nr: 1) }
        unlockTable(table)
        machine.folioAddLRU(new)
        if let old { machine.folioPut(old) }
        if unshare { VMEvents.bump(machine.vmEvents.unshareCopies) } else { VMEvents.bump(machine.vmEvents.cowCopies) }
        return []
    }
}
