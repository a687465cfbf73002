// Splitting a large folio into order-0 folios (mm/huge_memory.c, v6.19):
// split_huge_page_to_list_to_order() / __folio_split(), folio_check_splittable(),
// unmap_folio(), __folio_freeze_and_split_unmapped(), __split_unmapped_folio() (the
// scheme's `splitFolio`), lru_add_split_folio(), remap_page() with
// RMP_USE_SHARED_ZEROPAGE (mm/migrate.c try_to_map_unused_to_zeropage()).
//
// Deliberate differences: only anonymous folios are split (a file folio is refused
// with EINVAL: the model's page cache keeps no multi-index entries to split), and an
// anonymous folio in the swap cache is refused with EBUSY (the kernel splits its swap
// cache entries, __swap_cache_replace_folio()). The memdesc designs allocate the new
// folios' descriptors before anything is unmapped and refuse with ENOMEM when the
// descriptor heap is exhausted: v6.19's struct pages need no allocation, the memdesc
// plan's split does. The model keeps no deferred split queue, so the dequeue finds
// `_deferred_list` empty; PG_partially_mapped (page 1) goes with ~PAGE_FLAGS_CHECK_AT_PREP.

import PageLayout

extension Machine {
    /// Linux: `split_huge_page_to_list_to_order(page, NULL, 0)` (`split_folio()` when
    /// `page` is nil): split the locked large anonymous `folio`, of which the caller
    /// holds a reference, into order-0 folios. Every mapping is replaced by migration
    /// entries (a huge PMD split first, TTU_SPLIT_HUGE_PMD), the refcount frozen at the
    /// caller's one, the folio split, each new folio unfrozen at 1 and put on the LRU
    /// after the head, the mappings restored (a page that reads all zeroes is mapped to
    /// the shared zero page instead, unless mlocked), and every new folio but the one
    /// holding `page` unlocked and its reference dropped: the caller's reference and
    /// lock pass to `page`'s folio.
    ///
    /// EINVAL: not large, `page` outside it, or not anonymous; EBUSY: under writeback,
    /// in the swap cache, or without an anon_vma; EAGAIN: references beyond the caller's
    /// and one per mapping (a GUP pin in every design, as `folio_expected_ref_count()`
    /// counts them), or a mapping that could not be unmapped; ENOMEM: (memdesc designs)
    /// no descriptors for the new folios.
    public func splitFolio(_ folio: Folio, lockAt page: Page? = nil) throws(Errno) {
        _ = try splitFolio(folio, lockAt: page ?? folio.headPage, toList: false)
    }

    /// Linux: `split_folio_to_list(folio, list)` with `toList` (the folio isolated from
    /// its LRU): the new folios after the first are not put on an LRU but returned, each
    /// with a reference of its own (lru_add_split_folio()'s `folio_get()` for @list).
    func splitFolio(_ folio: Folio, lockAt: Page, toList: Bool) throws(Errno) -> [Folio] {
        let order = folio.order
        var listed: [Folio] = []
        let error = folioSplit(folio, lockAt: lockAt, list: toList ? { listed.append($0) } : nil)
        // count_vm_event(THP_SPLIT_PAGE) for a PMD-order folio that was split.
        if error == nil, order == Paging.pmdOrder { VMEvents.bump(vmEvents.thpSplitPage) }
        if let error { throw error }
        return listed
    }

