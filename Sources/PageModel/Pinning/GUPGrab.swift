// Grabbing and releasing DMA pins on folios (mm/gup.c v6.19: try_get_folio(),
// gup_put_folio() 102-113, try_grab_folio() 140-177, folio_add_pin() 212-230,
// unpin_user_page*() 185-470, try_grab_folio_fast() 517-580). The generic checks are
// the kernel's; the design's part goes through `pins.tracker`.
import Atomics
import PageLayout

extension Machine {
    /// Linux: `is_zero_folio()` / `is_zero_page()`.
    @inline(__always)
    func isZeroPagePfn(_ pfn: Int) -> Bool { pfn == zeroPagePfn }

    /// Linux: `try_grab_folio(folio, refs, FOLL_PIN)` [mm/gup.c:140-177]:
    /// - `WARN_ON_ONCE(folio_ref_count(folio) <= 0)` → `-ENOMEM`. This is mainline's
    ///   overflow refusal: a refcount that wrapped into the sign bit (2^21 bias pins on a
    ///   small folio) reads ≤ 0 and the next pin is refused;
    /// - a PCI P2PDMA folio without FOLL_PCI_P2PDMA → `-EREMOTEIO`;
    /// - the zero page: nothing changes, success;
    /// - otherwise the design's pin, then `NR_FOLL_PIN_ACQUIRED += refs`.
    /// `page` is the first pinned page of the folio (default: the head).
    public func tryGrabFolio(_ folio: Folio, refs: Int32 = 1, page: Page? = nil, allowP2PDMA: Bool = false) throws(Errno) {
        guard refs > 0 else { return }
        if folio.refcount <= 0 {
            diagnostics.recordOnce(site: Self.tryGrabFolioRefcountSite,
                                   Diagnostic(kind: .warn, pfn: UInt64(folio.pfn),
                                              reason: "try_grab_folio: WARN_ON_ONCE(folio_ref_count(folio) <= 0): refcount \(folio.refcount) (ENOMEM)",
                                              dump: dumpPage(folio.headPage)))
            pins.counters.refusedGrabs.add(1, ordering: .relaxed)
            throw .ENOMEM
        }
        if !allowP2PDMA, isPCIP2PDMA(folio) { throw .EREMOTEIO }
        if isZeroPagePfn(folio.pfn) { return }
        if let error = pins.tracker.grab(folio, at: page ?? folio.headPage, refs: refs, fast: false, in: self) {
            pins.counters.refusedGrabs.add(1, ordering: .relaxed)
            throw error
        }
        notePinsAcquired(folio, refs, nodeStat: true)
    }

    /// The `WARN_ON_ONCE(folio_ref_count(folio) <= 0)` site of `try_grab_folio()`, hit by
    /// FOLL_PIN and FOLL_GET alike.
    static let tryGrabFolioRefcountSite = "try_grab_folio: folio_ref_count(folio) <= 0"

