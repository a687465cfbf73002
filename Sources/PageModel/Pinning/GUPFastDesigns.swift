// Each design's part of the GUP-fast and unpin fast paths over struct pages (issue 19
// item 4): the loops of GUPFastMainline.swift are generic over `FastPinDesign` and
// specialized per design, so that every design pays the walk mainline pays (the PTE
// read, pfn_to_page(), try_get_folio()'s add-unless-zero, the re-checks, the exact
// shadow and the batched statistics) plus only its own tracking: what its
// try_grab_folio_fast() and gup_put_folio() arms do beyond mainline's. The design's
// part is the same code its generic grab and release run (its `PinTracker` methods,
// called on the concrete type, statically), so the results, diagnostics and counts
// are the generic path's.
import PageLayout

/// A design's per-page work on the fast paths, for an order-0 RAM folio (the fast
/// path's common case, `MainlineFastPath`).
protocol FastPinDesign {
    /// The design's arm of `try_grab_folio_fast(page, 1, FOLL_PIN)` for the order-0
    /// folio at `raw` (pfn `pfn`), whose reference `try_get_folio()` took already.
    /// Returns the bytes of what pages[] gets for the page (`raw`, or the design's
    /// proxy: one pointer, so that nothing more is kept live across the re-checks), or
    /// nil when the design refused the pin (it reported it; nothing of its own is left
    /// taken): the caller gives the reference back and stops, as the generic step does.
    func grab(_ fast: MainlineFastPath, _ raw: UnsafeMutableRawPointer, pfn: Int, in machine: Machine) -> UnsafeMutableRawPointer?

    /// The struct page a pages[] entry stands for (a proxy's real page), nil when the
    /// entry is not one the fast unpin takes (the generic loop takes it then).
    func target(_ fast: MainlineFastPath, _ entry: Page) -> UnsafeMutableRawPointer?

    /// The design's arm of `gup_put_folio(folio, 1, FOLL_PIN)` for the order-0 folio at
    /// `raw`, after the exact shadow let the unpin through: the design's own state, then
    /// the references the pin held. `entry` is the pages[] entry being unpinned.
    /// `held` is the shadow's stripe lock the unpin loop holds (-1: none): the design
    /// lets go of it (`MainlineFastPath.letGo`) before it takes a lock of its own or
    /// runs a cold path, since nothing else is taken under that lock (`PinShadowSlots`).
    func release(_ fast: MainlineFastPath, _ raw: UnsafeMutableRawPointer, pfn: Int, entry: Page, in machine: Machine, holding held: inout Int)
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
}

/// Mainline: `refs * (GUP_PIN_COUNTING_BIAS - 1)` more references on grab, the whole
/// bias dropped on release (`MainlinePins`, the order-0 arm).
struct MainlineFastPins: FastPinDesign {
    @inline(__always)
    func grab(_ fast: MainlineFastPath, _ raw: UnsafeMutableRawPointer, pfn: Int, in machine: Machine) -> UnsafeMutableRawPointer? {
        // try_grab_folio_fast(): no pincount on an order-0 folio, the rest of the bias.
        RawMemory.atomicAdd(raw + fast.refcount, GUPPin.countingBias - 1)
        return raw
    }

    @inline(__always)
    func release(_ fast: MainlineFastPath, _ raw: UnsafeMutableRawPointer, pfn: Int, entry: Page, in machine: Machine, holding held: inout Int) {
        // MainlinePins.release() of an order-0 folio: folio_put_refs(GUP_PIN_COUNTING_BIAS).
        let left = RawMemory.atomicSubReturn(raw + fast.refcount, GUPPin.countingBias)
        if left <= 0 {
            fast.letGo(&held)
            machine.folioRefsDropped(fast.folio(raw, pfn: pfn), left: left, refs: GUPPin.countingBias)
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
    func grab(_ fast: MainlineFastPath, _ raw: UnsafeMutableRawPointer, pfn: Int, in machine: Machine) -> UnsafeMutableRawPointer? {
        RawMemory.atomicAdd(raw + countOffset, 1)
        return raw
    }

    @inline(__always)
    func release(_ fast: MainlineFastPath, _ raw: UnsafeMutableRawPointer, pfn: Int, entry: Page, in machine: Machine, holding held: inout Int) {
        _ = RawMemory.atomicSubReturn(raw + countOffset, 1)
        let left = RawMemory.atomicSubReturn(raw + fast.refcount, 1)
        if left <= 0 {
            fast.letGo(&held)
            machine.folioRefsDropped(fast.folio(raw, pfn: pfn), left: left, refs: 1)
        }
    }
}

/// The designs whose pin is more than an atomic (page-ext, lru-pinned): their own grab
/// and release, called on the concrete class without a retain, over the folio view the
/// fast path makes of the page.
struct LockingFastPins<Tracker: PinTracker & AnyObject>: FastPinDesign {
    let tracker: Unmanaged<Tracker>

    @inline(__always)
    func grab(_ fast: MainlineFastPath, _ raw: UnsafeMutableRawPointer, pfn: Int, in machine: Machine) -> UnsafeMutableRawPointer? {
        let refused = tracker._withUnsafeGuaranteedRef { $0.grab(fast.folio(raw, pfn: pfn), at: fast.page(raw, pfn: pfn), refs: 1, fast: true, in: machine) }
        return refused == nil ? raw : nil
    }

    @inline(__always)
    func release(_ fast: MainlineFastPath, _ raw: UnsafeMutableRawPointer, pfn: Int, entry: Page, in machine: Machine, holding held: inout Int) {
        fast.letGo(&held)
        tracker._withUnsafeGuaranteedRef { $0.release(fast.folio(raw, pfn: pfn), at: entry, refs: 1, in: machine) }
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
    func grab(_ fast: MainlineFastPath, _ raw: UnsafeMutableRawPointer, pfn: Int, in machine: Machine) -> UnsafeMutableRawPointer? {
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
    func release(_ fast: MainlineFastPath, _ raw: UnsafeMutableRawPointer, pfn: Int, entry: Page, in machine: Machine, holding held: inout Int) {
        fast.letGo(&held)
        tracker._withUnsafeGuaranteedRef { $0.release(fast.folio(raw, pfn: pfn), at: entry, refs: 1, in: machine) }
    }
}

extension Machine {
    /// `gup_fast_pte_range()` specialized for a design other than mainline's that has a
    /// fast path (GUPFast.swift calls mainline's, and the generic step alone for a design
    /// without one, inline), out of line (one switch per PTE table), so that the other
    /// designs' code does not change the registers of mainline's loop.
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
        case .mainline, .memdesc, .other:
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
        case .mainline, .memdesc, .other:
            return start
        }
    }
}
