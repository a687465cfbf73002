// Walking the reverse map: rmap_walk_anon() / rmap_walk_file() (mm/rmap.c), and what
// is done at each mapping: try_to_unmap_one() (reclaim: swap or drop),
// try_to_migrate_one() (migration entries), remove_migration_pte() (mm/migrate.c),
// folio_mkclean() and unmap_mapping_range() (mm/memory.c).

/// One place that may map a folio: an mm's page tables, the VMA, and the address the
/// folio's index gives in it (vma_address()).
struct RmapSite {
    let tables: UserPageTables
    let mm: MM
    let vma: VMA
    let address: UInt64
}

extension Machine {
    /// Linux: `rmap_walk()`: calls `visit` for every VMA that may map `folio` (anon: the
    /// mms of its anon_vma and their fork children; file: the mms on the mapping's
    /// i_mmap), with that mm's mmap_lock held for read. The kernel holds the anon_vma or
    /// i_mmap lock instead (deliberate difference: the model has no such locks, the
    /// mmap_lock keeps the VMAs and page tables from changing under the walk).
    ///
    /// With `tryLock` (rwc->try_lock; unmapping for reclaim or migration) each mmap_lock
    /// is only tried, so a walk never waits on a writer: it returns false if some mm
    /// could not be locked, and the caller keeps the folio. Without it (restoring
    /// migration entries, which must reach every mm) the walk waits for each lock. That
    /// cannot deadlock although the caller holds the folio lock: no holder of an
    /// mmap_lock for write waits on a folio lock or a migration (zap and fork only
    /// trylock folios, mprotect populates after dropping it), and the rwlock prefers
    /// readers, so readers waiting on the folio do not hold the walk up.
    /// `visit` returns false to stop the walk.
    @discardableResult
    func rmapWalk(_ folio: Folio, tryLock: Bool = true, _ visit: (RmapSite) -> Bool) -> Bool {
        let mapping = folio.mapping
        let index = folio.index
        let nr = UInt64(folio.nrPages)
        let mappers: () -> [MM]
        let matches: (VMA) -> Bool
        if mapping & folioMappingAnon != 0 {
            guard let anonVMA = registry.object(at: mapping & ~folioMappingFlags, as: AnonVMA.self) else { return true }
            mappers = { anonVMA.mappers }
            matches = { vma in vma.anonVMA.map { anonVMA.isAncestor(of: $0) } ?? false }
        } else if let cache = pageCacheMapping(of: folio) {
            mappers = { cache.iMmap.compactMap { ($0 as? UserPageTables)?.owner } }
            matches = { vma in (vma.file?.file as? any PageCacheBackedFile)?.pageCache(on: self) === cache }
        } else {
            return true
        }
        var complete = true
        var visited = Set<ObjectIdentifier>()
        // A waiting walk reads the mappers again once it has been through them: a fork
        // that held a parent's lock while the walk waited added its child (and copied
        // the parent's entries into it) before letting the walk in, as the kernel's
        // anon_vma chain puts a child after its parent for the same reason.
        var pending = mappers()
        while !pending.isEmpty {
            for mm in pending where visited.insert(ObjectIdentifier(mm)).inserted {
                guard let tables = mm.pageOps as? UserPageTables else { continue }
                let walk = { () -> Bool in
                    for vma in mm.tree.vmas where matches(vma) {
                        // The folio's pages [index, index + nr) against the VMA's [pgoff, pgoff + pages).
                        guard index &+ nr > vma.pgoff, index < vma.pgoff &+ vma.pages else { continue }
                        let first = max(index, vma.pgoff)
                        let address = vma.start &+ ((first &- vma.pgoff) << 12)
                        if !visit(RmapSite(tables: tables, mm: mm, vma: vma, address: address)) { return false }
                    }
                    return true
                }
                let locked: Bool? = tryLock ? mm.mmapLock.tryWithReadLock(walk) : mm.mmapLock.withReadLock(walk)
                guard let keepGoing = locked else { complete = false; continue }
                if !keepGoing { return complete }
            }
            pending = tryLock ? [] : mappers().filter { !visited.contains(ObjectIdentifier($0)) }
        }
        return complete
    }

