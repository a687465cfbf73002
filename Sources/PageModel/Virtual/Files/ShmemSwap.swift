// Swapping shmem pages: shmem_writeout() (a page-cache folio moves to the swap cache and
// i_pages keeps its swap entry) and shmem_swapin_folio() (the entry is read back into a
// folio that takes its place again), mm/shmem.c (v6.19).

extension PageCacheMapping {
    /// Linux: `shmem_writeout()` for a locked, unmapped order-0 shmem folio that only the
    /// cache and the caller reference: the folio leaves the page cache for the swap
    /// cache, its bytes are written to a new slot, and i_pages remembers the entry (one
    /// swap_map reference). The caller's reference is the last one afterwards: putting
    /// it frees the folio. False, changing nothing, if any condition fails or swap is full.
    func shmemSwapOut(_ folio: Folio) -> Bool {
        guard kind == .shmem, !folio.isLarge, folio.isLocked, folio.mapping == address,
              folio.refcount == 2, !machine.folioMapped(folio) else { return false }
        let swap = machine.swap
        guard let entry = swap.allocate() else { return false }
        do { try swap.cache.add(folio, entry: entry) } catch {
            swap.abandonSwapin(entry)
            return false
        }
        do { try swap.duplicate(entry) } catch {
            _ = swap.cache.remove(folio)
            return false
        }
        let index = folio.index
        guard deleteFromCache(folio) else {
            swap.free(entry)
            _ = swap.cache.remove(folio)
            return false
        }
        state.withLock { $0.swapped[index] = entry }
        putCacheReferences(folio, 1)
        folio.clearFlag(machine.flagBits.dirty)
        swap.writeFolio(folio)
        VMEvents.bump(machine.vmEvents.swapOuts)
        return swap.cache.remove(folio)
    }

    /// The folio at `index` with a reference for the caller: cached, or read back from
    /// swap (`shmem_swapin_folio()`); nil for a hole. ENOMEM when no folio can be had.
    func lookupOrSwapIn(_ index: UInt64) throws(Errno) -> Folio? {
        if let folio = lookupGet(index) { return folio }
        guard let entry = state.withLock({ $0.swapped[index] }) else { return nil }
        let swap = machine.swap
        var folio = swap.cache.getFolio(entry)
        if folio == nil {
            guard let new = machine.folioAlloc(.highuserMovable) else { throw .ENOMEM }
            new.lock()
            do throws(Errno) {
                try swap.prepareSwapin(entry)
                try swap.cache.add(new, entry: entry)
            } catch {
                new.unlock()
                machine.folioPut(new)
                return lookupGet(index)   // someone else is bringing it back
            }
            machine.folioAddLRU(new)   // as do_swap_page()'s: findable by reclaim from here on
            swap.readFolio(new)
            new.unlock()
            folio = new
            VMEvents.bump(machine.vmEvents.swapIns)
            VMEvents.bump(machine.vmEvents.majorFaults)
        }
        guard let folio else { return nil }
        folio.lock()
        // shmem_add_to_page_cache() replacing the swap entry, then swap_free().
        let stillSwapped = state.withLock { $0.swapped[index] == entry }
        guard stillSwapped, (try? add(folio, at: index)) != nil else {
            folio.unlock()
            machine.folioPut(folio)
            return lookupGet(index)
        }
        defer { folio.unlock() }
        state.withLock { _ = $0.swapped.removeValue(forKey: index) }
        folio.setFlag(machine.flagBits.swapbacked)
        folio.setFlag(machine.flagBits.uptodate)
        _ = swap.cache.remove(folio)
        swap.free(entry)
        return folio
    }

    /// Truncation of swapped-out shmem pages: their swap entries are freed
    /// (shmem_free_swap()).
    func freeSwapped(firstIndex: UInt64, lastIndex: UInt64) {
        let entries = state.withLock { state -> [SwapEntry] in
            let indices = state.swapped.keys.filter { $0 >= firstIndex && $0 <= lastIndex }
            return indices.compactMap { state.swapped.removeValue(forKey: $0) }
        }
        for entry in entries { machine.swap.free(entry) }
    }

    /// Pages of this shmem file now in swap.
    public var swappedPages: Int { state.withLock { $0.swapped.count } }
}
