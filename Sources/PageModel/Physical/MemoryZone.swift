// struct zone's allocator side: free_area[] per order and migratetype, the per-cpu
// page lists, pageblock migratetypes and watermarks (include/linux/mmzone.h,
// mm/page_alloc.c: __free_one_page(), expand(), __rmqueue_smallest(),
// __rmqueue_fallback(), rmqueue_pcplist(), free_pcppages_bulk()).
import PageLayout
import Synchronization

/// The buddy allocator's constants [include/linux/mmzone.h].
public enum BuddyConstants {
    /// MAX_PAGE_ORDER.
    public static let maxOrder = 10
    /// NR_PAGE_ORDERS.
    public static let orders = maxOrder + 1
    /// MIGRATE_TYPES (with CMA and MEMORY_ISOLATION).
    public static let migrateTypes = MigrateType.allCases.count
    /// PAGE_ALLOC_COSTLY_ORDER: the highest order kept on per-cpu lists.
    public static let costlyOrder = 3
    /// NR_PCP_LISTS without the THP lists (the model keeps no THP-order pcp lists).
    public static let pcpLists = MigrateType.pcpTypes * (costlyOrder + 1)

    /// pageblock_order: HUGETLB_PAGE_ORDER where the arch has huge pages (order 9 with
    /// 2 MiB PMDs; order 10 with i386's 4 MiB PSE pages), else MAX_PAGE_ORDER (32-bit ARM).
    public static func pageblockOrder(_ arch: Arch) -> Int {
        switch arch {
        case .x86_64, .arm64, .i386PAE: 9
        case .i386, .arm: 10
        }
    }
}

/// One zone of one node: its span, counters and free lists. The free lists are
/// `struct list_head`s in the descriptor heap; the entries are the struct pages' own
/// `buddy_list` words (or, in memdesc8, the free memory's first bytes).
public final class MemoryZone: @unchecked Sendable {
    public let span: ZoneSpan
    public var type: Zone { span.type }
    public var nid: Int { span.nid }
    let context: UnsafeMutablePointer<MemmapContext>
    /// Kernel address of `free_area[0].free_list[0]`; lists follow [order][migratetype].
    let freeAreaHeads: UInt64
    /// Kernel address of `per_cpu_pages.lists[0]` (one CPU).
    let pcpHeads: UInt64
    let pageblockOrder: Int
    let listHeadSize: UInt64

    struct State {
        /// `free_area[order].nr_free` per migratetype, [order * MIGRATE_TYPES + type].
        /// Raw buffers owned by the zone: no copy-on-write checks on the hot path.
        let nrFree: UnsafeMutablePointer<Int>
        var freePages = 0
        let pcpCount: UnsafeMutablePointer<Int>
        var pcpTotal = 0
        /// The migratetype of each pageblock (the kernel's pageblock_flags bitmap).
        let pageblockTypes: UnsafeMutablePointer<UInt8>
        var managed = 0
        /// present_pages: RAM of the span that is online (memory hotplug changes it).
        var present = 0
        var watermarks = (min: 0, low: 0, high: 0)
        var pcpHigh = 0
        var pcpBatch = 1
        /// pgalloc and pgfree events of this zone (counted under the lock).
        var allocations = 0
        var frees = 0
    }
    let state: ModelMutex<State>

