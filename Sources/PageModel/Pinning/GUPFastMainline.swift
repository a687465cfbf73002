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
    let mapping: Int
    let headMask: UInt64
    let referenced: Int
    /// The node field of page->flags (`page_to_nid()`); `nodesMask` 0 where the config
    /// keeps none there (then `section_to_node_table[]`, `MemmapContext.nid(of:)`).
    let nodesShift: UInt64
    let nodesMask: Int
    let zeroPfn: Int
    let ramPfns: Int

    @inline(__always)
    init?(_ machine: Machine) {
        let layout = machine.layout
        let head = machine.context.pointee.bits.head
        guard machine.pins.isMainline, !layout.foliosAreDescriptors, layout.wordSize == 8,
              layout.compoundHead >= 0, layout.flags >= 0, layout.folioRefcount >= 0,
              layout.folioFlags == layout.flags, layout.folioMapping >= 0, head >= 0, head < 64,
              machine.flagBits.referenced >= 0 else { return nil }
        compoundHead = layout.compoundHead
        pageFlags = layout.flags
        refcount = layout.folioRefcount
        mapping = layout.folioMapping
        headMask = 1 &<< UInt64(head)
        referenced = machine.flagBits.referenced
        let fields = machine.context.pointee.fields
        nodesShift = UInt64(fields.nodesShift)
        nodesMask = fields.nodesWidth > 0 ? (1 &<< fields.nodesWidth) &- 1 : 0
        zeroPfn = machine.zeroPagePfn
        ramPfns = machine.pins.ramPfns
    }

    /// The word at `offset` of a struct page: `init` checked the word size is 8 and the
    /// offsets are in the layout, so no per-read size or presence test (`RawView.word`).
    @inline(__always)
    func word(_ view: some RawView, _ offset: Int) -> UInt64 {
        view.field(offset, 8).load(as: UInt64.self)
    }

    /// `page` as its own order-0 folio when it is one in RAM (not a tail, not PG_head, not
    /// the zero page): `page_folio()` of the common case.
    @inline(__always)
    func smallFolio(_ page: Page) -> Folio? {
        smallFolio(page, flags: word(page, pageFlags))
    }

    /// `smallFolio(page)` with `page->flags` read already.
    @inline(__always)
    func smallFolio(_ page: Page, flags: UInt64) -> Folio? {
        guard page.pfn < ramPfns, page.pfn != zeroPfn,
              word(page, compoundHead) & 1 == 0, flags & headMask == 0 else { return nil }
        return Folio(raw: page.raw, address: page.address, pfn: page.pfn, context: page.context)
    }

    /// Linux: `folio_nid()` from the `page->flags` word read already.
    @inline(__always)
    func nid(_ flags: UInt64, _ folio: Folio) -> Int {
        nodesMask != 0 ? Int(truncatingIfNeeded: flags &>> nodesShift) & nodesMask : folio.context.nid(of: folio.pfn)
    }

    /// Linux: `gup_fast_folio_allowed()` for an order-0 folio and a pin without
    /// FOLL_LONGTERM (GUPFast.swift has the whole function): the secretmem check's
    /// `READ_ONCE(folio->mapping)`, a folio without a mapping goes to the slow path, an
    /// anon (or KSM) one and a file one (no model mapping is secretmem) may be pinned.
    @inline(__always)
    func allowed(_ folio: Folio) -> Bool {
        let mapping = word(folio, mapping)
        return mapping != 0 && (mapping & 3 == 0 || mapping & 1 != 0)
    }

    /// Linux: `folio_set_referenced()` (read first, as `Machine.folioSetReferenced`).
    @inline(__always)
    func setReferenced(_ folio: Folio) {
        if word(folio, pageFlags) & (1 &<< UInt64(referenced)) == 0 { folio.setBit(referenced, inWord: pageFlags) }
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
              let page = memmap.page(pte.pfn) else { return nil }
        let pageFlags = fast.word(page, fast.pageFlags)
        guard let folio = fast.smallFolio(page, flags: pageFlags) else { return nil }
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
        batch.acquired(nid: fast.nid(pageFlags, folio), 1, pins: pins)
        if pmdSlot.load() != pmd || slot.load() != pte || !fast.allowed(folio) {
            gupFastUngrab(folio, page: page, refs: 1, flags: flags, batch: &batch)
            return false
        }
        fast.setReferenced(folio)
        pages[nr] = page
        nr += 1
        return true
    }

    /// The entries of `unpin_user_pages()` from `start` on the fast path, in one tight
    /// loop: each an order-0 folio whose next entry is another page (no run to gather),
    /// released with `gup_put_folio(folio, 1)`. Returns the index of the first entry it
    /// did not take (`start` when it took none): the generic loop takes that one.
    @inline(__always)
    func unpinMainlineFast(_ fast: MainlineFastPath, _ pages: UnsafeBufferPointer<Page>, from start: Int, batch: inout PinStatBatch) -> Int {
        var i = start
        let count = pages.count
        let shadow = pins.shadowSlots
        while i < count {
            let page = pages[i]
            guard i &+ 1 == count || pages[i &+ 1].pfn != page.pfn else { break }
            let pageFlags = fast.word(page, fast.pageFlags)
            guard let folio = fast.smallFolio(page, flags: pageFlags) else { break }
            i &+= 1
            guard shadow.trySubtract(folio.pfn, 1) else {
                unpinOfUnpinned(folio, 1)
                continue
            }
            batch.released(nid: fast.nid(pageFlags, folio), 1, pins: pins)
            // MainlinePins.release() of an order-0 folio: folio_put_refs(GUP_PIN_COUNTING_BIAS).
            folioPutRefs(folio, GUPPin.countingBias)
        }
        return i
    }
}