    /// `try_grab_folio(page_folio(page), refs, FOLL_PIN)` from a page, as GUP's slow path
    /// calls it; the zero page is a no-op even where it has no folio (memdesc designs).
    /// Memory without a folio (memdesc Misc) has no refcount: WARN and `-ENOMEM`.
    /// `vma`, where the caller has it, reaches a vmalloc page's scamem kept in
    /// `vm_private_data` (seed 004's VMA placements).
    public func tryGrabPage(_ page: Page, refs: Int32 = 1, allowP2PDMA: Bool = false, vma: VMA? = nil) throws(Errno) {
        if isZeroPagePfn(page.pfn) { return }
        guard let folio = pageFolio(page) else {
            // A vmalloc page of a scamem (seed 004 option 4): one reference on the scamem.
            if refs == 1, scamemTryGrab(page, vma: vma) { return }
            diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(page.pfn), reason: "try_grab_folio: memory without a folio has no refcount to pin (ENOMEM)"))
            pins.counters.refusedGrabs.add(1, ordering: .relaxed)
            throw .ENOMEM
        }
        try tryGrabFolio(folio, refs: refs, page: page, allowP2PDMA: allowP2PDMA)
    }

    /// Linux: `try_grab_folio_fast(page, refs, FOLL_PIN [| FOLL_LONGTERM])`
    /// [mm/gup.c:517-580]: the zero page is returned as is; otherwise `try_get_folio()`
    /// (add-unless-zero on the refcount, then re-check `page_folio()`), the longterm
    /// check, the design's pin, `smp_mb__after_atomic()`, `NR_FOLL_PIN_ACQUIRED += refs`.
    /// nil means "fall back to the slow path"; nothing is left taken then.
    public func tryGrabFolioFast(_ page: Page, refs: Int32 = 1, longterm: Bool = false, allowP2PDMA: Bool = false) -> Folio? {
        var batch = PinStatBatch()
        defer { flush(&batch) }
        return tryGrabFolioFast(page, refs: refs, longterm: longterm, allowP2PDMA: allowP2PDMA, batch: &batch)
    }

    /// `tryGrabFolioFast` with the statistics counted into `batch` (GUP-fast flushes once
    /// per call, as the kernel's per-cpu vmstat deltas are folded later).
    @inline(__always)
    func tryGrabFolioFast(_ page: Page, refs: Int32, longterm: Bool, allowP2PDMA: Bool, batch: inout PinStatBatch) -> Folio? {
        guard refs > 0 else { return nil }
        if isZeroPagePfn(page.pfn) { return pageFolio(page) }
        guard let folio = tryGetFolio(page, refs: refs) else { return nil }
        if (!allowP2PDMA && isPCIP2PDMA(folio)) || (longterm && !folioIsLongtermPinnable(folio)) {
            folioPutRefs(folio, refs)
            return nil
        }
        // Mainline, memdesc and dma-pinned-field are called directly (their grabs
        // inline); the designs that take locks out of line (`lockingDesignGrab`).
        let refused: Errno?
        if pins.isMainline {
            refused = MainlinePins().grab(folio, at: page, refs: refs, fast: true, in: self)
        } else if case .memdesc(let tracker) = pins.hot {
            refused = tracker.grab(folio, at: page, refs: refs, fast: true, in: self)
        } else if case .dmaPinnedField(let tracker) = pins.hot {
            refused = tracker.grab(folio, at: page, refs: refs, fast: true, in: self)
        } else {
            refused = lockingDesignGrab(folio, at: page, refs: refs)
        }
        if refused != nil {
            folioPutRefs(folio, refs)
            return nil
        }
        // smp_mb__after_atomic(): the pin's RMW is ordered before the caller's re-reads of
        // the PTE and PMD (on x86 the locked RMW is the barrier; RawMemory says why).
        RawMemory.fenceAfterAtomic()
        // The exact shadow: this thread's grab slot, no shared atomic (PinShadowSlots).
        let slots = pins.shadowSlots
        if slots.contains(folio.pfn) { batch.grabSlots(pins.shadow).add(folio.pfn, Int64(refs), shared: slots) } else { pins.shadow.addBeyond(folio.pfn, Int64(refs)) }
        batch.acquired(folio, refs, in: self)
        return folio
    }

    /// Linux: `try_get_folio()` [mm/gup.c:70-100]: `WARN_ON_ONCE(folio_ref_count < 0)`,
    /// `folio_ref_try_add()` (fails on a folio being freed), then the re-check that the
    /// page still belongs to the folio (it may have been split meanwhile). In the
    /// memdesc designs the descriptor may also have been freed and reused for another
    /// folio between the lookup and the reference (the kernel would need its folio
    /// descriptors SLAB_TYPESAFE_BY_RCU for that to be safe): the reference is then on
    /// that other folio, and is given back to it, as it is now (`reread`).
    @inline(__always)
    func tryGetFolio(_ page: Page, refs: Int32) -> Folio? {
        while true {
            guard let found = pageFolio(page) else { return nil }
            if found.refcount < 0 {
                tryGetFolioNegativeRefcount(found)
                return nil
            }
            guard found.refAddUnless(refs, unless: 0) else { return nil }
            let folio = found.reread
            guard let now = pageFolio(page), now == folio, now.pfn == folio.pfn else {
                folioPutRefs(folio, refs)
                continue
            }
            return folio
        }
    }

    /// The `WARN_ON_ONCE(folio_ref_count(folio) < 0)` of `try_get_folio()`, outlined so
    /// that the diagnostic's string building does not keep the grab from being inlined.
    @inline(never)
    private func tryGetFolioNegativeRefcount(_ found: Folio) {
        diagnostics.recordOnce(site: "try_get_folio: folio_ref_count(folio) < 0",
                               Diagnostic(kind: .warn, pfn: UInt64(found.pfn), reason: "try_get_folio: WARN_ON_ONCE(folio_ref_count(folio) < 0)"))
        pins.counters.refusedGrabs.add(1, ordering: .relaxed)
    }

    /// Linux: `gup_put_folio(folio, refs, FOLL_PIN)` [mm/gup.c:102-113]: the zero page is
    /// a no-op; otherwise `NR_FOLL_PIN_RELEASED += refs` and the design's release. An
    /// unpin of more pins than the folio has (by the exact count) is recorded and
    /// refused, so that no pin is lost or doubled.
    public func gupPutFolio(_ folio: Folio, refs: Int32 = 1, page: Page? = nil) {
        var batch = PinStatBatch()
        gupPutFolio(folio, refs: refs, page: page, batch: &batch)
        flush(&batch)
    }

    /// `gupPutFolio` with the statistics counted into `batch`.
    @inline(__always)
    func gupPutFolio(_ folio: Folio, refs: Int32, page: Page?, batch: inout PinStatBatch) {
        guard refs > 0, !isZeroPagePfn(folio.pfn) else { return }
        let slots = pins.shadowSlots
        let subtracted = slots.contains(folio.pfn) ? slots.trySubtract(folio.pfn, Int64(refs))
                                                   : pins.shadow.trySubtractBeyond(folio.pfn, Int64(refs))
        guard subtracted else {
            unpinOfUnpinned(folio, refs)
            return
        }
        batch.released(folio, refs, in: self)
        if pins.isMainline {
            MainlinePins().release(folio, at: page, refs: refs, in: self)
        } else {
            switch pins.hot {
            case .mainline: MainlinePins().release(folio, at: page, refs: refs, in: self)
            case .memdesc(let tracker): tracker.release(folio, at: page, refs: refs, in: self)
            case .dmaPinnedField(let tracker): tracker.release(folio, at: page, refs: refs, in: self)
            case .pageExt, .lruPinned, .proxy, .other: lockingDesignRelease(folio, at: page, refs: refs)
            }
        }
    }

    /// The release of a design whose pin takes locks (page-ext, lru-pinned, proxy; a
    /// design under test through the protocol), out of line so that the atomic-only
    /// designs' release stays small enough to inline.
    @inline(never)
    private func lockingDesignRelease(_ folio: Folio, at page: Page?, refs: Int32) {
        switch pins.hot {
        case .pageExt(let tracker): tracker._withUnsafeGuaranteedRef { $0.release(folio, at: page, refs: refs, in: self) }
        case .lruPinned(let tracker): tracker._withUnsafeGuaranteedRef { $0.release(folio, at: page, refs: refs, in: self) }
        case .proxy(let tracker): tracker._withUnsafeGuaranteedRef { $0.release(folio, at: page, refs: refs, in: self) }
        default: pins.tracker.release(folio, at: page, refs: refs, in: self)
        }
    }

    /// The GUP-fast grab (`fast: true`) of a design whose pin takes locks (page-ext,
    /// lru-pinned, proxy; a design under test through the protocol), out of line as
    /// `lockingDesignRelease` is.
    @inline(never)
    private func lockingDesignGrab(_ folio: Folio, at page: Page, refs: Int32) -> Errno? {
        switch pins.hot {
        case .mainline: MainlinePins().grab(folio, at: page, refs: refs, fast: true, in: self)
        case .pageExt(let tracker): tracker._withUnsafeGuaranteedRef { $0.grab(folio, at: page, refs: refs, fast: true, in: self) }
        case .lruPinned(let tracker): tracker._withUnsafeGuaranteedRef { $0.grab(folio, at: page, refs: refs, fast: true, in: self) }
        case .proxy(let tracker): tracker._withUnsafeGuaranteedRef { $0.grab(folio, at: page, refs: refs, fast: true, in: self) }
        default: pins.tracker.grab(folio, at: page, refs: refs, fast: true, in: self)
        }
    }

    /// An unpin of more pins than the folio has: recorded and refused (cold path).
    @inline(never)
    func unpinOfUnpinned(_ folio: Folio, _ refs: Int32) {
        pins.counters.unpinsOfUnpinned.add(1, ordering: .relaxed)
        diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(folio.pfn),
                                      reason: "unpin_user_page: \(refs) pin(s) released on a folio with \(pins.shadow.pins(folio.pfn)) pin(s): refused",
                                      dump: dumpPage(folio.headPage)))
    }

    /// Linux: `folio_add_pin()` [mm/gup.c:212-230]: one more pin on a folio the caller has
    /// pinned already; the zero page is a no-op. Like the kernel, it does not bump
    /// NR_FOLL_PIN_ACQUIRED (the exact statistics do count it). A folio without a pin
    /// (exact count 0) is recorded and left alone.
    public func folioAddPin(_ folio: Folio) {
        guard !isZeroPagePfn(folio.pfn) else { return }
        guard pins.shadow.pins(folio.pfn) > 0 else {
            diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(folio.pfn), reason: "folio_add_pin: folio is not pinned: refused"))
            return
        }
        pins.tracker.addPin(folio, in: self)
        notePinsAcquired(folio, 1, nodeStat: false)
    }

    /// Linux: `unpin_user_page()`: `gup_put_folio(page_folio(page), 1, FOLL_PIN)`; a proxy
    /// (proxy design) is unpinned through itself.
    public func unpinUserPage(_ page: Page) {
        let target = proxyTarget(page) ?? page
        if isZeroPagePfn(target.pfn) { return }
        guard let folio = pageFolio(target) else {
            scamemRelease(target, operation: "unpin_user_page")
            return
        }
        gupPutFolio(folio, refs: 1, page: page)
    }

    /// Linux: `unpin_user_pages_dirty_lock(pages, npages, make_dirty)` [mm/gup.c:300-360]:
    /// per folio, if `make_dirty` and it is not dirty, `folio_lock()`, mark it dirty,
    /// `folio_unlock()`; then release its pins. Runs of entries in the same folio are
    /// released together (`gup_folio_next()`), except proxies, which go one by one.
    public func unpinUserPages(_ pages: [Page], makeDirty: Bool = false) {
        pages.withUnsafeBufferPointer { unpinUserPages($0, makeDirty: makeDirty) }
    }

    /// `unpin_user_pages_dirty_lock()` over a caller's buffer (no allocation): the
    /// partner of `Process.pinUserPagesFast(start:nrPages:flags:into:)`.
    public func unpinUserPages(_ pages: UnsafeBufferPointer<Page>, makeDirty: Bool = false) {
        var batch = PinStatBatch()
        defer { flush(&batch) }
        var i = 0
        // The folio of pages[i] when the previous run's scan already looked it up.
        var known: Folio?
        // Read once: only a design that returns proxies needs each entry looked at for one.
        let proxies = pins.proxyBit >= 0
        // Tail pages carry compound_head only where folios are head struct pages.
        let structPages = !layout.foliosAreDescriptors
        // The common case, resolved once, specialized for the design
        // (GUPFastMainline.swift, GUPFastDesigns.swift).
        let fast = makeDirty ? nil : MainlineFastPath(self)
        // Tested once: a design without a fast path does not look into the optional per entry.
        let hasFastPath = fast != nil
        while i < pages.count {
            if hasFastPath, let fast {
                let next = unpinDesignFast(fast, pages, from: i, batch: &batch)
                if next != i {
                    known = nil
                    i = next
                    continue
                }
            }
            let page = pages[i]
            let proxy = proxies ? proxyTarget(page) : nil
            let target = proxy ?? page
            let found = known ?? pageFolio(target)
            known = nil
            // The zero page: gup_put_folio() does nothing. Deliberately it is not dirtied
            // either (v6.19's folio_mark_dirty() → noop_dirty_folio() would set PG_dirty
            // on it, to no effect).
            guard !isZeroPagePfn(target.pfn), let folio = found else {
                if !isZeroPagePfn(target.pfn) { scamemRelease(target, operation: "unpin_user_page") }
                i += 1
                continue
            }
            var nr = 1
            if proxy == nil {
                // gup_folio_next() where no entry can be a proxy: the tails of this folio
                // (THP's 512 subpages) in a tight loop of compares, the loop below goes on
                // from the first entry that is not one.
                if structPages && !proxies {
                    let tailWord = folio.address &+ 1, offset = layout.compoundHead, count = pages.count
                    if offset >= 0, layout.wordSize == 8 {
                        // 64-bit struct pages: the word loaded as is, without each entry's
                        // view reading the layout's word size again (`RawView.word`).
                        while i &+ nr < count, (pages[i &+ nr].raw + offset).load(as: UInt64.self) == tailWord { nr &+= 1 }
                    } else {
                        while i &+ nr < count, pages[i &+ nr].word(offset) == tailWord { nr &+= 1 }
                    }
                }
                // gup_folio_next(): the run of entries in the same folio.
                while i + nr < pages.count, !proxies || proxyTarget(pages[i + nr]) == nil {
                    let entry = pages[i + nr]
                    // A tail of this folio: page_folio(entry) == folio, compared as the
                    // kernel compares the pointers, without making the head's view.
                    if structPages, entry.compoundHeadWord == folio.address &+ 1 {
                        nr += 1
                        continue
                    }
                    let next = pageFolio(entry)
                    guard next == folio else {
                        known = next
                        break
                    }
                    nr += 1
                }
            }
            if makeDirty { folioMarkDirtyLocked(folio) }
            gupPutFolio(folio, refs: Int32(nr), page: page, batch: &batch)
            i += nr
        }
    }

    /// Linux: `unpin_user_page_range_dirty_lock(page, npages, make_dirty)`
    /// [mm/gup.c]: the same over `nrPages` physically contiguous pages from `page`, one
    /// folio at a time (`gup_folio_range_next()`).
    public func unpinUserPageRangeDirtyLock(_ page: Page, nrPages: Int, makeDirty: Bool) {
        var i = 0
        while i < nrPages {
            guard let current = memmap.page(page.pfn + i), let folio = pageFolio(current) else { i += 1; continue }
            let nr = min(nrPages - i, folio.pfn + folio.nrPages - current.pfn)
            if !isZeroPagePfn(current.pfn) {
                if makeDirty { folioMarkDirtyLocked(folio) }
                gupPutFolio(folio, refs: Int32(nr), page: current)
            }
            i += max(nr, 1)
        }
    }

    /// `folio_lock(); folio_mark_dirty(); folio_unlock()`: a page-cache folio is dirtied
    /// through its mapping (NR_FILE_DIRTY, writeback will see it), anything else gets
    /// PG_dirty, under the folio's PG_locked bit. The model does not sleep: a lock held by
    /// someone else for long is recorded and the folio dirtied anyway (set_bit is atomic).
    func folioMarkDirtyLocked(_ folio: Folio) {
        guard !folio.testFlag(flagBits.dirty) else { return }
        let locked = flagBits.locked, offset = layout.folioFlags
        guard locked >= 0, offset >= 0 else { folio.setFlag(flagBits.dirty); return }
        var acquired = false
        for _ in 0..<10_000 where !acquired {
            acquired = !folio.testAndSetBitLock(locked, inWord: offset)
        }
        if !acquired {
            diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(folio.pfn), reason: "unpin_user_pages_dirty_lock: folio lock held elsewhere; PG_dirty set without it"))
        }
        if let mapping = pageCacheMapping(of: folio) { _ = mapping.folioMarkDirty(folio) } else { folio.setFlag(flagBits.dirty) }
        if acquired { folio.clearBitUnlock(locked, inWord: offset) }
    }

    /// Linux: `folio_put_refs()`: drop `refs` references, freeing the folio at 0. An
    /// underflow is the kernel's VM_BUG_ON: recorded, the count restored to 0.
    @inline(__always)
    func folioPutRefs(_ folio: Folio, _ refs: Int32) {
        let left = folio.atomicSubReturn(layout.folioRefcount, refs)
        if left <= 0 { folioRefsDropped(folio, left: left, refs: refs) }
    }

    /// The end of `folioPutRefs` when the count read ≤ 0 after dropping `refs` (cold):
    /// the folio is freed at 0; a count that crossed zero is the underflow (a wrapped
    /// bias count may read < 0 without having crossed it).
    @inline(never)
    func folioRefsDropped(_ folio: Folio, left: Int32, refs: Int32) {
        if left == 0 { freeFolio(folio) }
        else if left &+ refs >= 0 { folioRefUnderflow(folio, left) }
    }

    @inline(never)
    private func folioRefUnderflow(_ folio: Folio, _ left: Int32) {
        diagnostics.record(Diagnostic(kind: .bug, pfn: UInt64(folio.pfn), reason: "folio_put_refs: refcount underflow (\(left))", dump: dumpPage(folio.headPage)))
        folio.setRefcount(0)
    }

    /// Linux: `is_pci_p2pdma_page()`: a ZONE_DEVICE folio of a MEMORY_DEVICE_PCI_P2PDMA map.
    @inline(__always)
    func isPCIP2PDMA(_ folio: Folio) -> Bool {
        // ZONE_DEVICE ranges all lie above RAM (memremapPages()): a RAM pfn is never one.
        folio.pfn >= pins.ramPfns && isPCIP2PDMAPagemap(folio)
    }

    @inline(never)
    private func isPCIP2PDMAPagemap(_ folio: Folio) -> Bool {
        guard isZoneDevice(folio.pfn) else { return false }
        return registry.object(at: folio.pgmap, as: DevPagemap.self)?.type == .pciP2PDMA
    }

    /// Linux: `folio_is_longterm_pinnable()` [include/linux/mm.h], with CONFIG_CMA (on in
    /// the default configs): a folio in a MIGRATE_CMA or MIGRATE_ISOLATE pageblock no
    /// (checked before the zero page, as the kernel does); the zero page yes;
    /// device-coherent and fsdax no; otherwise not in ZONE_MOVABLE.
    public func folioIsLongtermPinnable(_ folio: Folio) -> Bool {
        // folio_migratetype(): the pageblock's type (nil outside the buddy's zones).
        if let type = pageblockMigratetype(pfn: folio.pfn), type == .cma || type == .isolate { return false }
        if isZeroPagePfn(folio.pfn) { return true }
        let zone = context.zone(of: folio.pfn)
        if zone >= 0, zone == pins.deviceZoneIndex {
            let type = registry.object(at: folio.pgmap, as: DevPagemap.self)?.type
            return type != .deviceCoherent && type != .fsDax
        }
        return zone < 0 || zone != pins.movableZoneIndex
    }

    @inline(__always)
    func notePinsAcquired(_ folio: Folio, _ refs: Int32, nodeStat bump: Bool) {
        pins.shadow.add(folio.pfn, Int64(refs))
        pins.counters.acquired.add(Int(refs), ordering: .relaxed)
        if bump { pins.nodeAcquired[pins.nodeIndex(context.nid(of: folio.pfn))].wrappingIncrement(by: Int(refs), ordering: .relaxed) }
    }

    /// Adds what `batch` counted to the machine's statistics and empties it.
    @inline(__always)
    func flush(_ batch: inout PinStatBatch) {
        if batch.acquired != 0 { pins.counters.acquired.add(batch.acquired, ordering: .relaxed) }
        if batch.released != 0 { pins.counters.released.add(batch.released, ordering: .relaxed) }
        batch.flushNodes(pins)
        batch = PinStatBatch()
    }
}

