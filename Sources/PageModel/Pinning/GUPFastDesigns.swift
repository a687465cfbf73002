// Each design's part of the GUP-fast and unpin fast paths (issue 19 item 4): the loops
// of GUPFastMainline.swift are generic over `FastPinDesign` and
// specialized per design, so that every design pays the walk mainline pays (the PTE
// read, pfn_to_page(), try_get_folio()'s add-unless-zero, the re-checks, the exact
// shadow and the batched statistics) plus only its own tracking: what its
// try_grab_folio_fast() and gup_put_folio() arms do beyond mainline's. The design's
// part is the same code its generic grab and release run (its `PinTracker` methods,
// called on the concrete type, statically), so the results, diagnostics and counts
// are the generic path's. The folio is found from the struct page by the design's
// `smallFolio`: the page itself where folios are struct pages, the descriptor its
// memdesc word points to in the memdesc designs (`MemdescFolioLookup`).
import PageLayout

/// A design's per-page work on the fast paths, for an order-0 RAM folio (the fast
/// path's common case, `MainlineFastPath`).
protocol FastPinDesign {
    /// `page_folio()` of the common case: the host address of the order-0 folio of the
    /// struct page at `raw` (pfn `pfn`) and the page's flags word where it was read (its
    /// node, `MainlineFastPath.nid`), nil when the page is not in one (nothing taken:
    /// the generic step runs). Default: folios are struct pages (`isSmallFolio`).
    func smallFolio(_ fast: MainlineFastPath, _ raw: UnsafeMutableRawPointer, pfn: Int) -> (folio: UnsafeMutableRawPointer, flags: UInt64)?

    /// `try_get_folio()`'s re-check under the reference: whether the page at `raw` is
    /// still the order-0 folio at `folio`.
    func isSmallFolio(_ fast: MainlineFastPath, _ raw: UnsafeMutableRawPointer, folio: UnsafeMutableRawPointer, pfn: Int) -> Bool

    /// The folio view of the order-0 folio at `folio`, for the cold paths.
    func folioView(_ fast: MainlineFastPath, _ folio: UnsafeMutableRawPointer, pfn: Int) -> Folio

    /// The design's arm of `try_grab_folio_fast(page, 1, FOLL_PIN)` for the page at `raw`
    /// (pfn `pfn`) in the order-0 folio at `folio`, whose reference `try_get_folio()`
    /// took already. Returns the bytes of what pages[] gets for the page (`raw`, or the
    /// design's proxy: one pointer, so that nothing more is kept live across the
    /// re-checks), or nil when the design refused the pin (it reported it; nothing of its
    /// own is left taken): the caller gives the reference back and stops, as the generic
    /// step does.
    func grab(_ fast: MainlineFastPath, _ raw: UnsafeMutableRawPointer, folio: UnsafeMutableRawPointer, pfn: Int, in machine: Machine) -> UnsafeMutableRawPointer?

    /// The struct page a pages[] entry stands for (a proxy's real page), nil when the
    /// entry is not one the fast unpin takes (the generic loop takes it then).
    func target(_ fast: MainlineFastPath, _ entry: Page) -> UnsafeMutableRawPointer?

    /// The design's arm of `gup_put_folio(folio, 1, FOLL_PIN)` for the order-0 folio at
    /// `folio`, after the exact shadow let the unpin through: the design's own state, then
    /// the references the pin held. `entry` is the pages[] entry being unpinned.
    /// `held` is the shadow's stripe lock the unpin loop holds (-1: none): the design
    /// lets go of it (`MainlineFastPath.letGo`) before it takes a lock of its own or
    /// runs a cold path, since nothing else is taken under that lock (`PinShadowSlots`).
    func release(_ fast: MainlineFastPath, _ folio: UnsafeMutableRawPointer, pfn: Int, entry: Page, in machine: Machine, holding held: inout Int)
}

extension MainlineFastPath {
    /// Lets go of the shadow's stripe lock `held` (-1: none held) and records that none is.
    @inline(__always)
    func letGo(_ held: inout Int) {
        if held >= 0 { shadow.unlockStripe(held) }
        held = -1
    }
}

extension FastPinDesign {
    @inline(__always)
    func target(_ fast: MainlineFastPath, _ entry: Page) -> UnsafeMutableRawPointer? { entry.raw }