    init(span: ZoneSpan, context: UnsafeMutablePointer<MemmapContext>, heads: UInt64, pageblockOrder: Int) {
        self.span = span
        self.context = context
        let word = UInt64(context.pointee.layout.wordSize)
        listHeadSize = 2 * word
        freeAreaHeads = heads
        pcpHeads = heads + UInt64(BuddyConstants.orders * BuddyConstants.migrateTypes) * 2 * word
        self.pageblockOrder = pageblockOrder
        let blocks = span.span.count == 0 ? 0 : ((span.span.end - 1) >> pageblockOrder) - (span.span.start >> pageblockOrder) + 1
        let nrFree = UnsafeMutablePointer<Int>.allocate(capacity: BuddyConstants.orders * BuddyConstants.migrateTypes)
        nrFree.initialize(repeating: 0, count: BuddyConstants.orders * BuddyConstants.migrateTypes)
        let pcpCount = UnsafeMutablePointer<Int>.allocate(capacity: BuddyConstants.pcpLists)
        pcpCount.initialize(repeating: 0, count: BuddyConstants.pcpLists)
        let types = UnsafeMutablePointer<UInt8>.allocate(capacity: max(blocks, 1))
        types.initialize(repeating: UInt8(MigrateType.movable.rawValue), count: max(blocks, 1))
        state = ModelMutex(State(nrFree: nrFree, pcpCount: pcpCount, pageblockTypes: types))
        for i in 0..<(BuddyConstants.orders * BuddyConstants.migrateTypes + BuddyConstants.pcpLists) {
            context.listInit(heads + UInt64(i) * listHeadSize)
        }
    }

    deinit {
        state.withLock { st in
            st.nrFree.deallocate()
            st.pcpCount.deallocate()
            st.pageblockTypes.deallocate()
        }
    }

    /// Bytes of list heads a zone needs (free_area and pcp lists).
    static func headBytes(wordSize: Int) -> Int {
        (BuddyConstants.orders * BuddyConstants.migrateTypes + BuddyConstants.pcpLists) * 2 * wordSize
    }

    @inline(__always)
    func head(order: Int, type: Int) -> UInt64 {
        freeAreaHeads &+ UInt64(order * BuddyConstants.migrateTypes + type) &* listHeadSize
    }

    /// Linux: `order_to_pindex()` for the low orders.
    @inline(__always)
    func pcpHead(_ pindex: Int) -> UInt64 { pcpHeads &+ UInt64(pindex) &* listHeadSize }

    @inline(__always)
    func pageblockIndex(_ pfn: Int) -> Int { (pfn >> pageblockOrder) - (span.span.start >> pageblockOrder) }

    /// Linux: `get_pfnblock_migratetype()`.
    @inline(__always)
    func migratetype(of pfn: Int, _ st: inout State) -> Int { Int(st.pageblockTypes[pageblockIndex(pfn)]) }

    // MARK: Free lists (zone->lock held)

    /// Linux: `__add_to_free_list()` + `set_buddy_order()` (the caller's order of the two
    /// does not matter here: both happen under the zone lock).
    @inline(__always)
    func addToFreeList(_ pfn: Int, order: Int, type: Int, tail: Bool, _ st: inout State) {
        context.setBuddy(pfn, order: order)
        context.listAdd(context.linkAddress(pfn), head(order: order, type: type), tail: tail)
        st.nrFree[order * BuddyConstants.migrateTypes + type] += 1
        st.freePages += 1 << order
    }

    /// Linux: `del_page_from_free_list()`.
    @inline(__always)
    func deleteFromFreeList(_ pfn: Int, order: Int, type: Int, _ st: inout State) {
        context.listDel(context.linkAddress(pfn))
        context.clearBuddy(pfn)
        st.nrFree[order * BuddyConstants.migrateTypes + type] -= 1
        st.freePages -= 1 << order
    }

    /// The first free block on a list. Linux: `get_page_from_free_area()`.
    @inline(__always)
    func firstFree(order: Int, type: Int) -> Int? {
        let h = head(order: order, type: type)
        let first = context.next(h)
        return first == h ? nil : context.pfn(ofLink: first)
    }

    /// Linux: `page_is_buddy()`: the buddy is free with exactly this order and in the
    /// same zone (ZONEID).
    @inline(__always)
    func isBuddy(_ buddyPfn: Int, order: Int, zoneID: Int) -> Bool {
        guard buddyPfn < context.pointee.spannedPfns, context.pointee.sections[buddyPfn >> context.pointee.sectionShift] != nil else { return false }
        return context.buddyOrder(buddyPfn) == order && context.zoneID(buddyPfn) == zoneID
    }