    /// Linux: `__folio_split(folio, 0, &folio->page, lock_at, list, SPLIT_TYPE_UNIFORM)`.
    private func folioSplit(_ folio: Folio, lockAt: Page, list: ((Folio) -> Void)?) -> Errno? {
        guard folio.isLarge, pageFolio(lockAt) == folio else { return .EINVAL }
        if !folio.isLocked {
            diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(folio.pfn), reason: "__folio_split: folio not locked"))
        }
        // folio_check_splittable()
        let anon = folioIsAnon(folio)
        if folio.mapping == 0, !anon { return .EBUSY }
        guard anon else { return .EINVAL }
        if folio.testFlag(flagBits.writeback) || swap.cache.contains(folio) { return .EBUSY }
        // folio_get_anon_vma(): an anonymous folio whose anon_vma is gone is being freed.
        guard registry.object(at: folio.mapping & ~folioMappingFlags, as: AnonVMA.self) != nil else { return .EBUSY }
        // The racy check before unmapping: the caller's reference and one per mapping.
        guard folioMapcount(folio) == Int(folio.refcount) - 1 else { return .EAGAIN }
        guard let descriptors = allocateSplitDescriptors(folio) else { return .ENOMEM }
        // unmap_folio(): try_to_migrate() with TTU_SPLIT_HUGE_PMD (anon folios).
        if folioMapped(folio) { _ = tryToMigrate(folio) }
        let device = folioIsDevicePrivate(folio)
        guard let folios = freezeAndSplitUnmapped(folio, descriptors: descriptors, list: list) else {
            removeMigrationPTEs(folio, to: folio)
            return .EAGAIN
        }
        // remap_page(): RMP_USE_SHARED_ZEROPAGE for anon folios that are not device-private.
        for new in folios { removeMigrationPTEs(new, to: new, mapUnusedToZeropage: !device) }
        let keep = pageFolio(lockAt)
        for new in folios where new != keep {
            new.unlock()
            folioPut(new)   // free_folio_and_swap_cache()
        }
        return nil
    }

    /// Linux: `__folio_freeze_and_split_unmapped()`: folio_ref_freeze(folio, 1) (no cache
    /// references; nil if other references remain), the descriptors split, a device-private
    /// folio's driver told (zone_device_private_split_cb(): `folio_split(folio, new)` for each
    /// new folio, then `folio_split(folio, NULL)`), and each new folio unfrozen at 1 and
    /// put on the head's LRU (or `list`). Every new folio keeps PG_locked. Returns the
    /// folios, the head first.
    private func freezeAndSplitUnmapped(_ folio: Folio, descriptors: [UInt64], list: ((Folio) -> Void)?) -> [Folio]? {
        let nr = folio.nrPages
        let device = folioIsDevicePrivate(folio)
        guard folio.atomicCompareExchange(layout.folioRefcount, expected: 1, desired: 0).exchanged else {
            if !isZoneDevice(folio.pfn) { freeSplitDescriptors(descriptors) }
            return nil
        }
        if folio.order > 1 { dequeueDeferredSplit(folio) }
        let onLRU = !device && folio.testFlag(flagBits.lru)
        let pgmap = device ? registry.object(at: folio.pgmap, as: DevPagemap.self) : nil
        splitFolioDescriptors(folio, keep: splitKeptFlags, descriptors: descriptors)
        var folios = [folio]
        folios.reserveCapacity(nr)
        for i in 1..<nr {
            let page = Page(unchecked: folio.pfn + i, context)
            if let pgmap {
                // The new folio's pgmap word (the compound_head slot) was just cleared;
                // the driver's callback sets it again (tail->pgmap = head->pgmap).
                if let new = pageFolio(page) { pgmap.ops.folioSplit?(folio, new) }
            }
            guard let new = pageFolio(page) else { continue }
            folios.append(new)
            new.setAtomicRelease(layout.folioRefcount, 1)
            if let list, !device {
                new.get()
                list(new)
            } else if onLRU {
                lruAddSplitFolio(folio, new)
            }
        }
        pgmap?.ops.folioSplit?(folio, nil)
        folio.setAtomicRelease(layout.folioRefcount, 1)
        return folios
    }

    /// Linux: `folio_split_unmapped(folio, 0)`: split the unmapped, locked large anonymous
    /// `folio`, of which the caller holds the only reference, into order-0 folios, each
    /// locked with one reference (migrate_vma_split_unmapped_folio() migrates each).
    /// EAGAIN: other references (folio_expected_ref_count() != refcount - 1).
    func folioSplitUnmapped(_ folio: Folio) -> Errno? {
        guard folio.isLarge, !folioMapped(folio), folioIsAnon(folio) else { return .EINVAL }
        guard let descriptors = allocateSplitDescriptors(folio) else { return .ENOMEM }
        return freezeAndSplitUnmapped(folio, descriptors: descriptors, list: nil) == nil ? .EAGAIN : nil
    }

    /// The memdesc designs' descriptors for the new folios after the first, allocated
    /// before anything is unmapped; nil when the descriptor heap is exhausted.
    /// A device folio's new folios take their pages' own descriptors, made by
    /// memremap_pages() (`zoneDeviceDescriptors`), as v6.19's take their own struct pages.
    func allocateSplitDescriptors(_ folio: Folio) -> [UInt64]? {
        guard layout.foliosAreDescriptors else { return [] }
        if let own = zoneDeviceDescriptors(folio) { return own }
        var descriptors: [UInt64] = []
        descriptors.reserveCapacity(folio.nrPages - 1)
        for _ in 1..<folio.nrPages {
            guard let address = heap.allocate(size: layout.folioSize, alignment: Layouts.memdescDescriptorAlignment, kind: .folio) else {
                freeSplitDescriptors(descriptors)
                return nil
            }
            descriptors.append(address)
        }
        return descriptors
    }

    /// The flags `__split_folio_to_order()` copies from the head to every new folio:
    /// PG_referenced, swapbacked, mlocked, uptodate, active, workingset, locked,
    /// unevictable and dirty (PG_swapcache too, but a swap-cache folio is not split here).
    private var splitKeptFlags: UInt64 {
        [flagBits.referenced, flagBits.swapbacked, flagBits.mlocked, flagBits.uptodate, flagBits.active,
         flagBits.workingset, flagBits.locked, flagBits.unevictable, flagBits.dirty]
            .filter { $0 >= 0 }.reduce(0) { $0 | (1 << UInt64($1)) }
    }

    private func freeSplitDescriptors(_ descriptors: [UInt64]) {
        for address in descriptors {
            heap.free(address, size: layout.folioSize, alignment: Layouts.memdescDescriptorAlignment, kind: .folio)
        }
    }

    /// The deferred split queue's `list_del_init(&folio->_deferred_list)` when the folio
    /// is on one (struct page designs, where prep_compound_head() initialised the list).
    private func dequeueDeferredSplit(_ folio: Folio) {
        guard !layout.foliosAreDescriptors, layout.folioDeferredList >= 0 else { return }
        let link = folio.address &+ UInt64(layout.folioDeferredList)
        let next = context.next(link)
        guard next != 0, next != link else { return }
        context.listDel(link)
        context.listInit(link)
    }

    /// Linux: `lru_add_split_folio()` (no list: the head is still on its LRU): the new
    /// folio goes just before the head on the head's list, with PG_lru.
    private func lruAddSplitFolio(_ folio: Folio, _ new: Folio) {
        guard layout.folioLru >= 0, let vec = lruvec(of: folio) else { return }
        vec.lock.withLock { counts in
            let list = lruList(of: new)
            context.listAdd(new.address &+ UInt64(layout.folioLru), folio.address &+ UInt64(layout.folioLru), tail: true)
            new.setFlag(flagBits.lru)
            counts[list.rawValue] += 1
        }
    }

    /// Linux: `pages_identical(page, ZERO_PAGE(0))`: whether the frame reads all zeroes.
    func frameIsZero(_ pfn: Int) -> Bool {
        guard let bytes = frames.pointer(pfn: pfn) else { return false }
        let words = Int(UserVM.pageSize) / 8
        for i in 0..<words where bytes.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) != 0 { return false }
        return true
    }
}
