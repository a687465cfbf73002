// Page migration: migrate_pages() / migrate_folio_unmap() / migrate_folio_move()
// (mm/migrate.c, v6.19), try_to_migrate() / try_to_migrate_one() (mm/rmap.c),
// remove_migration_ptes(), folio_migrate_mapping() and folio_migrate_flags().

/// The outcome of `migratePages`.
public struct MigrateResult: Sendable {
    /// The folios that replaced the migrated ones.
    public var migrated: [Folio] = []
    /// Folios that could not be moved, and why (EAGAIN: extra references such as a pin,
    /// or an mm that could not be walked; ENOMEM: no target page; EBUSY: writeback,
    /// swap cache or locked).
    public var failed: [(folio: Folio, errno: Errno)] = []
}

extension Machine {
    /// Linux: `migrate_pages()`: moves each folio (its bytes, flags, mapping and every
    /// PTE, through migration entries) to a new folio from `gfp` on node `nid` (nil:
    /// any). A folio with references beyond its mappings and caches (a DMA pin, a
    /// reference held by someone else) is not moved: its mappings are restored and it
    /// fails with EAGAIN, as folio_migrate_mapping()'s refcount freeze fails. Folios that
    /// are not on an LRU are skipped (EBUSY). Huge PMDs are split to PTEs first, so a
    /// migrated THP is PTE-mapped afterwards (the kernel keeps PMD migration entries).
    /// The caller keeps each folio from being freed while it is isolated (a reference,
    /// or a lock that holds its mapping, as `Process.migrate` does).
    public func migratePages(_ folios: [Folio], nid: Int? = nil, gfp: GFP = .highuserMovable) -> MigrateResult {
        var result = MigrateResult()
        var isolated: [Folio] = []
        for folio in folios {
            guard folioIsolateLRU(folio) else {
                result.failed.append((folio, .EBUSY))
                continue
            }
            isolated.append(folio)
        }
        let moved = migrateIsolatedFolios(isolated, nid: nid, gfp: gfp)
        result.migrated = moved.migrated
        result.failed += moved.failed
        return result
    }

    /// `migrate_pages()` on a list the caller isolated already (`folio_isolate_lru()`,
    /// whose reference each entry carries), as check_and_migrate_movable_pages() passes
    /// it: a failed folio is put back on its LRU (`putback_movable_pages()`).
    func migrateIsolatedFolios(_ folios: [Folio], nid: Int?, gfp: GFP) -> MigrateResult {
        var result = MigrateResult()
        for folio in folios {
            switch migrateOne(folio, nid: nid, gfp: gfp) {
            case .success(let new):
                result.migrated.append(new)
                VMEvents.bump(vmEvents.migrations)
            case .failure(let errno):
                // migrate_pages_batch(): no large target could be had: try_split_folio()
                // and the pieces migrated once (migrate_pages()'s split_folios pass).
                if errno == .ENOMEM, folio.isLarge, folioIsAnon(folio), let pieces = trySplitFolio(folio) {
                    let moved = migrateIsolatedFolios(pieces, nid: nid, gfp: gfp)
                    result.migrated += moved.migrated
                    result.failed += moved.failed
                    continue
                }
                folioPutbackLRU(folio)
                result.failed.append((folio, errno))
                VMEvents.bump(vmEvents.migrationFailures)
            }
        }
        return result
    }

    /// Linux: `try_split_folio()` (MIGRATE_SYNC: the lock waited for): the isolated
    /// folio split to order 0, every piece isolated (the first keeps the folio's
    /// isolation reference, the others get one from the split); nil if it cannot be split.
    private func trySplitFolio(_ folio: Folio) -> [Folio]? {
        folio.lock()
        defer { folio.unlock() }
        guard let rest = try? splitFolio(folio, lockAt: folio.headPage, toList: true) else { return nil }
        return [folio] + rest
    }