    /// Folios that are struct pages: the page, when it is neither a tail nor PG_head.
    @inline(__always)
    func smallFolio(_ fast: MainlineFastPath, _ raw: UnsafeMutableRawPointer, pfn: Int) -> (folio: UnsafeMutableRawPointer, flags: UInt64)? {
        let flags = fast.word(raw, fast.pageFlags)
        return fast.isSmallFolio(raw, flags: flags) ? (raw, flags) : nil
    }

    @inline(__always)
    func isSmallFolio(_ fast: MainlineFastPath, _ raw: UnsafeMutableRawPointer, folio: UnsafeMutableRawPointer, pfn: Int) -> Bool {
        fast.isSmallFolio(raw, flags: fast.word(raw, fast.pageFlags))
    }

    @inline(__always)
    func folioView(_ fast: MainlineFastPath, _ folio: UnsafeMutableRawPointer, pfn: Int) -> Folio { fast.folio(folio, pfn: pfn) }
}

/// Mainline: `refs * (GUP_PIN_COUNTING_BIAS - 1)` more references on grab, the whole
/// bias dropped on release (`MainlinePins`, the order-0 arm).
struct MainlineFastPins: FastPinDesign {
    @inline(__always)
    func grab(_ fast: MainlineFastPath, _ raw: UnsafeMutableRawPointer, folio: UnsafeMutableRawPointer, pfn: Int, in machine: Machine) -> UnsafeMutableRawPointer? {
        // try_grab_folio_fast(): no pincount on an order-0 folio, the rest of the bias.
        RawMemory.atomicAdd(folio + fast.refcount, GUPPin.countingBias - 1)
        return raw
    }

    @inline(__always)
    func release(_ fast: MainlineFastPath, _ folio: UnsafeMutableRawPointer, pfn: Int, entry: Page, in machine: Machine, holding held: inout Int) {
        // MainlinePins.release() of an order-0 folio: folio_put_refs(GUP_PIN_COUNTING_BIAS).
        let left = RawMemory.atomicSubReturn(folio + fast.refcount, GUPPin.countingBias)
        if left <= 0 {
            fast.letGo(&held)
            machine.folioRefsDropped(fast.folio(folio, pfn: pfn), left: left, refs: GUPPin.countingBias)
        }
    }
}

/// dma-pinned-field: `atomic_inc(&page->_dma_pinned_count)` on the head, which an
/// order-0 folio's page is (`DMAPinnedFieldPins`); the field's offset was checked when
/// this was made.
struct DMAPinnedFieldFastPins: FastPinDesign {
    let countOffset: Int

    @inline(__always)
    init?(_ tracker: DMAPinnedFieldPins) {
        guard tracker.countOffset >= 0 else { return nil }
        countOffset = tracker.countOffset
    }

    @inline(__always)
    func grab(_ fast: MainlineFastPath, _ raw: UnsafeMutableRawPointer, folio: UnsafeMutableRawPointer, pfn: Int, in machine: Machine) -> UnsafeMutableRawPointer? {
        RawMemory.atomicAdd(folio + countOffset, 1)
        return raw
    }

    @inline(__always)
    func release(_ fast: MainlineFastPath, _ folio: UnsafeMutableRawPointer, pfn: Int, entry: Page, in machine: Machine, holding held: inout Int) {
        _ = RawMemory.atomicSubReturn(folio + countOffset, 1)
        let left = RawMemory.atomicSubReturn(folio + fast.refcount, 1)
        if left <= 0 {
            fast.letGo(&held)
            machine.folioRefsDropped(fast.folio(folio, pfn: pfn), left: left, refs: 1)
        }
    }
}

/// The designs whose pin is more than an atomic (page-ext, lru-pinned): their own grab
/// and release, called on the concrete class without a retain, over the folio view the
/// fast path makes of the page.
struct LockingFastPins<Tracker: PinTracker & AnyObject>: FastPinDesign {
    let tracker: Unmanaged<Tracker>

    @inline(__always)
    func grab(_ fast: MainlineFastPath, _ raw: UnsafeMutableRawPointer, folio: UnsafeMutableRawPointer, pfn: Int, in machine: Machine) -> UnsafeMutableRawPointer? {
        let refused = tracker._withUnsafeGuaranteedRef { $0.grab(fast.folio(folio, pfn: pfn), at: fast.page(raw, pfn: pfn), refs: 1, fast: true, in: machine) }
        return refused == nil ? raw : nil
    }

