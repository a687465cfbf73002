// The page-table side of the VMA operations (VMAPageOps): what munmap(), mprotect(),
// mremap(), madvise() and mlock() do to PTEs. Mirrors unmap_vmas()/free_pgtables()
// (mm/memory.c), change_protection() (mm/mprotect.c), move_page_tables() (mm/mremap.c),
// madvise_dontneed_free()/madvise_pageout()/madvise_populate() (mm/madvise.c),
// vma_adjust_trans_huge() (mm/huge_memory.c).

extension UserPageTables: VMAPageOps {
    /// Linux: `split_huge_pmd_if_needed()`: an unaligned boundary whose whole PMD lies in
    /// the VMA (`range_in_vma()`) goes through `split_huge_pmd_address()`, whose
    /// `__split_huge_pmd()` notifies MMU_NOTIFY_CLEAR over the PMD wherever
    /// `mm_find_pmd()` finds one (a PMD table exists), huge or not.
    public func vmaBoundaryWillMove(_ vma: VMA, to addr: UInt64) {
        let start = addr & Paging.pmdMask
        guard addr & ~Paging.pmdMask != 0, start >= vma.start, start &+ Paging.pmdSize <= vma.end,
              pmdSlot(start, allocate: false) != nil else { return }
        mm.withMMUNotifier(.clear, start: start, end: start &+ Paging.pmdSize, machine: machine) {
            splitHugePMD(vma, address: addr, notify: false)
        }
    }

    public func unmapRange(_ vma: VMA, start: UInt64, end: UInt64) {
        zapRange(vma, start: start, end: end, dropMarkers: true)
    }

    public func freePageTables(start: UInt64, end: UInt64, floor: UInt64, ceiling: UInt64) {
        freeTables(start: start, end: end, floor: floor, ceiling: ceiling)
    }

    /// Linux: `change_protection()`: present PTEs lose write permission when the VMA
    /// lost VM_WRITE; gaining VM_WRITE leaves PTEs read-only (the next write faults and
    /// reuses or copies, as `can_change_pte_writable()` allows only exclusive anon pages
    /// to be made writable at once: the model makes those writable too).
    public func changeProtection(_ vma: VMA, start: UInt64, end: UInt64) {
        mm.withMMUNotifier(.protectionVMA, start: start, end: end, machine: machine) {
            changeProtectionNotified(vma, start: start, end: end)
        }
    }

    private func changeProtectionNotified(_ vma: VMA, start: UInt64, end: UInt64) {
        let writable = vma.flags.contains(.write)
        forEachPresentPTE(vma, start: start, end: end, nonPresent: readOnlyDevicePrivateEntry,
                          wholeNonPresentPMD: changeNonPresentHugePMD) { pte, entry in
            if !writable {
                if entry.isWritable { pte.store(entry.wrprotected) }
            } else if !entry.isWritable, !vma.flags.contains(.shared), let folio = normalFolio(entry),
                      machine.folioIsAnon(folio), machine.pageAnonExclusive(Page(unchecked: entry.pfn, machine.context), folio: folio) {
                pte.store(entry.madeWritableDirty)
            }
        }
    }

    /// Linux: `move_page_tables()`: every entry of the old range moves to the new one
    /// (huge PMDs are split first unless both ends are PMD aligned; the model splits
    /// them). Anonymous folios keep their index (mremap moves vm_pgoff with the VMA).
    public func movePageTables(from: VMA, oldAddr: UInt64, to: VMA, newAddr: UInt64, length: UInt64) -> UInt64 {
        mm.withMMUNotifier(.unmap, start: oldAddr, end: oldAddr &+ length, machine: machine) {
            movePageTablesNotified(from: from, oldAddr: oldAddr, to: to, newAddr: newAddr, length: length)
        }
    }

    private func movePageTablesNotified(from: VMA, oldAddr: UInt64, to: VMA, newAddr: UInt64, length: UInt64) -> UInt64 {
        var offset: UInt64 = 0
        while offset < length {
            let src = oldAddr + offset, dst = newAddr + offset
            offset += UserVM.pageSize
            guard let pmd = pmdSlot(src, allocate: false) else { continue }
            if pmd.load().isHugeEntry { splitHugePMD(from, address: src) }
            let srcTable = pmd.load()
            guard srcTable.isPresent, !srcTable.isLeaf else { continue }
            let srcPTE = slot(srcTable.pfn, Paging.index(src, Paging.pageShift))
            guard !srcPTE.load().isNone else { continue }
            guard let dstPMD = pmdSlot(dst, allocate: true), let dstTable = lowerTable(dstPMD, allocate: true) else { return offset - UserVM.pageSize }
            lockTable(srcTable.pfn)
            let entry = srcPTE.getAndClear()
            unlockTable(srcTable.pfn)
            lockTable(dstTable)
            slot(dstTable, Paging.index(dst, Paging.pageShift)).store(entry)
            unlockTable(dstTable)
        }
        return length
    }

    public func advise(_ advice: Advice, _ vma: VMA, start: UInt64, end: UInt64) throws(Errno) {
        switch advice {
        case .dontNeed, .dontNeedLocked:
            zapRange(vma, start: start, end: end, dropMarkers: false)
        case .free:
            lazyFree(vma, start: start, end: end)
        case .pageOut, .cold:
            if advice == .pageOut { reclaimMapped(vma, start: start, end: end) }
        case .populateRead, .populateWrite:
            try populateRange(vma, start: start, end: end, write: advice == .populateWrite)
        case .willNeed, .remove:
            if advice == .remove { zapRange(vma, start: start, end: end, dropMarkers: false) }
        case .guardInstall:
            installGuards(vma, start: start, end: end)
        case .guardRemove:
            removeGuards(start: start, end: end)
        default:
            break
        }
    }

