// Device-private THP at the PMD level (mm/huge_memory.c, v6.19): a PMD-order device-private
// folio is mapped by one non-present PMD in the swap-entry format (swp_entry_to_pmd() of
// make_{writable,readable}_device_private_entry(): on x86-64 the same bits as the PTE
// format, _PAGE_PSE clear), and a THP under migration by a PMD migration entry
// (set_pmd_migration_entry() / remove_migration_pmd()). What the core mm does with them:
// do_huge_pmd_device_private() hands a CPU fault to the pagemap's migrate_to_ram();
// zap_huge_pmd() drops the mapping and reference; copy_huge_non_present_pmd() shares it
// with a child (a write entry becomes read-only for COW); change_non_present_huge_pmd()
// makes a write entry read-only; __split_huge_pmd_locked() splits it into 512 PTE
// device-private entries (HugeFault.swift's splitHugePMD calls `splitDevicePrivatePMD`).

extension PTE {
    /// Linux: `pmd_is_valid_softleaf()` at the PMD level: a non-present PMD that maps a
    /// folio (a migration or device-private entry).
    @inline(__always)
    public var isPMDSoftLeaf: Bool { !isPresent && !isNone && (isDevicePrivate || softLeaf.isMigration) }

    /// Linux: `pmd_is_huge()`: a present huge PMD or a PMD soft leaf; what the walkers
    /// handle at the PMD level (or split) instead of descending to a PTE table.
    @inline(__always)
    public var isHugeEntry: Bool { isLeaf || isPMDSoftLeaf }

    /// The first pfn a huge PMD maps (pmd_pfn() or softleaf_to_pfn()); nil for others.
    public var hugePfn: Int? { isLeaf ? pfn : isPMDSoftLeaf ? devicePfn : nil }
}

extension UserPageTables {
    /// Linux: `softleaf_to_folio()` of a PMD soft leaf: the PMD-order folio it maps.
    func pmdSoftLeafFolio(_ entry: PTE) -> Folio? {
        guard entry.isPMDSoftLeaf, let pfn = entry.devicePfn, let page = machine.memmap.page(pfn) else { return nil }
        return machine.pageFolio(page)
    }

    /// Linux: `do_huge_pmd_device_private()`: under the per-VMA lock VM_FAULT_RETRY;
    /// otherwise, if the PMD is unchanged and the folio can be locked, reference it and
    /// call `migrate_to_ram()` with `vmf->page` the head page and `vmf->pte` NULL (the
    /// driver may migrate the whole THP). A folio locked elsewhere: return and fault again.
    func doHugePMDDevicePrivate(_ vma: VMA, address: UInt64, pmd: EntrySlot, entry: PTE, flags: FaultFlags) -> VMFault {
        if flags.contains(.vmaLock) { return .retry }
        guard let folio = pmdSoftLeafFolio(entry), let page = entry.devicePfn.flatMap({ machine.memmap.page($0) }) else { return [] }
        let fault = DevicePrivateFault(tables: self, vma: vma, address: address, page: page, origPTE: entry, flags: flags, viaPMD: true)
        // folio_unlock(folio); folio_put(folio): the folio locked at the start.
        return callMigrateToRam(fault, slot: pmd, table: pmdTablePfn(address), folio: folio, caller: "do_huge_pmd_device_private") { folio }
    }

    /// Linux: the non-present arm of `zap_huge_pmd()`: a device-private THP loses its PMD
    /// mapping and the reference it held (the last one returns it to its driver); a PMD
    /// migration entry holds none. Returns the pages unmapped.
    func zapPMDSoftLeaf(_ entry: PTE) -> Int {
        guard let folio = pmdSoftLeafFolio(entry) else { return 0 }
        if entry.isDevicePrivate {
            machine.folioRemoveRmapPMD(folio)
            machine.folioPut(folio)
        }
        return folio.nrPages
    }

    /// Linux: `copy_huge_non_present_pmd()`: a device-private THP is shared with the child
    /// (a reference and a PMD mapping; folio_try_dup_anon_rmap_pmd() cannot fail for
    /// device-private folios), a write entry made read-only in the parent and the child
    /// (there are no read-exclusive device-private entries); a PMD migration entry (a
    /// write or read-exclusive one made read-only in the parent) is copied as is.
    /// Returns the child's entry. The caller holds the parent's PMD lock.
    func copyPMDSoftLeaf(_ src: EntrySlot, entry: PTE) -> PTE {
        guard let pfn = entry.devicePfn else { return entry }
        if entry.softLeaf == .migrationWrite || entry.softLeaf == .migrationReadExclusive {
            let readable = PTE.migration(pfn: pfn, write: false, exclusive: false)
            src.store(readable)
            return readable
        }
        guard entry.isDevicePrivate, let folio = pmdSoftLeafFolio(entry) else { return entry }
        var copied = entry
        if entry.softLeaf == .devicePrivateWrite {
            copied = .devicePrivate(pfn: pfn, write: false)
            src.store(copied)
        }
        folio.get()
        _ = machine.folioTryDupAnonRmap(folio, firstPfn: folio.pfn, nr: folio.nrPages, pmd: true, srcMM: mm)
        return copied
    }