    @inline(__always)
    func release(_ fast: MainlineFastPath, _ folio: UnsafeMutableRawPointer, pfn: Int, entry: Page, in machine: Machine, holding held: inout Int) {
        fast.letGo(&held)
        tracker._withUnsafeGuaranteedRef { $0.release(fast.folio(folio, pfn: pfn), at: entry, refs: 1, in: machine) }
    }
}

/// proxy: one `dynamic_page` made and linked under the folio's stripe lock, handed out
/// in pages[] as GUP stores it (`ProxyPins.grabOne`); unpinned through the proxy.
struct ProxyFastPins: FastPinDesign {
    let tracker: Unmanaged<ProxyPins>
    let markerMask: UInt64

    @inline(__always)
    init?(_ tracker: Unmanaged<ProxyPins>, _ machine: Machine) {
        let bit = machine.pins.proxyBit
        guard bit >= 0, bit < 64 else { return nil }
        self.tracker = tracker
        markerMask = 1 &<< UInt64(bit)
    }

    @inline(__always)
    func grab(_ fast: MainlineFastPath, _ raw: UnsafeMutableRawPointer, folio: UnsafeMutableRawPointer, pfn: Int, in machine: Machine) -> UnsafeMutableRawPointer? {
        tracker._withUnsafeGuaranteedRef { $0.grabOne(pfn, in: machine) }
    }

    /// `Machine.proxyTarget`: an entry whose bytes are not its pfn's struct page and
    /// carry the mark is a proxy of that page; the page itself is taken as it is.
    @inline(__always)
    func target(_ fast: MainlineFastPath, _ entry: Page) -> UnsafeMutableRawPointer? {
        guard let real = fast.ramPage(entry.pfn) else { return nil }
        if entry.raw == real { return real }
        return fast.word(entry.raw, fast.pageFlags) & markerMask != 0 ? real : nil
    }

    @inline(__always)
    func release(_ fast: MainlineFastPath, _ folio: UnsafeMutableRawPointer, pfn: Int, entry: Page, in machine: Machine, holding held: inout Int) {
        fast.letGo(&held)
        tracker._withUnsafeGuaranteedRef { $0.release(fast.folio(folio, pfn: pfn), at: entry, refs: 1, in: machine) }
    }
}

/// memdesc32 and memdesc8 (`MemdescPins`): the folio is the separately allocated
/// descriptor the page's memdesc word points to (`MemdescFolioLookup`); the pin is
/// `atomic_add(1, &folio->_pincount)` in it on top of `try_get_folio()`'s reference,
/// one reference per pin as mainline's large folios (mm/gup.c try_grab_folio_fast(),
/// the `folio_has_pincount()` arm, which every memdesc folio takes); the release is
/// `atomic_sub(1, &folio->_pincount)` and `folio_put_refs(folio, 1)` (gup_put_folio()).
/// The same words as `MemdescPins.grab(fast: true)` and `MemdescPins.release` change,
/// without a `Folio` view per page. Its extra over mainline is the indirection (the
/// memdesc word, the descriptor's type, heap, pfn and order checks, twice on pin and
/// once on unpin) and the `_pincount` atomics.
struct MemdescFastPins: FastPinDesign {
    @inline(__always)
    func smallFolio(_ fast: MainlineFastPath, _ raw: UnsafeMutableRawPointer, pfn: Int) -> (folio: UnsafeMutableRawPointer, flags: UInt64)? {
        // No flags word read: memdesc8's page has none, and the node comes from the
        // pfn (`MainlineFastPath.nodesMask` is 0 for descriptor folios).
        guard let folio = fast.descriptors.smallFolio(raw, pfn: pfn) else { return nil }
        return (folio, 0)
    }

    @inline(__always)
    func isSmallFolio(_ fast: MainlineFastPath, _ raw: UnsafeMutableRawPointer, folio: UnsafeMutableRawPointer, pfn: Int) -> Bool {
        fast.descriptors.smallFolio(raw, pfn: pfn) == folio
    }

    @inline(__always)
    func folioView(_ fast: MainlineFastPath, _ folio: UnsafeMutableRawPointer, pfn: Int) -> Folio {
        fast.descriptors.view(folio, pfn: pfn, fast.context)
    }

    @inline(__always)
    func grab(_ fast: MainlineFastPath, _ raw: UnsafeMutableRawPointer, folio: UnsafeMutableRawPointer, pfn: Int, in machine: Machine) -> UnsafeMutableRawPointer? {
        RawMemory.atomicAdd(folio + fast.descriptors.pincount, 1)
        return raw
    }

