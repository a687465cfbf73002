// Tearing mappings down: unmap_page_range() / zap_pmd_range() / zap_pte_range() /
// zap_huge_pmd() of mm/memory.c and mm/huge_memory.c, and free_pgd_range() /
// free_pgtables() for the tables left empty.

extension UserPageTables {
    /// Linux: `zap_page_range_single()` / `unmap_vmas()` for `[start, end)` of `vma`:
    /// every present entry is cleared and its folio loses the mapping and the reference
    /// it held (a dirty PTE dirties a file folio first); swap entries free their slot;
    /// guard markers stay unless `dropMarkers` (munmap drops them, MADV_DONTNEED keeps
    /// them). Huge PMDs wholly inside go at once; one straddling an end is split first.
    /// Returns the pages that were mapped. The caller holds the mmap_lock.
    @discardableResult
    func zapRange(_ vma: VMA, start: UInt64, end: UInt64, dropMarkers: Bool) -> Int {
        // unmap_vmas() notifies MMU_NOTIFY_UNMAP, zap_page_range_single() MMU_NOTIFY_CLEAR.
        mm.withMMUNotifier(dropMarkers ? .unmap : .clear, start: start, end: end, machine: machine) {
            zapRangeNotified(vma, start: start, end: end, dropMarkers: dropMarkers)
        }
    }

    private func zapRangeNotified(_ vma: VMA, start: UInt64, end: UInt64, dropMarkers: Bool) -> Int {
        var zapped = 0
        var addr = start
        let mapping = vma.isAnonymous ? nil : fileMapping(vma)
        let batch = FolioBatch(machine)
        while addr < end {
            let next = min((addr & Paging.pmdMask) &+ Paging.pmdSize, end)
            defer { addr = next }
            guard let pmd = pmdSlot(addr, allocate: false) else {
                // No PMD table here: skip to the next PUD boundary at least.
                continue
            }
            var entry = pmd.load()
            if entry.isNone { continue }
            if entry.isHugeEntry {
                if addr & ~Paging.pmdMask == 0 && next - addr == Paging.pmdSize {
                    zapped += zapHugePMD(pmd, address: addr, mapping: mapping)
                    continue
                }
                splitHugePMD(vma, address: addr)
                entry = pmd.load()
                guard entry.isPresent, !entry.isLeaf else { continue }
            }
            guard entry.isPresent else { continue }
            zapped += zapPTEs(vma, table: entry.pfn, start: addr, end: next, mapping: mapping, dropMarkers: dropMarkers, batch: batch)
        }
        return zapped
    }

    /// Linux: `zap_pte_range()`.
    func zapPTEs(_ vma: VMA, table: Int, start: UInt64, end: UInt64, mapping: PageCacheMapping?, dropMarkers: Bool, batch: FolioBatch) -> Int {
        var zapped = 0
        let first = Paging.index(start, Paging.pageShift)
        let count = Int((end - start) >> Paging.pageShift)
        lockTable(table)
        defer { unlockTable(table) }
        let base = slot(table, first)
        for i in 0..<count {
            let pte = base.advanced(by: i)
            let entry = pte.load()
            if entry.isNone { continue }
            if entry.isPresent {
                _ = pte.getAndClear()
                zapped += 1
                guard let folio = normalFolio(entry) else {
                    if !entry.isSpecial { zapVmallocPage(entry.pfn, vma) }
                    continue
                }
                if entry.isDirty, let mapping, !machine.folioIsAnon(folio) { _ = mapping.folioMarkDirty(folio) }
                machine.folioRemoveRmapPTEs(folio, firstPfn: entry.pfn, nr: 1)
                machine.freeSwapCache(folio)
                batch.put(folio)
                continue
            }
            zapNonPresentPTE(pte, entry, dropMarkers: dropMarkers)
        }
        return zapped
    }

    /// Linux: `zap_nonpresent_ptes()`: a swap entry's slot is freed, a device entry's
    /// page released, a marker kept unless it goes with the VMA. Out of line (as in the
    /// kernel) so that `zapPTEs`' loop stays within the optimizer's inlining budget: with
    /// these cases in it, `vm_normal_folio()` and the rmap update were called out of
    /// line, about 60 instructions per present PTE.
    @inline(never)
    private func zapNonPresentPTE(_ pte: EntrySlot, _ entry: PTE, dropMarkers: Bool) {
        switch entry.softLeaf {
        case .marker:
            if dropMarkers || !PTEMarker(rawValue: entry.swapEntry?.offset ?? 0).contains(.guardRegion) { pte.store(PTE(rawValue: 0)) }
        case .swap:
            pte.store(PTE(rawValue: 0))
            if let swapEntry = entry.swapEntry { machine.swapFree(swapEntry) }
        case .devicePrivateRead, .devicePrivateWrite, .deviceExclusive:
            pte.store(PTE(rawValue: 0))
            zapDevicePrivateEntry(entry)
        default:
            // Migration entries hold no reference of their own here; the
            // migration or device code finds the entry gone and keeps its folio.
            pte.store(PTE(rawValue: 0))
        }
    }