    /// Linux: `__free_one_page()`: merge with free buddies while possible, then put the
    /// block at the head of its list, or at the tail with FPI_TO_TAIL or when
    /// `buddy_merge_likely()`.
    func freeOne(_ startPfn: Int, order startOrder: Int, type: Int, toTail: Bool = false, _ st: inout State) {
        var pfn = startPfn, order = startOrder
        let zoneID = context.zoneID(pfn)
        var buddyPfn = pfn
        while order < BuddyConstants.maxOrder {
            buddyPfn = pfn ^ (1 << order)
            guard isBuddy(buddyPfn, order: order, zoneID: zoneID) else { break }
            let buddyType = migratetype(of: buddyPfn, &st)
            if order >= pageblockOrder, buddyType != type,
               type >= MigrateType.pcpTypes || buddyType >= MigrateType.pcpTypes { break }
            deleteFromFreeList(buddyPfn, order: order, type: buddyType, &st)
            pfn &= buddyPfn
            order += 1
        }
        var tail = toTail
        if !toTail, order < BuddyConstants.maxOrder - 1 {
            // buddy_merge_likely(): if the buddy of the next order up is free, this block
            // is likely to merge soon; keep it at the tail so it is not handed out first.
            let buddy = pfn ^ (1 << order)
            let higher = (buddy & pfn) ^ (1 << (order + 1))
            tail = isBuddy(higher, order: order + 1, zoneID: zoneID)
        }
        addToFreeList(pfn, order: order, type: type, tail: tail, &st)
    }

    /// Linux: `expand()`: split a block of order `high` down to `low`, putting the upper
    /// halves on the free lists.
    func expand(_ pfn: Int, low: Int, high: Int, type: Int, _ st: inout State) {
        var high = high
        while high > low {
            high -= 1
            addToFreeList(pfn + (1 << high), order: high, type: type, tail: false, &st)
        }
    }

    /// Linux: `__rmqueue_smallest()`.
    func rmqueueSmallest(order: Int, type: Int, _ st: inout State) -> Int? {
        for current in order...BuddyConstants.maxOrder where st.nrFree[current * BuddyConstants.migrateTypes + type] > 0 {
            guard let pfn = firstFree(order: current, type: type) else { continue }
            deleteFromFreeList(pfn, order: current, type: type, &st)
            expand(pfn, low: order, high: current, type: type, &st)
            return pfn
        }
        return nil
    }

    /// Linux: `__rmqueue_fallback()` (claim, then steal), simplified: the largest free
    /// block of a fallback type is taken; if it is at least half a pageblock, or the
    /// request is unmovable or reclaimable, its whole pageblock changes type first and its
    /// free blocks move over (`try_to_claim_block()`); otherwise the block is stolen alone.
    func rmqueueFallback(order: Int, type: Int, _ st: inout State) -> Int? {
        guard let start = MigrateType(rawValue: type) else { return nil }
        for current in stride(from: BuddyConstants.maxOrder, through: order, by: -1) {
            for fallback in start.fallbacks {
                let ft = fallback.rawValue
                guard st.nrFree[current * BuddyConstants.migrateTypes + ft] > 0,
                      let pfn = firstFree(order: current, type: ft) else { continue }
                let claim = current >= pageblockOrder / 2 || start == .unmovable || start == .reclaimable
                if claim {
                    claimPageblocks(containing: pfn, order: current, to: type, &st)
                    return rmqueueSmallest(order: order, type: type, &st)
                }
                deleteFromFreeList(pfn, order: current, type: ft, &st)
                expand(pfn, low: order, high: current, type: ft, &st)
                return pfn
            }
        }
        return nil
    }

    /// Sets the migratetype of the pageblock(s) under a free block and moves their free
    /// blocks to that type's lists. Linux: `move_freepages_block()`.
    func claimPageblocks(containing pfn: Int, order: Int, to type: Int, _ st: inout State) {
        let blockPages = 1 << max(order, pageblockOrder)
        let first = max(pfn & ~(blockPages - 1), span.span.start)
        let end = min(first + blockPages, span.span.end)
        var p = first
        while p < end {
            let o = context.buddyOrder(p)
            if o >= 0 {
                let old = migratetype(of: p, &st)
                if old != type {
                    deleteFromFreeList(p, order: o, type: old, &st)
                    addToFreeList(p, order: o, type: type, tail: false, &st)
                }
                p += 1 << o
            } else {
                p += 1
            }
        }
        var b = first
        while b < end {
            st.pageblockTypes[pageblockIndex(b)] = UInt8(type)
            b += 1 << pageblockOrder
        }
    }