/// Pin statistics counted during one GUP call or one unpin_user_pages() and added to the
/// machine's counters once at its end: `nr_foll_pin_acquired`/`released` of the folio's
/// node (the kernel's `node_stat_mod_folio()`, per-cpu deltas folded later) and the
/// totals. The exact per-folio shadow count is never batched, but the calling thread's
/// grab slots are looked up once per call. Runs of one node are summed; a change of node
/// flushes the previous one's sum.
struct PinStatBatch {
    var acquired = 0
    var released = 0
    private var acquiredOnNode = NodeTally(releases: false)
    private var releasedOnNode = NodeTally(releases: true)
    private var grab: PinShadowGrabSlots?

    /// The calling thread's grab slots (`PinShadow.grabSlots()`), looked up on the
    /// call's first pin.
    @inline(__always)
    mutating func grabSlots(_ shadow: PinShadow) -> PinShadowGrabSlots {
        if let grab { return grab }
        return lookUpGrabSlots(shadow)
    }

    @inline(never)
    private mutating func lookUpGrabSlots(_ shadow: PinShadow) -> PinShadowGrabSlots {
        let found = shadow.grabSlots()
        grab = found
        return found
    }

    @inline(__always)
    mutating func acquired(_ folio: Folio, _ refs: Int32, in machine: Machine) {
        acquired(nid: machine.context.nid(of: folio.pfn), refs, pins: machine.pins)
    }

