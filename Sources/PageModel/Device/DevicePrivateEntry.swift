// Device-private swap entries (include/linux/swapops.h: make_readable_device_private_entry(),
// make_writable_device_private_entry(); include/linux/leafops.h: softleaf_is_device_private())
// and what the core mm does with them: do_swap_page() hands a CPU fault to the pagemap's
// migrate_to_ram() (mm/memory.c), fork copies them (copy_nonpresent_pte()), zap drops their
// mapping and reference (zap_nonpresent_ptes()), and remove_migration_pte() (mm/migrate.c)
// installs them when a migration's destination is device-private memory.

/// What a pagemap's `migrate_to_ram()` receives: the kernel's `struct vm_fault` for a
/// fault on a device-private entry (`vmf->vma`, `vmf->address`, `vmf->page`,
/// `vmf->orig_pte`, `vmf->flags`), with the page tables of the faulting mm.
public struct DevicePrivateFault: @unchecked Sendable {
    public let tables: UserPageTables
    public let vma: VMA
    public let address: UInt64
    /// The device-private page the entry points to: locked and referenced by
    /// do_swap_page() for the duration of the call.
    public let page: Page
    public let origPTE: PTE
    public let flags: FaultFlags
    /// `vmf->pte == NULL`: the fault hit a device-private PMD (do_huge_pmd_device_private()),
    /// so the driver may migrate the whole folio; false for a PTE.
    public var viaPMD = false
}

extension PTE {
    /// Linux: `swp_entry_to_pte(make_{writable,readable}_device_private_entry(pfn))`.
    public static func devicePrivate(pfn: Int, write: Bool) -> PTE {
        .swap(SwapEntry(type: write ? SwapEntry.deviceWriteType : SwapEntry.deviceReadType, offset: UInt64(pfn)))
    }

    /// Linux: `softleaf_is_device_private()`.
    public var isDevicePrivate: Bool { softLeaf == .devicePrivateRead || softLeaf == .devicePrivateWrite }

    /// Linux: `softleaf_to_pfn()` for a device-private, device-exclusive or migration entry.
    public var devicePfn: Int? { swapEntry.map { Int(truncatingIfNeeded: $0.offset) } }
}

extension Machine {
    /// Linux: `folio_is_device_private()`. A ZONE_DEVICE folio whose `pgmap` word holds
    /// no dev_pagemap (overwritten) is recorded as corruption: the kernel would follow
    /// the stray pointer.
    public func folioIsDevicePrivate(_ folio: Folio) -> Bool {
        guard isZoneDevice(folio.pfn) else { return false }
        guard let pgmap = registry.object(at: folio.pgmap, as: DevPagemap.self) else {
            diagnostics.record(Diagnostic(kind: .corruption, pfn: UInt64(folio.pfn),
                                          reason: "folio_is_device_private: folio->pgmap 0x\(String(folio.pgmap, radix: 16)) is not a dev_pagemap",
                                          dump: dumpPage(folio.headPage)))
            return false
        }
        return pgmap.type == .devicePrivate
    }

    /// The entry `remove_migration_pte()` installs for page `pfn` of the migration's
    /// destination: a device-private entry for device-private memory (which the CPU
    /// cannot map), a present PTE otherwise.
    func migrationTargetEntry(_ dst: Folio, pfn: Int, write: Bool, dirty: Bool) -> PTE {
        folioIsDevicePrivate(dst) ? .devicePrivate(pfn: pfn, write: write) : .page(pfn: pfn, writable: write, dirty: dirty)
    }
}

