// Swap-in: the swap-entry arm of do_swap_page() (mm/memory.c) with the swap cache
// (mm/swap_state.c).

extension UserPageTables {
    /// Linux: `do_swap_page()` for a swap entry.
    func swapIn(_ mm: MM, _ vma: VMA, address: UInt64, pte: EntrySlot, table: Int, entry: PTE, flags: FaultFlags) -> VMFault {
        .sigbus
    }
}

extension Machine {
    func swapFree(_ entry: SwapEntry) {}
    func swapDuplicate(_ entry: SwapEntry) -> Bool { true }
}
extension UserPageTables {
    func reclaimMapped(_ vma: VMA, start: UInt64, end: UInt64) {}
    func collapseHugePage(_ mm: MM, _ vma: VMA, address: UInt64) throws(Errno) {}
}
