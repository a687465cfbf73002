// mm/memory.c (v6.19): vmf_insert_mixed() → __vm_insert_mixed() → insert_pfn(), as
// x86 (CONFIG_ARCH_HAS_PTE_SPECIAL) runs it: a driver maps a pfn into a VM_MIXEDMAP
// VMA as a special PTE, with no reference and no rmap, so vm_normal_page() finds no
// struct page behind it and GUP gets -EEXIST from follow_pfn_pte().

extension Process {
    /// Linux: `vmf_insert_mixed(vma, addr, pfn)`: VM_FAULT_SIGBUS when `vm_mixed_ok()`
    /// refuses (the zero pfn, which the model's VMAs never allow, or a VMA without
    /// VM_MIXEDMAP) or `address` lies outside every VMA; VM_FAULT_OOM without a page
    /// table; otherwise VM_FAULT_NOPAGE, a populated PTE left as it is
    /// (`insert_pfn()` without mkwrite). The PTE is `pte_mkspecial(pfn_pte(pfn,
    /// vm_page_prot))`: writable only in a shared writable VMA.
    @discardableResult
    public func insertMixed(pfn: Int, at address: UInt64) -> VMFault {
        // A pfn a PTE cannot hold (x86-64: 40 bits of pfn) is refused as pfn_modify_allowed()
        // refuses what it cannot map: bad input, never a trap.
        guard pfn >= 0, pfn < 1 << 40, !machine.isZeroPfn(pfn) else { return .sigbus }
        return mm.mmapLock.withReadLock { () -> VMFault in
            let addr = address & ~(UserVM.pageSize - 1)
            guard let vma = mm.lockedVMALookup(addr), vma.flags.contains(.mixedMap) else { return .sigbus }
            guard let pmd = tables.pmdSlot(addr, allocate: true), let table = tables.lowerTable(pmd, allocate: true) else { return .oom }
            tables.lockTable(table)
            defer { tables.unlockTable(table) }
            let pte = tables.slot(table, Paging.index(addr, Paging.pageShift))
            if pte.load().isNone {
                pte.store(.page(pfn: pfn, writable: vma.flags.isSuperset(of: [.write, .shared]), special: true))
            }
            return .nopage
        }
    }
}