    /// Linux: `__rmqueue()`: the requested type, then (movable requests, ALLOC_CMA) the
    /// CMA lists (`__rmqueue_cma_fallback()`), then stealing from other types.
    @inline(__always)
    func rmqueue(order: Int, type: Int, _ st: inout State) -> Int? {
        if let pfn = rmqueueSmallest(order: order, type: type, &st) { return pfn }
        if type == MigrateType.movable.rawValue, let pfn = rmqueueSmallest(order: order, type: MigrateType.cma.rawValue, &st) {
            return pfn
        }
        return rmqueueFallback(order: order, type: type, &st)
    }

    // MARK: Per-cpu lists

    /// Linux: `order_to_pindex()`.
    @inline(__always)
    static func pindex(order: Int, type: Int) -> Int { MigrateType.pcpTypes * order + type }

    /// Linux: `rmqueue_pcplist()` / `__rmqueue_pcplist()`: take from the per-cpu list,
    /// refilling it with `batch` blocks from the buddy lists when empty (`rmqueue_bulk()`).
    func rmqueuePcp(order: Int, type: Int, _ st: inout State) -> Int? {
        let index = Self.pindex(order: order, type: type)
        let h = pcpHead(index)
        if context.next(h) == h {
            let batch = max(1, st.pcpBatch >> order)
            for _ in 0..<batch {
                guard let pfn = rmqueue(order: order, type: type, &st) else { break }
                markPcp(pfn, order: order)
                context.listAdd(context.linkAddress(pfn), h, tail: true)
                st.pcpCount[index] += 1
                st.pcpTotal += 1 << order
                // NR_FREE_PAGES keeps counting pages on pcp lists as allocated, as the
                // kernel's vmstat does; zone free pages below are the buddy's.
            }
        }
        let first = context.next(h)
        guard first != h else { return nil }
        context.listDel(first)
        let pfn = context.pfn(ofLink: first)
        st.pcpCount[index] -= 1
        st.pcpTotal -= 1 << order
        return pfn
    }

    /// A page on a per-cpu list keeps its order in `private` (not PageBuddy), in the
    /// scheme's encoding (`pcpPrivate(order:)`).
    @inline(__always)
    func markPcp(_ pfn: Int, order: Int) {
        Page(unchecked: pfn, context).privateValue = context.pcpPrivate(order: order)
    }

    /// Linux: `free_frozen_page_commit()`: add to the per-cpu list, and return pages to
    /// the buddy lists (`free_pcppages_bulk()`) once the list holds `high` pages.
    func freePcp(_ pfn: Int, order: Int, type: Int, _ st: inout State) {
        let index = Self.pindex(order: order, type: type)
        markPcp(pfn, order: order)
        context.listAdd(context.linkAddress(pfn), pcpHead(index), tail: false)
        st.pcpCount[index] += 1
        st.pcpTotal += 1 << order
        if st.pcpTotal >= st.pcpHigh { freePcpBulk(count: st.pcpBatch, from: index, &st) }
    }

