// The queries the rest of the memory manager asks about pins (include/linux/mm.h:
// folio_maybe_dma_pinned(), folio_needs_cow_for_dma()). Reclaim, fork and migration call
// these, never a design directly.

extension Machine {
    /// Linux: `folio_maybe_dma_pinned()`: exact `_pincount > 0` on folios with a pincount,
    /// else `(unsigned)refcount >= GUP_PIN_COUNTING_BIAS` (false positives allowed, false
    /// negatives never).
    public func folioMaybeDMAPinned(_ folio: Folio) -> Bool {
        if let pins = folio.pincount { return pins > 0 }
        return UInt32(bitPattern: folio.refcount) >= 1024
    }

    /// Linux: `folio_needs_cow_for_dma()`: only an mm that ever pinned (MMF_HAS_PINNED)
    /// copies possibly pinned anon folios at fork.
    public func folioNeedsCOWForDMA(_ folio: Folio, in mm: MM) -> Bool {
        mm.hasPinned && folioMaybeDMAPinned(folio)
    }
}
