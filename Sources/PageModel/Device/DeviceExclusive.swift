// Device-exclusive entries (v6.19): make_device_exclusive() (mm/rmap.c) replaces the PTE
// of one anonymous page by a SWP_DEVICE_EXCLUSIVE swap entry (type 30, one kind since
// v6.15: the entry is always writable) so that the device can access the page
// atomically; any CPU access faults and restores the PTE (do_swap_page() ->
// remove_device_exclusive_entry(), mm/memory.c), as does fork (copy_nonpresent_pte() ->
// try_restore_exclusive_pte()). The page stays mapped while exclusive: the entry keeps
// its folio's mapcount and reference ("device-exclusive entries are considered clean
// and old by core-mm"), and zap drops both as for a device-private entry.

extension PTE {
    /// Linux: `swp_entry_to_pte(make_device_exclusive_entry(pfn))`.
    public static func deviceExclusive(pfn: Int) -> PTE {
        .swap(SwapEntry(type: SwapEntry.deviceExclusiveType, offset: UInt64(pfn)))
    }
}

extension UserPageTables {
    /// Linux: `make_device_exclusive(mm, addr, owner, &folio)`: fault the page in
    /// writable (GUP with FOLL_GET | FOLL_WRITE | FOLL_SPLIT_PMD), lock it, and under an
    /// MMU_NOTIFY_EXCLUSIVE bracket carrying `owner` replace its still-writable PTE by a
    /// device-exclusive entry (a dirty PTE dirties the folio first). Returns the page
    /// with its folio locked and referenced (the caller unlocks and puts it).
    /// EOPNOTSUPP for a page that is not anonymous or is hugetlb; GUP's errno otherwise
    /// (EFAULT for a hole or a VMA without VM_WRITE). The caller holds the mmap_lock.
    public func makeDeviceExclusive(_ addressIn: UInt64, owner: UInt64?) throws(Errno) -> (page: Page, folio: Folio) {
        let addr = addressIn & ~(UserVM.pageSize - 1)
        for _ in 0..<Self.gupRetryLimit {
            let buffer = UnsafeMutablePointer<Page>.allocate(capacity: 1)
            defer { buffer.deallocate() }
            let taken = getUserPagesWalk(start: addr, nrPages: 1, flags: [.get, .write, .splitPMD, .remote], pages: buffer, pinScope: false)
            if taken < 0 { throw Errno(rawValue: Int32(-taken)) }
            guard taken == 1 else { throw .EFAULT }
            let page = buffer.move()
            guard let folio = machine.pageFolio(page) else { throw .EFAULT }
            guard machine.folioIsAnon(folio), mm.lockedVMALookup(addr)?.flags.contains(.hugeTLB) == false else {
                machine.folioPut(folio)
                throw .EOPNOTSUPP
            }
            folio.lock()
            let done = mm.withMMUNotifier(.exclusive, start: addr, end: addr &+ UserVM.pageSize, owner: owner, machine: machine) {
                // The second walk: still this page, mapped writable by a PTE.
                withPTELock(addr) { slot, _ -> Bool in
                    let pte = slot.load()
                    guard pte.isPresent, !pte.isLeaf, pte.pfn == page.pfn, pte.isWritable else { return false }
                    let old = slot.getAndClear()
                    if old.isDirty { folio.setFlag(machine.flagBits.dirty) }
                    slot.store(.deviceExclusive(pfn: page.pfn))
                    return true
                } ?? false
            }
            if done { return (page, folio) }
            folio.unlock()
            machine.folioPut(folio)
        }
        throw .EFAULT
    }

    /// Linux: `try_restore_exclusive_pte()` (fork): `restore_exclusive_pte()` under the
    /// folio lock. The kernel's fork retries the copy while the folio is locked
    /// (-EBUSY); the model waits for the lock instead (a driver holds it only for the
    /// instant of mapping the page). The caller holds the PTE's table lock. Returns the
    /// entry now in `slot`.
    func restoreExclusivePTE(_ vma: VMA, slot: EntrySlot, entry: PTE) -> PTE {
        guard let pfn = entry.devicePfn, let page = machine.memmap.page(pfn), let folio = machine.pageFolio(page) else { return entry }
        if !folio.tryLock() { folio.lock() }
        defer { folio.unlock() }
        return restoreExclusivePTELocked(vma, slot: slot, page: page, folio: folio)
    }

    /// Linux: `restore_exclusive_pte()`: the original PTE comes back old, writable (and
    /// dirty if the folio is) where the VMA has VM_WRITE and the page is exclusively this
    /// process's (can_change_pte_writable()). The folio is locked.
    private func restoreExclusivePTELocked(_ vma: VMA, slot: EntrySlot, page: Page, folio: Folio) -> PTE {
        let writable = vma.flags.contains(.write) && !vma.flags.contains(.shared) && machine.pageAnonExclusive(page, folio: folio)
        let dirty = writable && folio.testFlag(machine.flagBits.dirty)
        let pte = PTE(rawValue: PTE.page(pfn: page.pfn, writable: writable, dirty: dirty).rawValue & ~PTE.accessed)
        slot.store(pte)
        return pte
    }

    /// Linux: `remove_device_exclusive_entry()`: a CPU fault on a device-exclusive entry
    /// takes a reference and the folio lock, and under an MMU_NOTIFY_CLEAR bracket (no
    /// owner: every device drops its atomic mapping) restores the PTE if the entry is
    /// unchanged. The access then retries on the present PTE.
    func removeDeviceExclusiveEntry(_ vma: VMA, address: UInt64, pte: EntrySlot, table: Int, entry: PTE) -> VMFault {
        guard let pfn = entry.devicePfn, let page = machine.memmap.page(pfn), let folio = machine.pageFolio(page),
              folio.refAddUnless(1, unless: 0) else { return [] }
        folio.lock()
        let start = address & ~(UserVM.pageSize - 1)
        mm.withMMUNotifier(.clear, start: start, end: start &+ UserVM.pageSize, machine: machine) {
            lockTable(table)
            if pte.load() == entry { _ = restoreExclusivePTELocked(vma, slot: pte, page: page, folio: folio) }
            unlockTable(table)
        }
        folio.unlock()
        machine.folioPut(folio)
        return []
    }
}