    /// One isolated folio (the caller's reference is the isolation's).
    private func migrateOne(_ src: Folio, nid: Int?, gfp: GFP) -> Result<Folio, Errno> {
        guard src.tryLock() else { return .failure(.EBUSY) }
        if src.testFlag(flagBits.writeback) || swap.cache.contains(src) {
            src.unlock()
            return .failure(.EBUSY)
        }
        let order = src.order
        guard let dst = folioAlloc(order > 0 ? gfp.union(.comp) : gfp, order: order, nid: nid) else {
            src.unlock()
            return .failure(.ENOMEM)
        }
        let anon = folioIsAnon(src)
        let cache = anon ? nil : pageCacheMapping(of: src)
        let cacheRefs: Int32 = cache != nil ? Int32(src.nrPages) : 0
        if folioMapped(src) {
            let unmapped = tryToMigrate(src)
            guard unmapped, !folioMapped(src) else {
                removeMigrationPTEs(src, to: src)
                src.unlock()
                folioPut(dst)
                return .failure(.EAGAIN)
            }
        }
        // folio_ref_freeze(src, expected): only the isolation reference and the cache's.
        guard src.refcount == 1 + cacheRefs else {
            removeMigrationPTEs(src, to: src)
            src.unlock()
            folioPut(dst)
            return .failure(.EAGAIN)
        }
        dst.lock()
        for i in 0..<src.nrPages { frames.copy(from: src.pfn + i, to: dst.pfn + i) }
        migrateFlags(from: src, to: dst)
        if let cache {
            guard cache.replaceFolio(src, with: dst) else {
                dst.unlock()
                removeMigrationPTEs(src, to: src)
                src.unlock()
                folioPut(dst)
                return .failure(.EAGAIN)
            }
        } else {
            dst.mapping = src.mapping
            dst.index = src.index
        }
        removeMigrationPTEs(src, to: dst)
        src.mapping = 0
        dst.unlock()
        src.unlock()
        folioAddLRU(dst)
        folioPut(dst)   // the allocation's reference: the mappings and the cache hold it now
        folioPut(src)   // the isolation reference: src is freed
        return .success(dst)
    }

    /// Linux: `folio_migrate_flags()`.
    func migrateFlags(from src: Folio, to dst: Folio) {
        for bit in [flagBits.uptodate, flagBits.dirty, flagBits.swapbacked, flagBits.active, flagBits.referenced,
                    flagBits.workingset, flagBits.mlocked, flagBits.unevictable] where src.testFlag(bit) {
            dst.setFlag(bit)
            if bit != flagBits.uptodate && bit != flagBits.swapbacked { src.clearFlag(bit) }
        }
    }

    /// Linux: `try_to_migrate()`: every PTE mapping `src` becomes a migration entry
    /// (write for a writable PTE, read-exclusive for an exclusive anon page, read
    /// otherwise); an exclusive anon page that may be pinned refuses and stops the walk.
    /// A huge PMD is split first (TTU_SPLIT_HUGE_PMD), or with `splitHugePMD` false
    /// (migrate_device_unmap()'s `try_to_migrate(folio, 0)`) becomes a PMD migration
    /// entry (set_pmd_migration_entry(), Device/DevicePrivatePMD.swift).
    func tryToMigrate(_ src: Folio, splitHugePMD: Bool = true) -> Bool {
        let anon = folioIsAnon(src)
        var ok = true
        let walked = rmapWalk(src) { site in
            if splitHugePMD { site.tables.splitHugePMDs(of: src, in: site) }
            // try_to_migrate_one(): MMU_NOTIFY_CLEAR over the folio's range in this VMA.
            return site.mm.withMMUNotifier(.clear, start: site.address, end: min(site.vma.end, site.address &+ UInt64(src.nrPages) << 12),
                                           machine: self) { () -> Bool in
            forEachMappingPTE(src, in: site) { slot, entry, pfn, huge in
                // page_vma_mapped_walk() also finds device-private entries (check_pte()).
                guard entry.isPresent || entry.isDevicePrivate else { return true }
                if huge {
                    guard !splitHugePMD else { return true }   // the split failed: left mapped
                    guard setPMDMigrationEntry(slot, folio: src) else { ok = false; return false }
                    return true
                }
                let page = Page(unchecked: pfn, context)
                let exclusive = anon && pageAnonExclusive(page, folio: src)
                let writable = entry.isPresent ? entry.isWritable : entry.softLeaf == .devicePrivateWrite
                // try_to_migrate_one(): clear the PTE first, then check for pins (see
                // try_to_unmap_one() in Reclaim.swift), restoring it on failure.
                _ = slot.getAndClear()
                if exclusive {
                    guard folioTryShareAnonRmap(page, folio: src) else { slot.store(entry); ok = false; return false }
                }
                if entry.isPresent, entry.isDirty {
                    if anon { src.setFlag(flagBits.dirty) } else { _ = pageCacheMapping(of: src)?.folioMarkDirty(src) }
                }
                slot.store(.migration(pfn: pfn, write: writable, exclusive: exclusive))
                folioRemoveRmapPTEs(src, firstPfn: pfn, nr: 1)
                folioPut(src)
                return true
            }
            return ok
            }
        }
        return ok && walked
    }

