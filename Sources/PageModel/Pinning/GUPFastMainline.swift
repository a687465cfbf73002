// The documented mainline fast path of GUP-fast and unpin_user_pages() (issue 12 item 2
// allows it; issue 19 item 1): mainline over struct pages, a FOLL_PIN without
// FOLL_LONGTERM or FOLL_PCI_P2PDMA, on an order-0 RAM folio mapped writable. That is the
// kernel's own common case, and here the per-page work is what mm/gup.c does for it
// (gup_fast_pte_range(): ptep_get(), the access checks, try_grab_folio_fast() =
// try_get_folio() + `refs * (GUP_PIN_COUNTING_BIAS - 1)`, smp_mb__after_atomic(), the
// PMD/PTE re-check, gup_fast_folio_allowed(), folio_set_referenced(), the store into
// pages[]), with every layout offset and flag bit the generic path reads per page resolved
// once per call. Anything else (a tail page, a large folio, a refcount ≤ 0, a failed
// add-unless-zero, the zero page, device memory, a read-only PTE) takes the generic
// per-page step before anything was taken, so results and diagnostics are the generic
// path's (GUPFast.swift, GUPGrab.swift).
import PageLayout

/// What the mainline fast path reads per page, resolved once per GUP or unpin call; nil
/// when the call is not mainline's common case.
struct MainlineFastPath {
    let compoundHead: Int
    let pageFlags: Int
    let refcount: Int
    let headMask: UInt64
    let zeroPfn: Int
    let ramPfns: Int

    @inline(__always)
    init?(_ machine: Machine) {
        let layout = machine.layout
        let head = machine.context.pointee.bits.head
        guard machine.pins.isMainline, !layout.foliosAreDescriptors, layout.wordSize == 8,
              layout.compoundHead >= 0, layout.flags >= 0, layout.folioRefcount >= 0,
              layout.folioFlags == layout.flags, head >= 0, head < 64 else { return nil }
        compoundHead = layout.compoundHead
        pageFlags = layout.flags
        refcount = layout.folioRefcount
        headMask = 1 &<< UInt64(head)
        zeroPfn = machine.zeroPagePfn
        ramPfns = machine.pins.ramPfns
    }

    /// `page` as its own order-0 folio when it is one in RAM (not a tail, not PG_head, not
    /// the zero page): `page_folio()` of the common case.
    @inline(__always)
    func smallFolio(_ page: Page) -> Folio? {
        guard page.pfn < ramPfns, page.pfn != zeroPfn,
              page.word(compoundHead) & 1 == 0, page.word(pageFlags) & headMask == 0 else { return nil }
        return Folio(raw: page.raw, address: page.address, pfn: page.pfn, context: page.context)
    }
}

extension Machine {
    /// One page of `gup_fast_pte_range()` on the fast path. nil: not the common case,
    /// nothing taken (the caller runs the generic step); false: taken and given back, stop
    /// here (as the generic step would); true: pinned and stored in `pages[nr]`.
    @inline(__always)
    func gupFastMainlinePTE(_ fast: MainlineFastPath, pte: PTE, slot: EntrySlot, pmd: PTE, pmdSlot: EntrySlot, flags: FollFlags,
                            pages: UnsafeMutablePointer<Page>, nr: inout Int, batch: inout PinStatBatch) -> Bool? {
        guard Self.accessPermitted(pte, write: flags.contains(.write)), pte.isWritable, !pte.isSpecial,
              let page = memmap.page(pte.pfn), let folio = fast.smallFolio(page) else { return nil }
        // try_get_folio(): a count ≤ 0 (freed, or the WARN of a negative one) and a failed
        // add-unless-zero are the generic step's to report.
        guard folio.atomic(fast.refcount) > 0, folio.atomicAddUnless(fast.refcount, 1, unless: 0) else { return nil }
        // The re-check of page_folio(): a folio that became large meanwhile is given back
        // and the page retried by the generic step, as try_get_folio() loops.
        guard fast.smallFolio(page) != nil else {
            folioPutRefs(folio, 1)
            return nil
        }
        // try_grab_folio_fast(): no pincount on an order-0 folio, the rest of the bias.
        folio.atomicAdd(fast.refcount, GUPPin.countingBias - 1)
        // smp_mb__after_atomic(): the locked add orders the pin before the re-reads below on
        // x86; the portable full fence elsewhere (RawMemory.fenceAfterAtomic says why).
        RawMemory.fenceAfterAtomic()
        batch.grabSlots(pins.shadow).add(folio.pfn, 1, shared: pins.shadowSlots)
        batch.acquired(folio, 1, in: self)
        if pmdSlot.load() != pmd || slot.load() != pte || !gupFastFolioAllowed(folio, flags) {
            gupFastUngrab(folio, page: page, refs: 1, flags: flags, batch: &batch)
            return false
        }
        folioSetReferenced(folio)
        pages[nr] = page
        nr += 1
        return true
    }

    /// One entry of `unpin_user_pages()` on the fast path: an order-0 folio whose next
    /// entry is another page (no run to gather), released with `gup_put_folio(folio, 1)`.
    /// False: not the common case, the generic loop takes the entry.
    @inline(__always)
    func unpinMainlineFast(_ fast: MainlineFastPath, _ pages: UnsafeBufferPointer<Page>, at i: Int, batch: inout PinStatBatch) -> Bool {
        let page = pages[i]
        guard i + 1 == pages.count || pages[i + 1].pfn != page.pfn, let folio = fast.smallFolio(page) else { return false }
        guard pins.shadowSlots.trySubtract(folio.pfn, 1) else {
            unpinOfUnpinned(folio, 1)
            return true
        }
        batch.released(folio, 1, in: self)
        // MainlinePins.release() of an order-0 folio: folio_put_refs(GUP_PIN_COUNTING_BIAS).
        folioPutRefs(folio, GUPPin.countingBias)
        return true
    }
}