    /// `acquired` on node `nid` (the folio's, `folio_nid()`).
    @inline(__always)
    mutating func acquired(nid: Int, _ refs: Int32, pins: PinState) {
        acquired(nid: nid, pages: Int(refs), pins: pins)
    }

    /// `pages` pins acquired on node `nid` (a run the mainline fast path counted).
    @inline(__always)
    mutating func acquired(nid: Int, pages: Int, pins: PinState) {
        acquired &+= pages
        acquiredOnNode.add(pages, nid: nid, pins)
    }

    @inline(__always)
    mutating func released(_ folio: Folio, _ refs: Int32, in machine: Machine) {
        released(nid: machine.context.nid(of: folio.pfn), refs, pins: machine.pins)
    }

    /// `released` on node `nid` (the folio's, `folio_nid()`).
    @inline(__always)
    mutating func released(nid: Int, _ refs: Int32, pins: PinState) {
        released(nid: nid, pages: Int(refs), pins: pins)
    }

    /// `pages` pins released on node `nid`.
    @inline(__always)
    mutating func released(nid: Int, pages: Int, pins: PinState) {
        released &+= pages
        releasedOnNode.add(pages, nid: nid, pins)
    }

    mutating func flushNodes(_ pins: PinState) {
        acquiredOnNode.flush(pins)
        releasedOnNode.flush(pins)
    }
}

/// One direction's per-node sum in a `PinStatBatch`: pages counted on the current node,
/// added to that node's counter (`nr_foll_pin_released` if `releases`, else
/// `nr_foll_pin_acquired`) when the node changes or the call ends. The counters are
/// reached only then, so the per-pin part touches no array.
private struct NodeTally {
    let releases: Bool
    private var nid = -1
    private var pages = 0

    init(releases: Bool) { self.releases = releases }

    @inline(__always)
    mutating func add(_ count: Int, nid: Int, _ pins: PinState) {
        if nid != self.nid { changeNode(to: nid, pins) }
        pages &+= count
    }

    /// A change of node (cold: once per call on one node): the previous node's sum goes
    /// to its counter. Outlined so that the per-pin part inlines into the grab.
    @inline(never)
    private mutating func changeNode(to nid: Int, _ pins: PinState) {
        flush(pins)
        self.nid = nid
    }

    mutating func flush(_ pins: PinState) {
        if pages != 0 { (releases ? pins.nodeReleased : pins.nodeAcquired)[pins.nodeIndex(nid)].wrappingIncrement(by: pages, ordering: .relaxed) }
        pages = 0
    }
}
