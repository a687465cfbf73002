// migrate_vma at PMD granularity (mm/migrate_device.c, v6.19, CONFIG_ARCH_ENABLE_THP_MIGRATION):
// migrate_vma_collect_huge_pmd(), migrate_vma_collect_hole() with
// MIGRATE_VMA_SELECT_COMPOUND, migrate_vma_insert_huge_pmd_page() and
// migrate_vma_split_unmapped_folio(). A PMD-mapped THP (system memory, or this owner's
// device-private THP) or a PMD-sized hole is one `src` entry with MIGRATE_PFN_COMPOUND
// (the other 511 are 0) when the request selects COMPOUND and covers the whole PMD; it
// migrates whole when the driver gives a compound destination, and is split (a hole:
// inserted page by page) when it does not.
//
// Deliberate difference: a hole with no PMD table is collected per PMD (the kernel's
// pte_hole callback may span several PMDs and then marks only the first compound); the
// drivers' 512-page batches never span two.

/// What migrate_vma_collect_huge_pmd() did with a huge PMD.
enum HugePMDCollect {
    /// Collected whole (MIGRATE_PFN_COMPOUND) or left to migrate_vma_collect_pmd().
    case collected
    /// migrate_vma_collect_skip(): src 0 for the PMD's part of the range.
    case skip
    /// migrate_vma_collect_hole(): nothing mapped there (any more).
    case hole
    /// Split: read the PTEs (migrate_vma_collect_pmd()'s `-ENOENT`).
    case ptes
}

extension UserPageTables {
    /// Linux: `migrate_vma_collect_hole()`: in an anonymous VMA every page is a page-less
    /// source (MIGRATE, counted in cpages); with MIGRATE_VMA_SELECT_COMPOUND over a whole
    /// PMD, the first is MIGRATE|COMPOUND and the rest 0 ("in case we need to split
    /// later"). Elsewhere it is skipped.
    func collectHole(_ args: inout MigrateVMA, from addr: inout UInt64, to end: UInt64) {
        guard args.vma.isAnonymous else { return skipCollect(&args, from: &addr, to: end) }
        if args.flags.contains(.compound), addr & ~Paging.pmdMask == 0, end & ~Paging.pmdMask == 0 {
            args.src[args.npages] = MigratePFN.migrate | MigratePFN.compound
            args.npages += 1
            args.cpages += 1
            addr &+= UserVM.pageSize
            return skipCollect(&args, from: &addr, to: end)
        }
        while addr < end {
            args.src[args.npages] = MigratePFN.migrate
            args.npages += 1
            args.cpages += 1
            addr &+= UserVM.pageSize
        }
    }

    /// Linux: `migrate_vma_collect_huge_pmd()` under the PMD lock: a present THP (when
    /// MIGRATE_VMA_SELECT_SYSTEM) or this owner's device-private THP (when
    /// MIGRATE_VMA_SELECT_DEVICE_PRIVATE) is referenced and locked; with
    /// MIGRATE_VMA_SELECT_COMPOUND over the whole PMD it becomes one compound source and
    /// its PMD a migration entry (set_pmd_migration_entry()); otherwise it is split
    /// (split_folio()) and its PTEs are read. Anything else is skipped.
    func collectHugePMD(_ pmd: EntrySlot, start: UInt64, end: UInt64, args: inout MigrateVMA, faultFolio: Folio?) -> HugePMDCollect {
        let table = pmdTablePfn(start)
        lockTable(table)
        let entry = pmd.load()
        let folio: Folio
        var write: UInt64 = 0
        if entry.isNone {
            unlockTable(table)
            return .hole
        } else if entry.isLeaf {
            guard args.flags.contains(.system) else {
                unlockTable(table)
                return .skip
            }
            // is_huge_zero_folio(): collected as a hole (migrate_vma_collect_hole()).
            if machine.isHugeZeroPMD(entry) {
                unlockTable(table)
                return .hole
            }
            guard let f = normalFolio(entry) else {
                unlockTable(table)
                return .skip
            }
            folio = f
            if entry.isWritable { write = MigratePFN.write }
        } else if entry.isPMDSoftLeaf {
            guard entry.isDevicePrivate, args.flags.contains(.devicePrivate), let f = pmdSoftLeafFolio(entry),
                  machine.pagePgmap(f.headPage)?.owner == args.pgmapOwner else {
                unlockTable(table)
                return .skip
            }
            folio = f
            if entry.softLeaf == .devicePrivateWrite { write = MigratePFN.write }
        } else {
            unlockTable(table)
            return .ptes
        }
        folio.get()
        if folio != faultFolio, !folio.tryLock() {
            unlockTable(table)
            machine.folioPut(folio)
            return .skip
        }
        if args.flags.contains(.compound), start & ~Paging.pmdMask == 0, end & ~Paging.pmdMask == 0,
           machine.setPMDMigrationEntry(pmd, folio: folio) {
            args.src[args.npages] = MigratePFN.make(folio.pfn) | write | MigratePFN.migrate | MigratePFN.compound
            args.npages += 1
            args.cpages += 1
            var rest = start &+ UserVM.pageSize
            skipCollect(&args, from: &rest, to: end)
            unlockTable(table)
            return .collected
        }
        // fallback: split the folio (its PMD with it) and read the PTEs.
        unlockTable(table)
        var split = true
        if folio.isLarge {
            do { try machine.splitFolio(folio) } catch { split = false }
        }
        if folio != faultFolio { folio.unlock() }
        machine.folioPut(folio)
        if !split { return .skip }
        return pmd.load().isNone ? .hole : .ptes
    }