    /// Linux: `free_pcppages_bulk()`: `count` pages (at most what the lists hold) from
    /// the tails of the lists back to the buddy lists, list `pindex` first; each list is
    /// drained until enough are freed or it is empty before the next non-empty one, round
    /// robin, is taken.
    func freePcpBulk(count: Int, from pindex: Int = 0, _ st: inout State) {
        var remaining = min(count, st.pcpTotal)
        var index = pindex
        while remaining > 0 {
            var probed = 0
            while context.next(pcpHead(index)) == pcpHead(index) {
                index = (index + 1) % BuddyConstants.pcpLists
                probed += 1
                if probed == BuddyConstants.pcpLists { return }   // the count says pages, the lists hold none
            }
            let h = pcpHead(index)
            let order = index / MigrateType.pcpTypes
            repeat {
                let last = context.prev(h)
                context.listDel(last)
                let pfn = context.pfn(ofLink: last)
                if context.pointee.layout.privateWord >= 0 {
                    RawMemory.storeWord(0, context.pagePointer(pfn) + context.pointee.layout.privateWord, wordSize: context.pointee.layout.wordSize)
                }
                st.pcpCount[index] -= 1
                st.pcpTotal -= 1 << order
                remaining -= 1 << order
                freeOne(pfn, order: order, type: migratetype(of: pfn, &st), &st)
            } while remaining > 0 && context.next(h) != h
            index = (index + 1) % BuddyConstants.pcpLists
        }
    }

    // MARK: Watermarks

    /// Linux: `__zone_watermark_ok()` without lowmem_reserve (the model keeps none):
    /// free pages above the mark after the allocation, and for order > 0 a free block of
    /// at least that order.
    func watermarkOK(order: Int, mark: Int, _ st: inout State) -> Bool {
        let free = st.freePages - (1 << order) + 1
        guard free > mark else { return false }
        if order == 0 { return true }
        for o in order...BuddyConstants.maxOrder {
            for t in 0..<MigrateType.pcpTypes where st.nrFree[o * BuddyConstants.migrateTypes + t] > 0 { return true }
            if st.nrFree[o * BuddyConstants.migrateTypes + MigrateType.highatomic.rawValue] > 0 { return true }
        }
        return false
    }

    // MARK: Reading

    /// Free blocks per order, all migratetypes (a /proc/buddyinfo row).
    public var buddyinfo: [Int] {
        state.withLock { st in
            (0..<BuddyConstants.orders).map { o in
                (0..<BuddyConstants.migrateTypes).reduce(0) { $0 + st.nrFree[o * BuddyConstants.migrateTypes + $1] }
            }
        }
    }

    /// Free blocks per order of one migratetype (/proc/pagetypeinfo).
    public func freeBlocks(type: MigrateType) -> [Int] {
        state.withLock { st in (0..<BuddyConstants.orders).map { st.nrFree[$0 * BuddyConstants.migrateTypes + type.rawValue] } }
    }

    /// NR_FREE_PAGES: pages on the buddy free lists.
    public var freePages: Int { state.withLock { $0.freePages } }
    /// Pages on the per-cpu lists.
    public var pcpPages: Int { state.withLock { $0.pcpTotal } }
    /// managed_pages.
    public var managed: Int { state.withLock { $0.managed } }
    /// present_pages: online RAM in the zone's span.
    public var present: Int { state.withLock { $0.present } }
    /// WMARK_MIN, WMARK_LOW, WMARK_HIGH in pages.
    public var watermarks: (min: Int, low: Int, high: Int) { state.withLock { $0.watermarks } }

    /// The pfns of the free blocks on one list, head first (tests, dumps).
    public func freeList(order: Int, type: MigrateType) -> [Int] {
        state.withLock { _ in pfns(onList: head(order: order, type: type.rawValue)) }
    }

    /// The pfns on per-cpu list `pindex` (`order_to_pindex()`), head first (tests, dumps).
    func pcpList(_ pindex: Int) -> [Int] {
        state.withLock { _ in pfns(onList: pcpHead(pindex)) }
    }

    /// The pfns linked on the list at `head`, head first, at most one per pfn of the span
    /// (a corrupted list that loops is cut there). Caller holds the zone lock.
    private func pfns(onList h: UInt64) -> [Int] {
        var result: [Int] = []
        var entry = context.next(h)
        while entry != h, result.count <= span.span.count {
            result.append(context.pfn(ofLink: entry))
            entry = context.next(entry)
        }
        return result
    }

    /// Linux: `drain_pages_zone()`: every per-cpu page back to the buddy lists.
    public func drainPcp() {
        state.withLock { drainPcpLocked(&$0) }
    }

    func drainPcpLocked(_ st: inout State) { freePcpBulk(count: st.pcpTotal, &st) }
}
