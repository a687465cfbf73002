// Reclaim: shrink_folio_list() and shrink_inactive_list() of mm/vmscan.c (v6.19),
// try_to_unmap() / try_to_unmap_one() of mm/rmap.c, pageout(), __remove_mapping(), and
// reclaim_pages() for MADV_PAGEOUT (mm/madvise.c).

/// What one reclaim pass did (the pgscan/pgsteal family of /proc/vmstat).
public struct ReclaimResult: Sendable, Equatable {
    /// pgscan: folios looked at.
    public var scanned = 0
    /// pgsteal: folios freed.
    public var reclaimed = 0
    /// Anonymous folios written to swap (pswpout counts their pages).
    public var swappedOut = 0
    /// File folios written back before being dropped.
    public var writtenBack = 0
    /// Folios kept because they may be DMA-pinned (the check goes through the design).
    public var keptPinned = 0
    /// Folios kept for any other reason (locked, mapped by an mm that could not be
    /// walked, no swap space, shmem without swap).
    public var kept = 0
}

extension Machine {
    /// Linux: `shrink_inactive_list()` + `shrink_folio_list()` on node `nid`: isolates up
    /// to `count` folios from the tail of the inactive anon and file lists and reclaims
    /// what it can. Folios that may be DMA-pinned are never swapped or dropped.
    @discardableResult
    public func reclaim(nid: Int = 0, count: Int) -> ReclaimResult {
        var result = ReclaimResult()
        for list in [LRUList.inactiveFile, .inactiveAnon, .activeFile, .activeAnon] {
            let want = count - result.reclaimed
            guard want > 0 else { break }
            shrinkFolioList(isolateLRUFolios(nid: nid, list: list, count: want), into: &result)
        }
        return result
    }

    /// Linux: `reclaim_pages()`: reclaim exactly these folios, which the caller keeps
    /// from being freed until they are isolated (a reference of its own).
    @discardableResult
    public func reclaimFolios(_ folios: [Folio]) -> ReclaimResult {
        var result = ReclaimResult()
        shrinkFolioList(folios.filter { folioIsolateLRU($0) }, into: &result)
        return result
    }

    /// Linux: `shrink_folio_list()`. Every folio arrives isolated (off the LRU, with the
    /// isolation reference); each is freed or put back.
    func shrinkFolioList(_ folios: [Folio], into result: inout ReclaimResult) {
        for folio in folios {
            result.scanned += 1
            // shrink_folio_list() never sees an active folio (VM_BUG_ON_FOLIO):
            // reclaim_pages() clears PG_active as it takes each one, and
            // shrink_active_list() deactivates. A freed folio must not keep it
            // (PAGE_FLAGS_CHECK_AT_FREE); activate_locked sets it again below.
            folio.clearFlag(flagBits.active)
            switch shrinkOne(folio, &result) {
            case .freed:
                result.reclaimed += 1
                VMEvents.bump(vmEvents.reclaimed)
            case .keptPinned:
                result.keptPinned += 1
                VMEvents.bump(vmEvents.reclaimKeptPinned)
                folio.setFlag(flagBits.active)   // activate_locked
                folioPutbackLRU(folio)
            case .kept:
                result.kept += 1
                folioPutbackLRU(folio)
            }
        }
    }

    private enum ShrinkOutcome { case freed, keptPinned, kept }

    private func shrinkOne(_ folio: Folio, _ result: inout ReclaimResult) -> ShrinkOutcome {
        guard folio.tryLock() else { return .kept }
        // shrink_folio_list()'s exits: keep_locked (unlock, back to the LRU) and free_it
        // (unlock, drop the isolation's reference).
        func keep(_ outcome: ShrinkOutcome = .kept) -> ShrinkOutcome {
            folio.unlock()
            return outcome
        }
        func free() -> ShrinkOutcome {
            folio.unlock()
            folioPut(folio)
            return .freed
        }
        let anon = folioIsAnon(folio)
        let swapCache = swap.cache.contains(folio)
        if folio.testFlag(flagBits.writeback) || folio.testFlag(flagBits.mlocked) || folio.testFlag(flagBits.unevictable) {
            return keep()
        }
        // "No point in trying to reclaim folio if it is pinned."
        if folioMaybeDMAPinned(folio) { return keep(.keptPinned) }
        let lazyFree = anon && !folio.testFlag(flagBits.swapbacked)
        if anon && !swapCache && !lazyFree {
            // add_to_swap(): large folios are swapped whole when slots of their size exist.
            guard let entry = swap.allocate(order: folio.order) else { return keep() }
            do { try swap.cache.add(folio, entry: entry) } catch {
                swap.abandonSwapin(entry, order: folio.order)
                return keep()
            }
            folio.setFlag(flagBits.dirty)
        }
        if folioMapped(folio) {
            guard tryToUnmap(folio, lazyFree: lazyFree), !folioMapped(folio) else {
                return keep(folioMaybeDMAPinned(folio) ? .keptPinned : .kept)
            }
        }
        if folioMaybeDMAPinned(folio) { return keep(.keptPinned) }
        if lazyFree {
            // A clean MADV_FREE folio is simply dropped; one written again is kept.
            guard !folio.testFlag(flagBits.dirty), folio.refcount == 1 else {
                folio.setFlag(flagBits.swapbacked)
                return keep()
            }
            folio.mapping = 0
            return free()
        }
        // A swap-cache folio that no PTE took (its swap-in lost a race) has no
        // anon_vma, so it is not anon, but folio_mapping() is the swap cache's.
        if anon || swapCache {
            // pageout() to swap, then __remove_mapping() from the swap cache.
            if folio.testFlag(flagBits.dirty) {
                folio.clearFlag(flagBits.dirty)
                guard swap.writeFolio(folio) else { return keep() }
                VMEvents.bump(vmEvents.swapOuts, folio.nrPages)
                result.swappedOut += 1
            }
            guard folio.refcount == 1 + Int32(folio.nrPages), swap.cache.remove(folio) else { return keep() }
            folio.mapping = 0
            return free()
        }
        guard let mapping = pageCacheMapping(of: folio) else { return keep() }
        if mapping.kind == .shmem {
            // shmem_writeout(): shmem pages have no backing file; they go to swap.
            guard mapping.shmemSwapOut(folio) else { return keep() }
            result.swappedOut += 1
            return free()
        }
        if folio.testFlag(flagBits.dirty) {
            guard mapping.writeback(folio) else { return keep() }
            result.writtenBack += 1
        }
        guard mapping.removeMapping(folio) else { return keep() }
        return free()
    }