    /// Linux: `migrate_vma_insert_huge_pmd_page()`: map the new PMD-order destination
    /// where a PMD-sized hole or the huge zero PMD was (PMD-aligned and inside the VMA:
    /// thp_vma_suitable_order()),
    /// a device-private PMD entry for device-private memory, a present huge PMD
    /// otherwise (coherent or system memory); exclusive, one reference. false: abort
    /// (the caller clears MIGRATE on the PMD's 512 sources).
    func migrateVMAInsertHugePMD(_ args: MigrateVMA, address: UInt64, folio: Folio) -> Bool {
        let vma = args.vma
        guard address & ~Paging.pmdMask == 0, address >= vma.start, address &+ Paging.pmdSize <= vma.end,
              folio.nrPages == 1 << Paging.pmdOrder, let anonVMA = vmfAnonPrepare(vma, at: address),
              let pmd = pmdSlot(address, allocate: true) else { return false }
        let device = machine.isZoneDevice(folio.pfn), privateFolio = machine.folioIsDevicePrivate(folio)
        if device, !privateFolio, machine.pagePgmap(folio.headPage)?.type != .deviceCoherent { return false }
        let write = vma.flags.contains(.write)
        let entry: PTE = privateFolio ? .devicePrivate(pfn: folio.pfn, write: write) : .page(pfn: folio.pfn, writable: write, dirty: write, huge: true)
        folio.setFlag(machine.flagBits.uptodate)
        let table = pmdTablePfn(address)
        lockTable(table)
        defer { unlockTable(table) }
        guard pmd.load().isNone || machine.isHugeZeroPMD(pmd.load()),
              machine.folioAddNewAnonRmap(folio, anonVMA: anonVMA, index: machine.linearPageIndex(vma, address), pmd: true) else { return false }
        if !device { machine.folioAddLRU(folio) }
        folio.get()
        pmd.store(entry)
        return true
    }

    /// Linux: `migrate_vma_split_unmapped_folio()`: a compound source whose destination is
    /// not compound is split: its PMD migration entry into 512 PTE migration entries
    /// (split_huge_pmd_address(freeze): the reference taken for it dropped), the folio
    /// into order-0 folios (folio_split_unmapped()), and the 511 sources after `idx` filled
    /// in with the first one's flags, MIGRATE_PFN_COMPOUND cleared. false: the folio could
    /// not be split (another reference: EAGAIN).
    func migrateVMASplitUnmappedFolio(_ args: inout MigrateVMA, idx: Int, folio: Folio) -> Bool {
        folio.get()
        splitHugePMD(args.vma, address: args.start &+ UInt64(idx) << UserVM.pageShift)
        machine.folioPut(folio)
        guard machine.folioSplitUnmapped(folio) == nil else { return false }
        args.src[idx] &= ~MigratePFN.compound
        let flags = args.src[idx] & ((1 << MigratePFN.shift) - 1)
        guard let pfn = MigratePFN.pfn(args.src[idx]) else { return true }
        for i in 1..<min(1 << Paging.pmdOrder, args.npages - idx) { args.src[idx + i] = MigratePFN.make(pfn + i) | flags }
        return true
    }
}