    /// Linux: `remove_migration_ptes()`: each migration entry for a page of `src` becomes
    /// a PTE for the same page of `dst` (`src` itself when undoing), with its write
    /// permission and anon exclusivity restored, one reference and mapping each. With
    /// `mapUnusedToZeropage` (RMP_USE_SHARED_ZEROPAGE, a folio split's remap_page()) a
    /// small anonymous page that reads all zeroes, neither mlocked nor in a VM_LOCKED
    /// VMA, gets the shared zero page instead (try_to_map_unused_to_zeropage()).
    func removeMigrationPTEs(_ src: Folio, to dst: Folio, mapUnusedToZeropage: Bool = false) {
        let anon = folioIsAnon(src)
        // The rmap walk finds the VMAs by src's mapping and index, which dst shares. It
        // waits for each mm's lock: an entry left behind would never resolve.
        rmapWalk(src, tryLock: false) { site in
            forEachMappingPTE(src, in: site) { slot, entry, pfn, huge in
                guard !entry.isPresent else { return true }
                let leaf = entry.softLeaf
                guard leaf.isMigration else { return true }
                if huge {
                    removeMigrationPMD(slot, entry: entry, to: dst)
                    return true
                }
                let newPfn = dst.pfn + (pfn - src.pfn)
                let write = leaf == .migrationWrite
                if mapUnusedToZeropage, anon, !dst.isLarge, !dst.testFlag(flagBits.mlocked),
                   !site.vma.flags.contains(.locked), frameIsZero(newPfn) {
                    slot.store(.page(pfn: zeroPagePfn, writable: false, special: true))
                    return true
                }
                if anon && (write || leaf == .migrationReadExclusive) {
                    setPageAnonExclusive(Page(unchecked: newPfn, context), folio: dst, true)
                }
                dst.get()
                folioAddRmapPTEs(dst, firstPfn: newPfn, nr: 1)
                slot.store(migrationTargetEntry(dst, pfn: newPfn, write: write, dirty: write && dst.testFlag(flagBits.dirty)))
                return true
            }
            return true
        }
    }
}

extension Process {
    /// Linux: `move_pages(2)` / `mbind(MPOL_MF_MOVE)` for `[address, address + length)`:
    /// migrate the folios mapped there to node `nid` (nil: any node) from `gfp`. Each
    /// folio is isolated while the entry that maps it is locked (add_folio_for_migration()
    /// under folio_walk_start()): once the lock is dropped it may be freed, and (memdesc
    /// designs) its descriptor reused for other memory.
    public func migrate(_ address: UInt64, length: UInt64, toNode nid: Int?, gfp: GFP = .highuserMovable) -> MigrateResult {
        var result = MigrateResult()
        let isolated: [Folio] = mm.mmapLock.withReadLock {
            var found: [Folio] = []
            var seen = Set<Int>()
            var addr = address & ~(UserVM.pageSize - 1)
            while addr < address &+ length {
                defer { addr &+= UserVM.pageSize }
                tables.withMappingEntryLocked(addr) { entry in
                    guard entry.isPresent, let folio = tables.normalFolio(entry), seen.insert(folio.pfn).inserted else { return }
                    if machine.folioIsolateLRU(folio) { found.append(folio) } else { result.failed.append((folio, .EBUSY)) }
                }
            }
            return found
        }
        let moved = machine.migrateIsolatedFolios(isolated, nid: nid, gfp: gfp)
        result.migrated = moved.migrated
        result.failed += moved.failed
        return result
    }
}

extension UserPageTables {
    /// Calls `body` with the entry that maps `addr` (a huge PMD or a PTE) while the
    /// table holding it is locked; nothing when no table maps it.
    func withMappingEntryLocked(_ addr: UInt64, _ body: (PTE) -> Void) {
        withMappingEntryLocked(addr) { entry, _ in body(entry) }
    }

    /// As above, telling `body` whether the entry is a huge PMD (present or not: a
    /// device-private THP, a PMD migration entry).
    func withMappingEntryLocked(_ addr: UInt64, _ body: (PTE, Bool) -> Void) {
        guard let pmd = pmdSlot(addr, allocate: false) else { return }
        if pmd.load().isHugeEntry {
            let table = pmdTablePfn(addr)
            lockTable(table)
            defer { unlockTable(table) }
            let entry = pmd.load()
            if entry.isHugeEntry { body(entry, true) } else { _ = withPTELock(addr) { slot, _ in body(slot.load(), false) } }
            return
        }
        _ = withPTELock(addr) { slot, _ in body(slot.load(), false) }
    }
}