    public func collapse(_ vma: VMA, start: UInt64, end: UInt64) throws(Errno) {
        var addr = start
        while addr < end {
            try collapseHugePage(vma, address: addr)
            addr += Paging.pmdSize
        }
    }

    public func mlockRange(_ vma: VMA, start: UInt64, end: UInt64) {
        let lock = vma.flags.contains(.locked)
        forEachPresentPTE(vma, start: start, end: end) { _, entry in
            guard let folio = normalFolio(entry) else { return }
            if lock { folio.setFlag(machine.flagBits.mlocked) } else { folio.clearFlag(machine.flagBits.mlocked) }
        }
    }

    public func populate(start: UInt64, end: UInt64) {
        var addr = start
        while addr < end {
            guard let vma = mm.lockedVMALookup(addr) else { addr += UserVM.pageSize; continue }
            let stop = min(end, vma.end)
            let write = vma.flags.contains(.write) && !vma.flags.contains(.shared)
            try? populateRange(vma, start: addr, end: stop, write: write)
            addr = stop
        }
    }

    // MARK: Helpers

    /// Runs `body` on every present PTE in `[start, end)` under its table's lock
    /// (huge PMDs in the range are split first).
    /// `nonPresent`, when given, sees every other entry that is not pte_none;
    /// `wholeNonPresentPMD`, when given, a non-present huge PMD (a device-private THP, a
    /// PMD migration entry) that the range covers whole, under the PMD lock, instead of
    /// its being split.
    func forEachPresentPTE(_ vma: VMA, start: UInt64, end: UInt64, nonPresent: ((EntrySlot, PTE) -> Void)? = nil,
                           wholeNonPresentPMD: ((EntrySlot, PTE) -> Void)? = nil,
                           _ body: (EntrySlot, PTE) -> Void) {
        var addr = start
        while addr < end {
            let next = min((addr & Paging.pmdMask) &+ Paging.pmdSize, end)
            defer { addr = next }
            guard let pmd = pmdSlot(addr, allocate: false) else { continue }
            if let wholeNonPresentPMD, pmd.load().isPMDSoftLeaf, next &- addr == Paging.pmdSize {
                let table = pmdTablePfn(addr)
                lockTable(table)
                let entry = pmd.load()
                if entry.isPMDSoftLeaf { wholeNonPresentPMD(pmd, entry) }
                unlockTable(table)
                if entry.isPMDSoftLeaf { continue }
            }
            if pmd.load().isHugeEntry { splitHugePMD(vma, address: addr) }
            let entry = pmd.load()
            guard entry.isPresent, !entry.isLeaf else { continue }
            lockTable(entry.pfn)
            let first = Paging.index(addr, Paging.pageShift)
            for i in 0..<Int((next - addr) >> Paging.pageShift) {
                let pte = slot(entry.pfn, first + i)
                let value = pte.load()
                if value.isPresent { body(pte, value) } else if let nonPresent, !value.isNone { nonPresent(pte, value) }
            }
            unlockTable(entry.pfn)
        }
    }

    /// Linux: `madvise_populate()` / `faultin_page()` over a range.
    func populateRange(_ vma: VMA, start: UInt64, end: UInt64, write: Bool) throws(Errno) {
        var addr = start
        while addr < end {
            let fault = handleFault(vma, address: addr, flags: write ? [.write] : [])
            if fault.contains(.oom) { throw Errno.ENOMEM }
            if fault.contains(.sigbus) || fault.contains(.sigsegv) || fault.contains(.hwpoison) { throw Errno.EFAULT }
            if !fault.contains(.retry) { addr += UserVM.pageSize }
        }
    }

    /// Linux: `madvise_free_pte_range()`: exclusive anonymous pages become lazily freeable:
    /// clean and old, off the swap-backed LRU (PG_swapbacked cleared), so reclaim may drop
    /// them without swapping unless they are written again.
    func lazyFree(_ vma: VMA, start: UInt64, end: UInt64) {
        guard vma.isAnonymous else { return }
        forEachPresentPTE(vma, start: start, end: end) { pte, entry in
            guard let folio = normalFolio(entry), machine.folioIsAnon(folio), !folio.isLarge,
                  machine.folioMapcount(folio) == 1 else { return }
            pte.store(entry.madeCleanOld)
            folio.clearFlag(machine.flagBits.dirty)
            folio.clearFlag(machine.flagBits.swapbacked)
        }
    }

    /// Linux: `madvise_guard_install()`: PTE_MARKER_GUARD in every empty PTE (present pages
    /// are zapped first, as the kernel retries after zapping).
    func installGuards(_ vma: VMA, start: UInt64, end: UInt64) {
        zapRange(vma, start: start, end: end, dropMarkers: false)
        var addr = start
        while addr < end {
            defer { addr += UserVM.pageSize }
            guard let pmd = pmdSlot(addr, allocate: true), let table = lowerTable(pmd, allocate: true) else { continue }
            lockTable(table)
            let pte = slot(table, Paging.index(addr, Paging.pageShift))
            if pte.load().isNone { pte.store(.marker(.guardRegion)) }
            unlockTable(table)
        }
    }

    /// Linux: `madvise_guard_remove()`.
    func removeGuards(start: UInt64, end: UInt64) {
        var addr = start
        while addr < end {
            defer { addr += UserVM.pageSize }
            _ = withPTELock(addr) { pte, _ in
                let entry = pte.load()
                if entry.softLeaf == .marker, PTEMarker(rawValue: entry.swapEntry?.offset ?? 0).contains(.guardRegion) {
                    pte.store(PTE(rawValue: 0))
                }
            }
        }
    }
}