    /// Linux: `try_to_unmap()`: replace every PTE mapping `folio` by a swap entry (anon in
    /// the swap cache) or nothing (file, lazily freed anon). An exclusive anon page
    /// that may be pinned refuses (`folio_try_share_anon_rmap_pte()`), stopping the walk.
    /// Huge PMDs are split first. Returns false when something could not be unmapped.
    func tryToUnmap(_ folio: Folio, lazyFree: Bool) -> Bool {
        let anon = folioIsAnon(folio)
        let swapEntry = anon && !lazyFree ? swap.cache.entry(of: folio) : nil
        var ok = true
        let walked = rmapWalk(folio) { site in
            site.tables.splitHugePMDs(of: folio, in: site)
            // try_to_unmap_one(): MMU_NOTIFY_CLEAR over the folio's range in this VMA.
            return site.mm.withMMUNotifier(.clear, start: site.address, end: min(site.vma.end, site.address &+ UInt64(folio.nrPages) << 12),
                                           machine: self) { () -> Bool in
            forEachMappingPTE(folio, in: site) { slot, entry, pfn, huge in
                guard entry.isPresent, !huge else { return true }
                let page = Page(unchecked: pfn, context)
                if lazyFree && (entry.isDirty || folio.testFlag(flagBits.dirty)) {
                    // Written since MADV_FREE: it must be kept (and swapped normally later).
                    folio.setFlag(flagBits.dirty)
                    ok = false
                    return false
                }
                var exclusive = false
                // try_to_unmap_one(): the PTE is cleared first (ptep_clear_flush()), then
                // folio_try_share_anon_rmap_pte() checks for pins after its full barrier,
                // restoring the PTE on failure: the order that pairs with GUP-fast, which
                // pins first and then re-reads the PTE.
                _ = slot.getAndClear()
                if anon && !lazyFree {
                    exclusive = pageAnonExclusive(page, folio: folio)
                    guard folioTryShareAnonRmap(page, folio: folio) else { slot.store(entry); ok = false; return false }
                }
                if let swapEntry {
                    let pageEntry = swapEntry.advanced(by: pfn - folio.pfn)
                    guard swapDuplicate(pageEntry) else {
                        slot.store(entry)
                        ok = false
                        return false
                    }
                    slot.store(.swap(pageEntry, exclusive: exclusive))
                } else if entry.isDirty {
                    if anon { folio.setFlag(flagBits.dirty) } else { _ = pageCacheMapping(of: folio)?.folioMarkDirty(folio) }
                }
                folioRemoveRmapPTEs(folio, firstPfn: pfn, nr: 1)
                folioPut(folio)
                return true
            }
            return ok
            }
        }
        return ok && walked
    }
}

extension UserPageTables {
    /// Splits every huge PMD of `site` that maps `folio` (try_to_unmap with
    /// TTU_SPLIT_HUGE_PMD: split_huge_pmd_locked(), told to the notifiers by the
    /// caller's own MMU_NOTIFY_CLEAR over the folio).
    func splitHugePMDs(of folio: Folio, in site: RmapSite) {
        guard folio.isLarge, folio.nrPages >= 1 << Paging.pmdOrder else { return }
        let start = site.address & Paging.pmdMask
        if let pmd = pmdSlot(start, allocate: false), pmd.load().isLeaf || pmd.load().isDevicePrivate, pmd.load().hugePfn == folio.pfn {
            splitHugePMD(site.vma, address: start, notify: false)
        }
    }

    /// MADV_PAGEOUT: reclaim the folios mapped in `[start, end)` (madvise_cold_or_pageout_pte_range()
    /// -> reclaim_pages()). Folios mapped by other mms too are left alone unless only
    /// this mm maps them, as the kernel skips shared folios. Each folio is isolated
    /// while the PTE that maps it is locked, as the kernel does: once the lock is
    /// dropped the folio may be freed, and (memdesc designs) its descriptor reused.
    func reclaimMapped(_ vma: VMA, start: UInt64, end: UInt64) {
        var folios: [Folio] = []
        var seen = Set<Int>()
        forEachPresentPTE(vma, start: start, end: end) { _, entry in
            guard let folio = normalFolio(entry), seen.insert(folio.pfn).inserted,
                  machine.folioMapcount(folio) == 1 || folio.isLarge, machine.folioIsolateLRU(folio) else { return }
            folios.append(folio)
        }
        // The walk holds this mm's mmap_lock for read; reclaim's rmap walk takes it again
        // with trylock (a read lock may be taken twice), so it can proceed.
        var result = ReclaimResult()
        machine.shrinkFolioList(folios, into: &result)
    }
}
