// Faults on non-present PTEs: do_swap_page() of mm/memory.c (v6.19) dispatching on the
// softleaf type: swap entries are swapped in (SwapIn.swift), migration entries waited
// for (migration_entry_wait()), markers obeyed (guard regions, poison), device entries
// handed to their pagemap.

extension UserPageTables {
    /// Linux: `do_swap_page()`.
    func doSwapPage(_ vma: VMA, address: UInt64, pte: EntrySlot, table: Int, entry: PTE, flags: FaultFlags) -> VMFault {
        switch entry.softLeaf {
        case .none:
            return .retry
        case .migrationRead, .migrationReadExclusive, .migrationWrite:
            // migration_entry_wait(): sleep until the folio is unlocked and the entry is
            // replaced; the model yields and lets the caller retry.
            sched_yield_model()
            return .retry
        case .marker:
            let marker = PTEMarker(rawValue: entry.swapEntry?.offset ?? 0)
            if marker.contains(.guardRegion) { return .sigsegv }
            if marker.contains(.poisoned) { return .hwpoison }
            // A uffd-wp marker without userfaultfd: drop it and fault the page in afresh.
            lockTable(table)
            if pte.load() == entry { pte.store(PTE(rawValue: 0)) }
            unlockTable(table)
            return .retry
        case .hwpoison:
            return .hwpoison
        case .devicePrivateRead, .devicePrivateWrite:
            // ZONE_DEVICE migrate_to_ram() belongs to the device model (Device/).
            return devicePrivateFault(vma, address: address, pte: pte, table: table, entry: entry, flags: flags)
        case .deviceExclusive:
            return removeDeviceExclusiveEntry(vma, address: address, pte: pte, table: table, entry: entry)
        case .swap:
            return swapIn(vma, address: address, pte: pte, table: table, entry: entry, flags: flags)
        }
    }
}