    /// A tracked vmalloc page's PTE gone: its reference (and option 1's mapcount). Out
    /// of `zapPTEs`' loop for the same reason as `zapNonPresentPTE`.
    @inline(never)
    private func zapVmallocPage(_ pfn: Int, _ vma: VMA) {
        if let page = machine.memmap.page(pfn) { machine.scamemRelease(page, vma: vma, mapping: true, operation: "zap_pte_range") }
    }

    /// Linux: `zap_huge_pmd()`.
    func zapHugePMD(_ pmd: EntrySlot, address: UInt64, mapping: PageCacheMapping?) -> Int {
        let table = pmdTablePfn(address)
        lockTable(table)
        let entry = pmd.getAndClear()
        unlockTable(table)
        if entry.isPMDSoftLeaf { return zapPMDSoftLeaf(entry) }
        guard entry.isLeaf, let folio = normalFolio(entry) else { return 0 }
        if entry.isDirty, let mapping, !machine.folioIsAnon(folio) { _ = mapping.folioMarkDirty(folio) }
        machine.folioRemoveRmapPMD(folio)
        machine.folioPut(folio)
        return folio.nrPages
    }

    /// Linux: `free_pgd_range()`: frees the PTE, PMD and PUD tables that only served
    /// `[start, end)`, keeping any table that also covers memory between `floor` (the end
    /// of the VMA below, 0 for none) and `ceiling` (the start of the VMA above, 0 for
    /// none). A table that still maps something is a kernel bug ("non-empty page table
    /// freed"): recorded and kept.
    func freeTables(start: UInt64, end: UInt64, floor: UInt64, ceiling: UInt64) {
        let top = ceiling == 0 ? UInt64.max : ceiling
        func freeable(_ lo: UInt64, _ size: UInt64) -> Bool { lo >= floor && (top - lo) >= size && lo &+ size <= top }
        var pmdAddr = start & Paging.pmdMask
        while pmdAddr < end {
            defer { pmdAddr &+= Paging.pmdSize }
            guard freeable(pmdAddr, Paging.pmdSize), let pmd = pmdSlot(pmdAddr, allocate: false) else { continue }
            let entry = pmd.load()
            guard entry.isPresent, !entry.isLeaf else { continue }
            if tableIsEmpty(entry.pfn) {
                pmd.store(PTE(rawValue: 0))
                machine.tableRCU.free(entry.pfn, machine: machine)
            } else {
                machine.diagnostics.record(Diagnostic(kind: .bug, pfn: UInt64(entry.pfn),
                                                      reason: "free_pte_range: PTE table still maps pages at 0x\(String(pmdAddr, radix: 16))"))
            }
        }
        // PMD tables (1 GiB each) and PUD tables (512 GiB each) left empty.
        let pudSize: UInt64 = 1 << Paging.pudShift, pgdSize: UInt64 = 1 << Paging.pgdShift
        var pudAddr = start & ~(pudSize - 1)
        while pudAddr < end {
            defer { pudAddr &+= pudSize }
            let pgdEntry = slot(pgdPfn, Paging.index(pudAddr, Paging.pgdShift)).load()
            guard freeable(pudAddr, pudSize), pgdEntry.isPresent else { continue }
            let pud = slot(pgdEntry.pfn, Paging.index(pudAddr, Paging.pudShift))
            let entry = pud.load()
            guard entry.isPresent, !entry.isLeaf, tableIsEmpty(entry.pfn) else { continue }
            pud.store(PTE(rawValue: 0))
            machine.tableRCU.free(entry.pfn, machine: machine)
        }
        var pgdAddr = start & ~(pgdSize - 1)
        while pgdAddr < end {
            defer { pgdAddr &+= pgdSize }
            let pgd = slot(pgdPfn, Paging.index(pgdAddr, Paging.pgdShift))
            let entry = pgd.load()
            guard freeable(pgdAddr, pgdSize), entry.isPresent, tableIsEmpty(entry.pfn) else { continue }
            pgd.store(PTE(rawValue: 0))
            machine.tableRCU.free(entry.pfn, machine: machine)
        }
    }

    func tableIsEmpty(_ pfn: Int) -> Bool {
        let base = slot(pfn, 0)
        for i in 0..<Paging.entries where !base.advanced(by: i).load().isNone { return false }
        return true
    }
}
