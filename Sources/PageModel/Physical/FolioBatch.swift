// Freeing folios in batches: folio_batch, folios_put_refs() and free_unref_folios()
// (mm/swap.c, mm/page_alloc.c), as zap_pte_range()'s mmu_gather releases the pages it
// unmapped: one lruvec lock and one zone lock for a run of folios instead of one each.

/// Up to FOLIO_BATCH_SIZE (31) folios whose references are being dropped. `put` drops a
/// reference and keeps the folio if it was the last; `flush` (also done when the batch
/// is full, and when the batch goes away) frees what was kept. One per unmap call.
final class FolioBatch {
    static let capacity = 31
    private let folios = UnsafeMutablePointer<Folio>.allocate(capacity: FolioBatch.capacity)
    private var count = 0
    private let machine: Machine

    init(_ machine: Machine) { self.machine = machine }

    deinit {
        flush()
        folios.deinitialize(count: count)
        folios.deallocate()
    }

    /// Linux: `folio_put()` deferred into the batch.
    @inline(__always)
    func put(_ folio: Folio) {
        guard folio.putTestZero() else {
            if folio.refcount < 0 { machine.folioPut(folio) }   // let folio_put() report the underflow
            return
        }
        (folios + count).initialize(to: folio)
        count += 1
        if count == Self.capacity { flush() }
    }

    /// Linux: `folios_put_refs()`: every folio here has reached refcount 0.
    func flush() {
        guard count > 0 else { return }
        let batch = UnsafeMutableBufferPointer(start: folios, count: count)
        machine.freeFolioBatch(batch)
        folios.deinitialize(count: count)
        count = 0
    }
}

extension Machine {
    /// Linux: `folios_put_refs()` -> `__page_cache_release()` for the whole batch under
    /// one lruvec lock, then `free_unref_folios()`: order-0 pages of one zone go to its
    /// per-cpu lists under one lock; anything else is freed on its own.
    func freeFolioBatch(_ batch: UnsafeMutableBufferPointer<Folio>) {
        let lruBit = flagBits.lru
        if layout.folioLru >= 0, let first = batch.first(where: { $0.testFlag(lruBit) }), let vec = lruvec(of: first) {
            let nid = context.nid(of: first.pfn)   // folio_lruvec(): one per node here
            vec.lock.withLock { counts in
                for folio in batch where folio.testFlag(lruBit) && context.nid(of: folio.pfn) == nid { releaseFromLRU(folio, &counts) }
            }
        }
        var zone: Unmanaged<MemoryZone>?
        var pending = 0
        for i in batch.indices {
            let folio = batch[i]
            lruRemoveOnFree(folio)   // a folio of another node's lruvec
            guard !layout.foliosAreDescriptors, !folio.isLarge, let ref = zoneRef(of: folio.pfn),
                  ref._withUnsafeGuaranteedRef({ $0.span.type != .device }) else {
                freeFolioOffLRU(folio)   // large, memdesc or ZONE_DEVICE folios: their own way
                continue
            }
            guard freePagesPrepare(folio.pfn, order: 0) else { continue }   // bad_page(): leaked, as the kernel does
            if zone == nil { zone = ref }
            if zone?.toOpaque() == ref.toOpaque() {
                batch[pending] = folio   // compact the prepared order-0 folios of this zone in place
                pending += 1
            } else {
                freeToZone(ref, folio.pfn)
            }
        }
        guard let zone, pending > 0 else { return }
        zone._withUnsafeGuaranteedRef { z in
            z.state.withLock { st in
                for i in 0..<pending { z.freePrepared(batch[i].pfn, &st) }
            }
        }
    }

    /// One prepared order-0 page back to its zone (free_frozen_page_commit()).
    private func freeToZone(_ ref: Unmanaged<MemoryZone>, _ pfn: Int) {
        ref._withUnsafeGuaranteedRef { z in z.state.withLock { st in z.freePrepared(pfn, &st) } }
    }
}

extension MemoryZone {
    /// The locked part of free_frozen_pages() for a page that passed free_pages_prepare():
    /// the per-cpu list of its migratetype, or the buddy lists for an isolated pageblock.
    @inline(__always)
    func freePrepared(_ pfn: Int, _ st: inout State) {
        st.frees += 1
        var type = migratetype(of: pfn, &st)
        if type != MigrateType.isolate.rawValue {
            if type >= MigrateType.pcpTypes { type = MigrateType.movable.rawValue }
            freePcp(pfn, order: 0, type: type, &st)
        } else {
            freeOne(pfn, order: 0, type: type, &st)
        }
    }
}