    /// Visits every PTE (or huge PMD) of `site` that maps a page of `folio`, with its
    /// table locked: `body(slot, entry, pfn, huge)`; returns false from `body` to stop.
    @discardableResult
    func forEachMappingPTE(_ folio: Folio, in site: RmapSite, _ body: (EntrySlot, PTE, Int, Bool) -> Bool) -> Bool {
        let tables = site.tables
        let nr = folio.nrPages
        let pfnEnd = folio.pfn + nr
        var address = site.address
        let end = min(site.vma.end, site.address &+ UInt64(nr) << 12)
        while address < end {
            guard let pmd = tables.pmdSlot(address, allocate: false) else { address = (address & Paging.pmdMask) &+ Paging.pmdSize; continue }
            let pmdEntry = pmd.load()
            if pmdEntry.isHugeEntry {
                // A huge PMD, present or not (a device-private THP, a PMD migration entry).
                if pmdEntry.hugePfn == folio.pfn {
                    let table = tables.pmdTablePfn(address)
                    tables.lockTable(table)
                    let current = pmd.load()
                    let go = current.hugePfn == folio.pfn ? body(pmd, current, folio.pfn, true) : true
                    tables.unlockTable(table)
                    if !go { return false }
                }
                address = (address & Paging.pmdMask) &+ Paging.pmdSize
                continue
            }
            guard pmdEntry.isPresent else { address = (address & Paging.pmdMask) &+ Paging.pmdSize; continue }
            let stop = min(end, (address & Paging.pmdMask) &+ Paging.pmdSize)
            tables.lockTable(pmdEntry.pfn)
            var go = true
            while address < stop, go {
                let pte = tables.slot(pmdEntry.pfn, Paging.index(address, Paging.pageShift))
                let entry = pte.load()
                address &+= UserVM.pageSize
                var pfn = -1
                if entry.isPresent { pfn = entry.pfn } else if let swap = entry.swapEntry, entry.softLeaf.isMigration || entry.isDevicePrivate { pfn = Int(swap.offset) }
                if pfn >= folio.pfn && pfn < pfnEnd { go = body(pte, entry, pfn, false) }
            }
            tables.unlockTable(pmdEntry.pfn)
            if !go { return false }
        }
        return true
    }
}

extension UserPageTables: PageCacheUnmapper {
    /// Linux: `unmap_mapping_range()` for this mm: zap the PTEs that map pages
    /// `[firstIndex, lastIndex]` of `mapping` (private COW copies too when `evenCows`).
    public func unmapMappingRange(_ mapping: PageCacheMapping, firstIndex: UInt64, lastIndex: UInt64, evenCows: Bool) {
        guard let mm = owner else { return }
        mm.mmapLock.withReadLock {
            for vma in mm.tree.vmas {
                guard (vma.file?.file as? any PageCacheBackedFile)?.pageCache(on: machine) === mapping,
                      lastIndex >= vma.pgoff, firstIndex < vma.pgoff &+ vma.pages else { continue }
                let start = vma.start &+ (max(firstIndex, vma.pgoff) &- vma.pgoff) << 12
                let end = min(vma.end, vma.start &+ ((lastIndex &+ 1 &- vma.pgoff) << 12))
                if evenCows || vma.flags.contains(.shared) {
                    zapRange(vma, start: start, end: end, dropMarkers: false)
                } else {
                    // Keep private COW copies: only PTEs that still map page-cache pages go.
                    zapFilePages(vma, start: start, end: end, mapping: mapping)
                }
            }
        }
    }

    /// Linux: `folio_mkclean()` for this mm: write-protect and clean every PTE mapping
    /// `folio`, so the next write faults and dirties it again. Returns the PTEs cleaned.
    public func mkcleanFolio(_ mapping: PageCacheMapping, folio: Folio) -> Int {
        guard let mm = owner else { return 0 }
        var cleaned = 0
        _ = mm.mmapLock.tryWithReadLock {
            for vma in mm.tree.vmas where vma.flags.contains(.shared)
                && (vma.file?.file as? any PageCacheBackedFile)?.pageCache(on: machine) === mapping {
                guard folio.index &+ UInt64(folio.nrPages) > vma.pgoff, folio.index < vma.pgoff &+ vma.pages else { continue }
                let address = vma.start &+ ((max(folio.index, vma.pgoff) &- vma.pgoff) << 12)
                machine.forEachMappingPTE(folio, in: RmapSite(tables: self, mm: mm, vma: vma, address: address)) { slot, entry, _, _ in
                    if entry.isPresent, entry.isWritable || entry.isDirty {
                        slot.store(PTE(rawValue: entry.rawValue & ~(PTE.rw | PTE.dirty)))
                        cleaned += 1
                    }
                    return true
                }
            }
        }
        return cleaned
    }

    /// Zaps only the PTEs of `[start, end)` that map folios of `mapping`.
    func zapFilePages(_ vma: VMA, start: UInt64, end: UInt64, mapping: PageCacheMapping) {
        var addr = start
        while addr < end {
            defer { addr += UserVM.pageSize }
            _ = withPTELock(addr) { pte, _ in
                let entry = pte.load()
                guard entry.isPresent, let folio = normalFolio(entry), machine.pageCacheMapping(of: folio) === mapping else { return }
                _ = pte.getAndClear()
                if entry.isDirty { _ = mapping.folioMarkDirty(folio) }
                machine.folioRemoveRmapPTEs(folio, firstPfn: entry.pfn, nr: 1)
                machine.folioPut(folio)
            }
        }
    }
}