extension UserPageTables {
    /// Linux: the device-private arm of `do_swap_page()`: under the per-VMA lock it is
    /// VM_FAULT_RETRY ("migrate_to_ram is not yet ready to operate under VMA lock");
    /// otherwise, if the entry is unchanged, lock and reference the device page and call
    /// `pgmap->ops->migrate_to_ram(vmf)`. A page locked elsewhere (a migration in
    /// progress) makes the fault retry, as softleaf_entry_wait_on_locked() does.
    func devicePrivateFault(_ vma: VMA, address: UInt64, pte: EntrySlot, table: Int, entry: PTE, flags: FaultFlags) -> VMFault {
        if flags.contains(.vmaLock) { return .retry }
        guard let pfn = entry.devicePfn, let page = machine.memmap.page(pfn), let folio = machine.pageFolio(page) else {
            machine.diagnostics.record(Diagnostic(kind: .bug, pfn: entry.swapEntry?.offset, reason: "do_swap_page: device-private entry without a struct page"))
            return .sigbus
        }
        let fault = DevicePrivateFault(tables: self, vma: vma, address: address, page: page, origPTE: entry, flags: flags)
        // unlock_page(vmf->page); put_page(vmf->page): the page's folio now, which a split
        // in migrate_to_ram() may have changed (the lock and reference went with it).
        return callMigrateToRam(fault, slot: pte, table: table, folio: folio, caller: "do_swap_page") { machine.pageFolio(page) ?? folio }
    }

    /// The part do_swap_page()'s device-private arm and do_huge_pmd_device_private() share:
    /// if the entry is unchanged, lock the folio (trylock_page()/folio_trylock(): a folio
    /// locked elsewhere, a migration in progress, makes the fault retry) and reference it,
    /// drop the table lock and call `pgmap->ops->migrate_to_ram(vmf)`; then unlock and
    /// put the folio `release()` names.
    func callMigrateToRam(_ fault: DevicePrivateFault, slot: EntrySlot, table: Int, folio: Folio, caller: String,
                          release: () -> Folio) -> VMFault {
        lockTable(table)
        guard slot.load() == fault.origPTE else {
            unlockTable(table)
            return []
        }
        // trylock_page() is folio_trylock(page_folio(page)) (include/linux/pagemap.h): the
        // lock bit is the folio's, in the descriptor in the memdesc designs.
        guard folio.tryLock() else {
            unlockTable(table)
            sched_yield_model()
            return .retry
        }
        folio.get()
        unlockTable(table)
        defer {
            let held = release()
            held.unlock()
            machine.folioPut(held)
        }
        guard let migrate = machine.pagePgmap(fault.page)?.ops.migrateToRam else {
            machine.diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(fault.page.pfn),
                                                  reason: "\(caller): \(fault.origPTE.softLeaf) entry without a migrate_to_ram() handler"))
            return .sigbus
        }
        return migrate(fault)
    }

    /// Linux: the device-private arm of `copy_nonpresent_pte()`: the child's entry holds
    /// a reference and a mapping of its own (folio_try_dup_anon_rmap_pte() cannot fail:
    /// device-private pages are never pinned); in a COW mapping a writable entry becomes
    /// readable in the parent and the child. Returns the child's entry. The caller holds
    /// both page-table locks.
    func copyDevicePrivateEntry(_ src: EntrySlot, entry: PTE, cow: Bool) -> PTE {
        guard let pfn = entry.devicePfn, let page = machine.memmap.page(pfn), let folio = machine.pageFolio(page) else { return entry }
        folio.get()
        _ = machine.folioTryDupAnonRmap(folio, firstPfn: pfn, nr: 1, pmd: false, srcMM: mm)
        guard cow, entry.softLeaf == .devicePrivateWrite else { return entry }
        let readable = PTE.devicePrivate(pfn: pfn, write: false)
        src.store(readable)
        return readable
    }

    /// Linux: the device-private arm of `change_pte_range()` (mm/mprotect.c): whatever the
    /// new protection, a writable device-private entry becomes readable ("a protection
    /// check is difficult"); the page comes home read-only and a write faults as usual.
    /// The caller holds the table lock.
    func readOnlyDevicePrivateEntry(_ pte: EntrySlot, _ entry: PTE) {
        guard entry.softLeaf == .devicePrivateWrite, let pfn = entry.devicePfn else { return }
        pte.store(.devicePrivate(pfn: pfn, write: false))
    }

    /// Linux: the device-private arm of `zap_nonpresent_ptes()`: the entry's mapping and
    /// reference go; the last one returns the page to its driver (folio_free()).
    func zapDevicePrivateEntry(_ entry: PTE) {
        guard let pfn = entry.devicePfn, let page = machine.memmap.page(pfn), let folio = machine.pageFolio(page) else { return }
        machine.folioRemoveRmapPTEs(folio, firstPfn: pfn, nr: 1)
        machine.folioPut(folio)
    }
}
