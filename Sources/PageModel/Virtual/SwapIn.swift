// Swap-in: the swap-entry arm of do_swap_page() (mm/memory.c, v6.19) over the swap
// cache (mm/swap_state.c: swap_cache_get_folio(), swapin_readahead() without readahead)
// and swap_free()/folio_free_swap() (mm/swapfile.c).

extension UserPageTables {
    /// Linux: `do_swap_page()` for a swap entry: find the folio in the swap cache or read
    /// it from the device into a new one, map it (writable when the entry was exclusive,
    /// or for a write fault once the folio is ours alone), drop the PTE's swap reference
    /// and free the swap slot when nothing references it any more.
    func swapIn(_ vma: VMA, address: UInt64, pte: EntrySlot, table: Int, entry orig: PTE, flags: FaultFlags) -> VMFault {
        guard let entry = orig.swapEntry else { return .sigbus }
        let swap = machine.swap
        var result: VMFault = []
        var folio = swap.cache.getFolio(entry)
        if folio == nil {
            do { try swap.prepareSwapin(entry) } catch {
                // Another task is swapping it in (EEXIST) or the entry is stale.
                sched_yield_model()
                return .retry
            }
            guard let new = machine.folioAlloc(userGFP(flags)) else {
                swap.abandonSwapin(entry)
                return .oom
            }
            new.lock()
            do { try swap.cache.add(new, entry: entry) } catch {
                new.unlock()
                swap.abandonSwapin(entry)
                machine.folioPut(new)
                return .retry
            }
            // __read_swap_cache_async(): on the LRU at once, before it is mapped, so
            // that reclaim can find it in the swap cache if the PTE changes meanwhile.
            machine.folioAddLRU(new)
            swap.readFolio(new)
            new.unlock()
            folio = new
            result.insert(.major)
            VMEvents.bump(machine.vmEvents.majorFaults)
            VMEvents.bump(machine.vmEvents.swapIns)
        }
        guard let folio else { return .retry }
        // The anon_vma first, so that nothing needs undoing if it cannot be had.
        guard let anonVMA = vmfAnonPrepare(vma, at: address) else {
            machine.folioPut(folio)
            return .oom
        }
        // folio_lock_or_retry(): with FAULT_FLAG_RETRY_NOWAIT (and ALLOW_RETRY, not
        // TRIED) a folio locked elsewhere is VM_FAULT_RETRY with the mmap_lock kept
        // (__folio_lock_or_retry()); otherwise the model waits for the lock in place.
        if flags.isSuperset(of: [.allowRetry, .retryNowait]), !flags.contains(.tried) {
            guard folio.tryLock() else {
                machine.folioPut(folio)
                return result.union(.retry)
            }
        } else {
            folio.lock()
        }
        lockTable(table)
        // Our reference (from the cache lookup or the allocation) becomes the PTE's; on
        // any way out before that it is dropped after the folio is unlocked.
        func giveUp(_ why: VMFault) -> VMFault {
            unlockTable(table)
            folio.unlock()
            machine.folioPut(folio)
            return why
        }
        guard pte.load() == orig else { return giveUp(result) }
        // A large folio still in the swap cache is mapped page by page.
        let pfn = folio.pfn + Int(entry.offset &- (swap.cache.entry(of: folio)?.offset ?? entry.offset))
        // This PTE's swap reference is one of swap_count(); others are other PTEs.
        let stillUsed = swap.swapCount(entry) > 1
        // do_swap_page(): exclusive when the swap PTE says so, or when nobody else holds
        // the folio (`folio_ref_count(folio) == 1` once the swap cache has let go, which
        // the model does below when no other entry refers to it): a mapping elsewhere or a
        // GUP reference (vmsplice(), a pin) keeps it shared, so a write copies.
        let cacheRefs = swap.cache.contains(folio) ? Int32(folio.nrPages) : 0
        let exclusive = orig.isSwapExclusive || (!stillUsed && folio.refcount == 1 + cacheRefs)
        if !machine.folioIsAnon(folio) {
            guard machine.folioAddNewAnonRmap(folio, anonVMA: anonVMA, index: machine.linearPageIndex(vma, address), pmd: false,
                                              exclusive: exclusive) else { return giveUp(.oom) }
        } else {
            machine.folioAddRmapPTEs(folio, firstPfn: pfn, nr: 1)
            if exclusive { machine.setPageAnonExclusive(Page(unchecked: pfn, machine.context), folio: folio, true) }
        }
        swap.free(entry)
        // A shared folio is mapped read-only; a write then takes the COW fault.
        let writable = exclusive && vma.flags.contains(.write)
        pte.store(.page(pfn: pfn, writable: writable, dirty: writable && flags.contains(.write)))
        unlockTable(table)
        // folio_free_swap(): no PTE refers to the slot any more; the swap copy goes.
        if !stillUsed { swap.cache.remove(folio) }
        folio.unlock()
        return result
    }
}

extension Machine {
    /// Linux: `swap_free()` of a zapped swap PTE; an entry of no device is recorded.
    func swapFree(_ entry: SwapEntry) {
        swap.free(entry)
        // free_swap_and_cache(): a slot now used only by the swap cache frees its folio,
        // with a reference of our own so that the cache's is never dropped under the lock.
        guard swap.swapCount(entry) == 0, let folio = swap.cache.getFolio(entry) else { return }
        if folio.tryLock() {
            if !folioMapped(folio) { swap.cache.remove(folio) }
            folio.unlock()
        }
        folioPut(folio)
    }

    /// Linux: `free_swap_cache()` from `free_pages_and_swap_cache()`: an unmapped folio
    /// left in the swap cache (reclaim kept it) leaves it when no swap entry of it is
    /// referenced any more. The caller holds a reference; PG_swapcache is tested first,
    /// so folios outside the swap cache cost one flag test.
    @inline(__always)
    func freeSwapCache(_ folio: Folio) {
        guard folio.testFlag(flagBits.ownerPriv1), folio.testFlag(flagBits.swapbacked), !folioMapped(folio),
              let entry = swap.cache.entry(of: folio), folio.tryLock() else { return }
        if (0..<folio.nrPages).allSatisfy({ swap.swapCount(entry.advanced(by: $0)) == 0 }) { swap.cache.remove(folio) }
        folio.unlock()
    }

    /// Linux: `swap_duplicate()` for fork; false (entry not copied) if the device refuses.
    func swapDuplicate(_ entry: SwapEntry) -> Bool {
        do { try swap.duplicate(entry) } catch { return false }
        return true
    }
}
