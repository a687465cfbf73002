// The page allocator's entry points: alloc_pages()/__free_pages() and what they call
// (mm/page_alloc.c: get_page_from_freelist(), rmqueue(), prep_new_page(),
// post_alloc_hook(), free_frozen_pages(), __free_pages_prepare(), warn_alloc()).
import PageLayout
import Synchronization

extension Machine {
    /// Linux: `alloc_pages_node(nid, gfp, order)` / `alloc_pages(gfp, order)`.
    /// Returns the first page of 2^order pages with refcount 1, or nil (and a
    /// `warn_alloc()` diagnostic unless __GFP_NOWARN) when no zone allowed by `gfp` has a
    /// free block above its watermark, or when failure is injected.
    public func allocPages(_ gfp: GFP, order: Int = 0, nid preferred: Int? = nil) -> Page? {
        guard order >= 0, order <= BuddyConstants.maxOrder else {
            // WARN_ON_ONCE_GFP(order > MAX_PAGE_ORDER, gfp)
            if !gfp.contains(.nowarn) {
                diagnostics.record(Diagnostic(kind: .warn, reason: "alloc_pages: order \(order) > MAX_PAGE_ORDER (\(BuddyConstants.maxOrder))"))
            }
            counters.failures.add(1, ordering: .relaxed)
            return nil
        }
        if injectionArmed.load(ordering: .relaxed), injection.withLock({ $0.shouldFail(gfp: gfp, order: order) }) {
            counters.failures.add(1, ordering: .relaxed)
            counters.injectedFailures.add(1, ordering: .relaxed)
            warnAlloc(gfp, order: order, injected: true)
            return nil
        }
        let highestIndex = gfpZoneTable[Int(gfp.rawValue & 0xf)]
        guard highestIndex >= 0 else {
            diagnostics.record(Diagnostic(kind: .bug, reason: "gfp_zone(\(gfp)): GFP_ZONE_BAD combination of zone modifiers"))
            counters.failures.add(1, ordering: .relaxed)
            return nil
        }
        let type = gfp.migratetype.rawValue
        let local = min(max(preferred ?? 0, 0), zones.count - 1)
        let range = zonelistRanges[((local &* zoneTypes.count &+ highestIndex) << 1) | (gfp.contains(.thisnode) ? 1 : 0)]
        for pass in 0..<2 {
            for slot in range.start..<(range.start + range.count) {
                let ref = zonelistZones[slot]
                let taken: Int? = ref._withUnsafeGuaranteedRef { zone in
                    zone.state.withLock { st in
                        guard st.managed > 0 else { return nil }
                        var mark = pass == 0 ? st.watermarks.low : st.watermarks.min
                        if pass == 1, gfp.contains(.high) { mark -= mark / 2 }
                        guard zone.watermarkOK(order: order, mark: mark, &st) else { return nil }
                        let pfn = order <= BuddyConstants.costlyOrder && type < MigrateType.pcpTypes
                            ? zone.rmqueuePcp(order: order, type: type, &st)
                            : zone.rmqueue(order: order, type: type, &st)
                        if pfn != nil { st.allocations += 1 }
                        return pfn
                    }
                }
                if let pfn = taken { return prepNewPage(pfn, order: order, gfp: gfp) }
            }
        }
        counters.failures.add(1, ordering: .relaxed)
        warnAlloc(gfp, order: order, injected: false)
        return nil
    }

    /// Linux: `warn_alloc()`: "page allocation failure", unless __GFP_NOWARN.
    func warnAlloc(_ gfp: GFP, order: Int, injected: Bool) {
        guard !gfp.contains(.nowarn) else { return }
        let why = injected ? " (fail_page_alloc)" : ""
        diagnostics.record(Diagnostic(kind: .warn, reason: "page allocation failure: order:\(order), mode:\(gfp), nodemask=(null)\(why)"))
    }

    /// Linux: `prep_new_page()` / `post_alloc_hook()`: `private` 0, refcount 1, zeroed
    /// with __GFP_ZERO, a compound page (or, in the memdesc designs, a folio) with
    /// __GFP_COMP.
    func prepNewPage(_ pfn: Int, order: Int, gfp: GFP) -> Page {
        let page = Page(unchecked: pfn, context)
        context.prepNewPages(pfn, order: order)
        if gfp.contains(.zero) { frames.clear(pfn: pfn, count: 1 << order) }
        if gfp.contains(.comp), order > 0 || layout.foliosAreDescriptors {
            _ = prepCompound(pfn, order: order)
        }
        return page
    }

    /// Linux: `__free_pages(page, order)`: drop a reference; free at zero. A
    /// non-compound high-order allocation whose first page is still referenced frees its
    /// other parts. memdesc8 Misc memory has no refcount and is freed at once.
    public func freePages(_ page: Page, order: Int) {
        guard order >= 0, order <= BuddyConstants.maxOrder, memmap.isValid(pfn: page.pfn) else {
            diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(max(page.pfn, 0)), reason: "__free_pages: bad order \(order)"))
            return
        }
        if !layout.kind.miscPagesHaveRefcount {
            freeFrozenPages(page.pfn, order: order)
            return
        }
        let head = context.isCompoundHead(page)
        if page.refDecAndTest() {
            freeFrozenPages(page.pfn, order: order)
        } else if !head {
            var o = order
            while o > 0 {
                o -= 1
                freeFrozenPages(page.pfn + (1 << o), order: o)
            }
        }
    }

    /// Linux: `free_frozen_pages()`: checks, then the per-cpu list or the buddy lists.
    func freeFrozenPages(_ pfn: Int, order: Int) {
        guard let ref = zoneRef(of: pfn) else { return }
        if ref._withUnsafeGuaranteedRef({ $0.span.type == .device }) {
            // ZONE_DEVICE pages belong to their pagemap, never to the buddy allocator.
            diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(pfn), reason: "freeing a ZONE_DEVICE page to the page allocator",
                                          dump: dumpPage(Page(unchecked: pfn, context))))
            return
        }
        guard freePagesPrepare(pfn, order: order) else { return }
        ref._withUnsafeGuaranteedRef { zone in
            zone.state.withLock { st in
                st.frees += 1
                var type = zone.migratetype(of: pfn, &st)
                if order <= BuddyConstants.costlyOrder, type != MigrateType.isolate.rawValue {
                    if type >= MigrateType.pcpTypes { type = MigrateType.movable.rawValue }
                    zone.freePcp(pfn, order: order, type: type, &st)
                } else {
                    zone.freeOne(pfn, order: order, type: type, &st)
                }
            }
        }
    }
}
