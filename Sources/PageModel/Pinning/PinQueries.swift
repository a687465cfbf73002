// The queries the rest of the memory manager asks about pins (include/linux/mm.h:
// folio_maybe_dma_pinned() 2141-2157, folio_needs_cow_for_dma() 2164-2173), the checks
// get_page()/put_page() make on pinned pages and proxies, and what pinning costs.
// Reclaim, fork and migration call these, never a design directly.
import PageLayout
import Atomics

extension Machine {
    /// Linux: `folio_maybe_dma_pinned()`, answered by the machine's design. Every answer
    /// is compared with the exact shadow count: a "yes" without pins is a counted false
    /// positive (mainline's bias: 1024 plain references), a "no" with pins a counted
    /// false negative (which the kernel's contract forbids).
    ///
    /// The count is read before and after the answer; an answer given while a pin or
    /// unpin of this folio ran (the snapshots differ) is not judged: the kernel allows
    /// either answer then (a GUP-fast pin racing with reclaim or fork backs off when it
    /// re-checks the PTE), and the shadow is updated a moment after the design's grab
    /// and before its release. A pin counted in both snapshots was in the design the
    /// whole time (GUP grabs before it counts, uncounts before it releases), so a "no"
    /// then is a real false negative. A grab or release caught between its design and
    /// shadow steps may still show as a false positive under concurrency.
    public func folioMaybeDMAPinned(_ folio: Folio) -> Bool {
        let before = pins.shadow.word(folio.pfn)
        let answer = pins.tracker.maybePinned(folio, in: self)
        atomicMemoryFence(ordering: .acquiring)
        guard pins.shadow.word(folio.pfn) == before else { return answer }
        let exact = PinSlotWord.pins(before) > 0
        if answer != exact {
            if answer { pins.counters.falsePositives.add(1, ordering: .relaxed) } else { pins.counters.falseNegatives.add(1, ordering: .relaxed) }
        }
        return answer
    }

    /// Linux: `folio_needs_cow_for_dma()`: only an mm that ever pinned (MMF_HAS_PINNED)
    /// copies possibly pinned anon folios at fork.
    public func folioNeedsCOWForDMA(_ folio: Folio, in mm: MM) -> Bool {
        mm.hasPinned && folioMaybeDMAPinned(folio)
    }

    /// The pin statistics (exact), with the design's false positives and negatives.
    public var pinStats: PinStats { pins.stats }

    /// `nr_foll_pin_acquired` / `nr_foll_pin_released` of node `nid` (/proc/vmstat).
    public func nodePinCounters(nid: Int) -> (acquired: Int, released: Int) {
        let all = pins.nodeCounters
        return nid >= 0 && nid < all.count ? all[nid] : (0, 0)
    }

    /// The exact pins outstanding on a folio (the shadow count).
    public func exactPins(_ folio: Folio) -> Int { pins.exactPins(folioPfn: folio.pfn) }

    /// The real page behind a proxy view, under a design that returns proxies
    /// (`PinCapabilities.proxyMarkerFlag`): a view whose bytes are not the memmap's
    /// struct page of its pfn and carry the design's mark. nil for any other page.
    @inline(__always)
    func proxyTarget(_ page: Page) -> Page? {
        guard pins.proxyBit >= 0, page.raw != context.pagePointer(page.pfn), page.testFlag(pins.proxyBit) else { return nil }
        return Page(unchecked: page.pfn, context)
    }

    /// The page a GUP result stands for: the result itself, or the real page behind it
    /// under a design that returns proxies (seed 003's `dynamic_page`). Linux has no
    /// counterpart: mainline GUP returns the page.
    @inline(__always)
    public func pageBehind(_ gupResult: Page) -> Page { proxyTarget(gupResult) ?? gupResult }

    /// `get_page()`/`put_page()` on a GUP result: a proxy (a design that returns them) is
    /// the misuse the proxy design was meant to catch (seed 003: "catching cases that might be doing a get_page() on
    /// a get_user_pages() result"): recorded, and redirected to the real page so that
    /// no reference goes astray.
    @inline(__always)
    func gupResultTarget(_ page: Page, operation: String) -> Page {
        guard let real = proxyTarget(page) else { return page }
        pins.counters.proxyMisuses.add(1, ordering: .relaxed)
        diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(page.pfn),
                                      reason: "\(operation)() on a GUP proxy (struct dynamic_page): use folio_add_pin()/unpin_user_page()"))
        return real
    }

    /// Whether `put_page()` may drop a reference of `folio`: not when the references left
    /// would be fewer than its outstanding pins hold (a put where `unpin_user_page()` was
    /// needed). Under mainline a small folio's put eats into the 1024 bias without the
    /// design noticing; the exact count notices once the pins' share is touched. The put
    /// is then recorded and refused: the kernel would go on and could free a page a
    /// device still writes to.
    @inline(__always)
    func pinsAllowPut(_ folio: Folio) -> Bool {
        let outstanding = pins.shadow.pins(folio.pfn)
        guard outstanding > 0 else { return true }
        let held = pins.tracker.referencesHeld(folio, pins: outstanding, in: self)
        let references = Int64(UInt32(bitPattern: folio.refcount))
        guard references - 1 < held else { return true }
        pins.counters.putsOfPinnedReferences.add(1, ordering: .relaxed)
        diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(folio.pfn),
                                      reason: "put_page(): would drop a reference held by \(outstanding) DMA pin(s) (refcount \(references), pins hold \(held)); unpin_user_page() was needed: refused",
                                      dump: dumpPage(folio.headPage)))
        return false
    }

    /// What pin tracking costs on this machine, from its layouts and its allocations.
    public var pinCosts: PinCosts {
        let mainline = Layouts.structPage(layoutConfig, design: .mainline).size
        let live = heap.usage()[.dynamicPage] ?? (0, 0)
        let extBytes = pageExt?.bytes ?? 0
        return PinCosts(
            design: config.design,
            structPageBytes: layout.pageSize,
            structPageGrowthBytes: layout.pageSize - mainline,
            pageExtBytesPerPage: pageExt?.layout.entrySize ?? 0,
            pageExtBytes: extBytes,
            descriptorBytesPerFolio: layout.foliosAreDescriptors ? layout.folioSize : 0,
            bytesPerPin: pins.tracker.pinObjectBytes,
            pinAllocations: pins.tracker.pinAllocations,
            livePinObjects: live.count,
            livePinBytes: live.bytes)
    }
}
