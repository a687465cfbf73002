// MADV_COLLAPSE: madvise_collapse() -> hpage_collapse_scan_pmd() / collapse_huge_page()
// (mm/khugepaged.c, v6.19) for anonymous memory, with madvise_collapse_errno().

extension UserPageTables {
    /// Linux: `collapse_huge_page()` for the PMD-aligned 2 MiB at `address`: every PTE
    /// must be empty, the zero page, or an order-0 anonymous page with no reference
    /// beyond its mappings (a pinned page is SCAN_PAGE_COUNT: EAGAIN; pages shared with a
    /// fork child are copied, the child keeps its own); the bytes move into a new
    /// PMD-mapped THP, exclusive to this mm, and the PTE table is freed. Already huge: nothing
    /// to do. Errors as madvise_collapse_errno(): ENOMEM when no THP can be allocated,
    /// EAGAIN for pages in use, EINVAL for what cannot be collapsed (a file VMA, swap).
    func collapseHugePage(_ vma: VMA, address: UInt64) throws(Errno) {
        guard vma.isAnonymous, !vma.flags.contains(.shared) else { throw Errno.EINVAL }
        // An empty PMD is SCAN_PMD_NULL, which madvise_collapse_errno() makes EINVAL.
        guard let pmd = pmdSlot(address, allocate: false) else { throw Errno.EINVAL }
        let pmdEntry = pmd.load()
        if pmdEntry.isLeaf { return }
        guard pmdEntry.isPresent else { throw Errno.EINVAL }
        guard let anonVMA = mm.lockedAnonVMAPrepare(at: address) else { throw Errno.ENOMEM }
        var old: [PTE] = Array(repeating: PTE(rawValue: 0), count: Paging.entries)
        do {
            for i in 0..<Paging.entries {
                let entry = slot(pmdEntry.pfn, i).load()
                old[i] = entry
                if entry.isNone { continue }
                guard entry.isPresent else { throw Errno.EAGAIN }           // swap or migration entries
                if entry.isSpecial && machine.isZeroPfn(entry.pfn) { continue }
                guard let folio = normalFolio(entry), machine.folioIsAnon(folio), !folio.isLarge else { throw Errno.EINVAL }
                // is_refcount_suitable(): no reference beyond the mappings (a pin has one).
                guard folio.refcount == Int32(machine.folioMapcount(folio)) else { throw Errno.EAGAIN }
            }
        }
        let gfp = GFP.highuserMovable.union([.comp, .nowarn])
        guard let huge = machine.folioAlloc(gfp, order: Paging.pmdOrder) else { throw Errno.ENOMEM }
        for i in 0..<Paging.entries {
            let entry = old[i]
            if entry.isPresent && !entry.isSpecial { machine.frames.copy(from: entry.pfn, to: huge.pfn + i) }
            else { machine.frames.clear(pfn: huge.pfn + i) }
        }
        let pmdTable = pmdTablePfn(address)
        lockTable(pmdTable)
        if pmdEntry.isPresent { lockTable(pmdEntry.pfn) }
        var unchanged = pmd.load() == pmdEntry
        if unchanged, pmdEntry.isPresent {
            for i in 0..<Paging.entries where slot(pmdEntry.pfn, i).load() != old[i] { unchanged = false; break }
        }
        guard unchanged, machine.folioAddNewAnonRmap(huge, anonVMA: anonVMA, index: machine.linearPageIndex(vma, address & Paging.pmdMask), pmd: true) else {
            if pmdEntry.isPresent { unlockTable(pmdEntry.pfn) }
            unlockTable(pmdTable)
            machine.folioPut(huge)
            throw Errno.EAGAIN
        }
        var freed: [Folio] = []
        if pmdEntry.isPresent {
            for i in 0..<Paging.entries {
                let entry = slot(pmdEntry.pfn, i).getAndClear()
                if entry.isPresent, let folio = normalFolio(entry) {
                    machine.folioRemoveRmapPTEs(folio, firstPfn: entry.pfn, nr: 1)
                    freed.append(folio)
                }
            }
            unlockTable(pmdEntry.pfn)
        }
        pmd.store(.page(pfn: huge.pfn, writable: vma.flags.contains(.write), dirty: true, huge: true))
        unlockTable(pmdTable)
        if pmdEntry.isPresent { machine.tableRCU.free(pmdEntry.pfn, machine: machine) }
        for folio in freed { machine.folioPut(folio) }
        machine.folioAddLRU(huge)
        VMEvents.bump(machine.vmEvents.thpCollapse)
    }
}