    @inline(__always)
    func release(_ fast: MainlineFastPath, _ folio: UnsafeMutableRawPointer, pfn: Int, entry: Page, in machine: Machine, holding held: inout Int) {
        RawMemory.atomicAdd(folio + fast.descriptors.pincount, -1)
        let left = RawMemory.atomicSubReturn(folio + fast.refcount, 1)
        if left <= 0 {
            fast.letGo(&held)
            machine.folioRefsDropped(folioView(fast, folio, pfn: pfn), left: left, refs: 1)
        }
    }
}

extension Machine {
    /// `gup_fast_pte_range()` specialized for a design other than mainline's that has a
    /// fast path, memdesc's included (GUPFast.swift calls mainline's, and the generic
    /// step alone for a design without one, inline), out of line (one switch per PTE
    /// table), so that the other designs' code does not change the registers of
    /// mainline's loop.
    @inline(never)
    func gupFastOtherDesignPTERange(_ tables: UserPageTables, pmd: PTE, pmdSlot: EntrySlot, start: UInt64, end: UInt64, flags: FollFlags,
                                    pages: UnsafeMutablePointer<Page>, nr: inout Int, batch: inout PinStatBatch) -> Bool {
        switch pins.hot {
        case .dmaPinnedField(let tracker):
            if let design = DMAPinnedFieldFastPins(tracker) {
                return gupFastPTERange(design, tables, pmd: pmd, pmdSlot: pmdSlot, start: start, end: end, flags: flags,
                                       pages: pages, nr: &nr, batch: &batch)
            }
        case .pageExt(let tracker):
            return gupFastPTERange(LockingFastPins(tracker: tracker), tables, pmd: pmd, pmdSlot: pmdSlot, start: start, end: end,
                                   flags: flags, pages: pages, nr: &nr, batch: &batch)
        case .lruPinned(let tracker):
            return gupFastPTERange(LockingFastPins(tracker: tracker), tables, pmd: pmd, pmdSlot: pmdSlot, start: start, end: end,
                                   flags: flags, pages: pages, nr: &nr, batch: &batch)
        case .proxy(let tracker):
            if let design = ProxyFastPins(tracker, self) {
                return gupFastPTERange(design, tables, pmd: pmd, pmdSlot: pmdSlot, start: start, end: end, flags: flags,
                                       pages: pages, nr: &nr, batch: &batch)
            }
        case .memdesc:
            return gupFastPTERange(MemdescFastPins(), tables, pmd: pmd, pmdSlot: pmdSlot, start: start, end: end, flags: flags,
                                   pages: pages, nr: &nr, batch: &batch)
        case .mainline, .other:
            break
        }
        return gupFastPTERange(MainlineFastPins(), tables, pmd: pmd, pmdSlot: pmdSlot, start: start, end: end, flags: flags,
                               pages: pages, nr: &nr, batch: &batch)
    }

    /// `unpinMainlineFast` specialized for the machine's design; `start` (nothing
    /// taken) for a design without a fast path.
    @inline(__always)
    func unpinDesignFast(_ fast: MainlineFastPath, _ pages: UnsafeBufferPointer<Page>, from start: Int, batch: inout PinStatBatch) -> Int {
        if pins.isMainline { return unpinMainlineFast(MainlineFastPins(), fast, pages, from: start, batch: &batch) }
        return unpinOtherDesignFast(fast, pages, from: start, batch: &batch)
    }

    @inline(never)
    func unpinOtherDesignFast(_ fast: MainlineFastPath, _ pages: UnsafeBufferPointer<Page>, from start: Int, batch: inout PinStatBatch) -> Int {
        switch pins.hot {
        case .dmaPinnedField(let tracker):
            guard let design = DMAPinnedFieldFastPins(tracker) else { return start }
            return unpinMainlineFast(design, fast, pages, from: start, batch: &batch)
        case .pageExt(let tracker): return unpinMainlineFast(LockingFastPins(tracker: tracker), fast, pages, from: start, batch: &batch)
        case .lruPinned(let tracker): return unpinMainlineFast(LockingFastPins(tracker: tracker), fast, pages, from: start, batch: &batch)
        case .proxy(let tracker):
            guard let design = ProxyFastPins(tracker, self) else { return start }
            return unpinMainlineFast(design, fast, pages, from: start, batch: &batch)
        case .memdesc: return unpinMainlineFast(MemdescFastPins(), fast, pages, from: start, batch: &batch)
        case .mainline, .other:
            return start
        }
    }
}