    /// Linux: `change_non_present_huge_pmd()` (change_huge_pmd() of a PMD soft leaf the
    /// mprotect range covers whole): "a protection check is difficult so just be safe
    /// and disable write": a write migration entry becomes read-exclusive (anonymous) or
    /// read, a write device-private entry read; the PMD stays whole. The caller holds the
    /// PMD lock.
    func changeNonPresentHugePMD(_ pmd: EntrySlot, _ entry: PTE) {
        guard let pfn = entry.devicePfn else { return }
        if entry.softLeaf == .migrationWrite {
            let anon = pmdSoftLeafFolio(entry).map { machine.folioIsAnon($0) } ?? false
            pmd.store(.migration(pfn: pfn, write: false, exclusive: anon))
        } else if entry.softLeaf == .devicePrivateWrite {
            pmd.store(.devicePrivate(pfn: pfn, write: false))
        }
    }

    /// Linux: `__split_huge_pmd_locked()` for a device-private PMD (not frozen): the folio
    /// gains 511 references and 512 PTE mappings (exclusive where the head was), loses its
    /// PMD mapping, and each PTE of `table` becomes a device-private entry of the same
    /// permission. The folio stays large (PTE-mapped). The caller holds the PMD lock.
    func splitDevicePrivatePMD(_ entry: PTE, into table: Int) {
        guard let folio = pmdSoftLeafFolio(entry), let pfn = entry.devicePfn else { return }
        let nr = folio.nrPages
        let exclusive = machine.pageAnonExclusive(folio.headPage, folio: folio)
        folio.refAdd(Int32(nr - 1))
        machine.folioAddRmapPTEs(folio, firstPfn: folio.pfn, nr: nr)
        if exclusive {
            for i in 0..<nr { machine.setPageAnonExclusive(Page(unchecked: folio.pfn + i, machine.context), folio: folio, true) }
        }
        let write = entry.softLeaf == .devicePrivateWrite
        for i in 0..<min(nr, Paging.entries) { slot(table, i).store(.devicePrivate(pfn: pfn + i, write: write)) }
        machine.folioRemoveRmapPMD(folio)
    }

    /// Linux: `__split_huge_pmd_locked()` for a PMD migration entry: 512 PTE migration
    /// entries of the same kind; the folio's references and mappings do not change (the
    /// migration holds them).
    func splitMigrationPMD(_ entry: PTE, into table: Int) {
        guard let pfn = entry.devicePfn else { return }
        let write = entry.softLeaf == .migrationWrite, exclusive = entry.softLeaf == .migrationReadExclusive
        for i in 0..<Paging.entries { slot(table, i).store(.migration(pfn: pfn + i, write: write, exclusive: exclusive)) }
    }
}

extension Machine {
    /// Linux: `set_pmd_migration_entry()`: the huge PMD (present, or device-private) at
    /// `pmd` becomes a migration entry (write for a writable mapping, read-exclusive for an
    /// exclusive anonymous folio, read otherwise); the folio loses the PMD mapping and its
    /// reference. false (the entry restored) when an exclusive folio may be pinned
    /// (folio_try_share_anon_rmap_pmd(): -EBUSY). The caller holds the PMD lock.
    func setPMDMigrationEntry(_ pmd: EntrySlot, folio: Folio) -> Bool {
        let old = pmd.getAndClear()
        let exclusive = folioIsAnon(folio) && pageAnonExclusive(folio.headPage, folio: folio)
        if exclusive, !folioTryShareAnonRmap(folio.headPage, folio: folio) {
            pmd.store(old)
            return false
        }
        if old.isPresent, old.isDirty { folio.setFlag(flagBits.dirty) }
        let write = old.isPresent ? old.isWritable : old.softLeaf == .devicePrivateWrite
        pmd.store(.migration(pfn: folio.pfn, write: write, exclusive: exclusive))
        folioRemoveRmapPMD(folio)
        folioPut(folio)
        return true
    }

    /// Linux: `remove_migration_pmd()`: a PMD migration entry of `src` becomes a PMD
    /// mapping of `dst` (`src` itself when undoing): a device-private entry for
    /// device-private memory, a present huge PMD otherwise, writable for a write entry;
    /// a reference and a PMD mapping, exclusive unless it was a plain read entry.
    func removeMigrationPMD(_ pmd: EntrySlot, entry: PTE, to dst: Folio) {
        let leaf = entry.softLeaf
        let write = leaf == .migrationWrite
        dst.get()
        folioAddRmapPMD(dst)
        if folioIsAnon(dst), leaf != .migrationRead { setPageAnonExclusive(dst.headPage, folio: dst, true) }
        let mapped: PTE = folioIsDevicePrivate(dst) ? .devicePrivate(pfn: dst.pfn, write: write)
            : .page(pfn: dst.pfn, writable: write, dirty: write && dst.testFlag(flagBits.dirty), huge: true)
        pmd.store(mapped)
    }
}
