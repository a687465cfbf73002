// The LRU lists: struct lruvec per node and folio_add_lru() / folio_isolate_lru() /
// folio_putback_lru() / lruvec_del_folio() (include/linux/mm_inline.h, mm/swap.c,
// mm/vmscan.c). Classic two-list LRU (no MGLRU).
import PageLayout
import Synchronization

/// `enum lru_list`.
public enum LRUList: Int, CaseIterable, Sendable {
    case inactiveAnon = 0, activeAnon, inactiveFile, activeFile, unevictable
}

/// One node's `struct lruvec`: five list_heads in the descriptor heap (kernel
/// addresses, as `pglist_data.__lruvec.lists[]`), threaded through `folio->lru` in the
/// memmap (or in the folio descriptor in the memdesc designs), under `lru_lock`.
///
/// A plain value over raw memory, as the kernel's lruvec is a field of the node's
/// `pglist_data` reached by address (`folio_lruvec()` → `&NODE_DATA(nid)->__lruvec`):
/// taking a folio's lruvec and its lock costs no reference counting (issue 19 item 4:
/// lru-pinned takes it twice per pin, and the retains and releases of a class were the
/// model's cost, not the design's). The lock and counts are the machine's, allocated
/// with it (`Machine.makeLRUVecs`) and freed when it goes (`freeLRUVecs`).
///
/// Invariant: a folio is on exactly one list of its node's lruvec iff PG_lru is set;
/// PG_lru is only changed under `lock`.
public struct LRUVec: @unchecked Sendable {
    /// The kernel address of `lists[0]`; list `i` is at `base + i * 2 * wordSize`.
    let base: UInt64
    let wordSize: Int
    /// lruvec->lru_lock, and the folio count per list (lru_zone_size summed over zones).
    let lock: LRULock

    func head(_ list: LRUList) -> UInt64 { base &+ UInt64(list.rawValue * 2 * wordSize) }

    /// Folios on each list.
    public var sizes: [LRUList: Int] {
        lock.withLock { counts in Dictionary(uniqueKeysWithValues: LRUList.allCases.map { ($0, counts[$0.rawValue]) }) }
    }
}

/// `lruvec->lru_lock` (a spinlock_t in the kernel, a `SpinLock` here: lru-pinned takes
/// it twice per pin, and a pthread mutex's ~53 instructions a lock/unlock pair were the
/// model's cost, not the design's, issue 19 item 4) with the list counts it guards,
/// both in raw memory the machine owns.
struct LRULock {
    let spin: SpinLock
    let counts: UnsafeMutablePointer<Int>

    /// Allocates an unlocked lock and zero counts (freed by `deallocate()`).
    static func allocate() -> LRULock {
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: LRUList.allCases.count)
        counts.initialize(repeating: 0, count: LRUList.allCases.count)
        return LRULock(spin: SpinLock(word: SpinLock.allocateWords(count: 1, stride: 64)), counts: counts)
    }

    func deallocate() {
        spin.word.deallocate()
        counts.deallocate()
    }

    /// `spin_lock_irq(&lruvec->lru_lock)`, `body`, unlock; `body` gets the counts.
    @inline(__always)
    func withLock<T>(_ body: (inout LRUCounts) -> T) -> T {
        spin.lock()
        defer { spin.unlock() }
        var view = LRUCounts(base: counts)
        return body(&view)
    }

    /// `spin_lock_irq()` alone, for a caller that unlocks in straight-line code
    /// (`Machine.folioLruvecLock`).
    @inline(__always) func lock() { spin.lock() }
    @inline(__always) func unlock() { spin.unlock() }
}

/// The folio count per list of an lruvec whose lock is held (`LRULock.withLock`).
struct LRUCounts {
    let base: UnsafeMutablePointer<Int>

    subscript(list: Int) -> Int {
        @inline(__always) get { base[list] }
        @inline(__always) nonmutating set { base[list] = newValue }
    }
}

extension Machine {
    /// Allocates and initialises every node's lruvec list heads.
    static func makeLRUVecs(nodes: Int, heap: DescriptorHeap, context: UnsafeMutablePointer<MemmapContext>) -> [LRUVec] {
        let wordSize = context.pointee.layout.wordSize
        let bytes = LRUList.allCases.count * 2 * wordSize
        return (0..<nodes).compactMap { _ in
            guard let base = heap.allocate(size: bytes, alignment: 16, kind: .zone) else { return nil }
            let vec = LRUVec(base: base, wordSize: wordSize, lock: .allocate())
            for list in LRUList.allCases { context.listInit(vec.head(list)) }
            return vec
        }
    }

    /// Frees the lruvecs' locks and counts (the machine's deinit).
    static func freeLRUVecs(_ vecs: [LRUVec]) {
        for vec in vecs { vec.lock.deallocate() }
    }

    /// The lruvec of a folio's node. Linux: `folio_lruvec()`.
    @inline(__always)
    func lruvec(of folio: Folio) -> LRUVec? {
        let nid = context.nid(of: folio.pfn)
        return nid >= 0 && nid < lruvecs.count ? lruvecs[nid] : nil
    }

    /// Linux: `folio_lru_list()`: unevictable, else anon (swap-backed) or file, active or not.
    /// The flags word is read once (as `Folio.testFlag` reads it: no flags word, no flag).
    func lruList(of folio: Folio) -> LRUList {
        let flags = layout.folioFlags >= 0 ? folio.flags : 0
        func test(_ bit: Int) -> Bool { bit >= 0 && flags & (1 << UInt64(bit)) != 0 }
        if test(flagBits.unevictable) { return .unevictable }
        let file = !test(flagBits.swapbacked)
        let active = test(flagBits.active)
        switch (file, active) {
        case (false, false): return .inactiveAnon
        case (false, true): return .activeAnon
        case (true, false): return .inactiveFile
        case (true, true): return .activeFile
        }
    }

    /// The address of a folio's `lru` list_head.
    private func lruLink(_ folio: Folio) -> UInt64 { folio.address &+ UInt64(layout.folioLru) }

    /// Linux: `folio_add_lru()` (without the per-cpu batch): PG_lru set and the folio at
    /// the head of its list. A folio already on an LRU is left alone (the kernel's
    /// VM_BUG_ON_FOLIO(folio_test_lru(folio))), recorded.
    public func folioAddLRU(_ folio: Folio) {
        guard layout.folioLru >= 0, let vec = lruvec(of: folio) else { return }
        vec.lock.withLock { counts in addLRULocked(folio, vec, &counts) }
    }

    /// `folio_add_lru()`'s work with `vec`'s lru_lock held (`folioLruvecLock`).
    func addLRULocked(_ folio: Folio, _ vec: LRUVec) {
        var counts = LRUCounts(base: vec.lock.counts)
        addLRULocked(folio, vec, &counts)
    }

    /// `folio_add_lru()`'s work with the lru_lock held (`counts` are `vec`'s).
    private func addLRULocked(_ folio: Folio, _ vec: LRUVec, _ counts: inout LRUCounts) {
        guard !folio.testFlag(flagBits.lru) else {
            diagnostics.record(Diagnostic(kind: .bug, pfn: UInt64(folio.pfn), reason: "folio_add_lru: folio already on an LRU list"))
            return
        }
        let list = lruList(of: folio)
        context.listAdd(lruLink(folio), vec.head(list), tail: false)
        folio.setFlag(flagBits.lru)
        counts[list.rawValue] += 1
    }

    /// Linux: `folio_isolate_lru()`: if PG_lru is set, clear it, take a reference for the
    /// isolator and unlink the folio. False if the folio was not on an LRU.
    @discardableResult
    public func folioIsolateLRU(_ folio: Folio) -> Bool { folioIsolateLRU(folio) { $0 } }

    /// `folio_isolate_lru()`, then `body(isolated)` under the same lru_lock, so that
    /// nothing puts the folio back on a list (rewriting its lru words) in between.
    func folioIsolateLRU<T>(_ folio: Folio, thenLocked body: (Bool) -> T) -> T {
        guard let vec = folioLruvecLock(folio) else { return body(false) }
        defer { lruvecUnlock(vec) }
        return body(isolateLRULocked(folio, vec))
    }

    /// Linux: `folio_lruvec_lock_irq()`: the folio's lruvec with its lru_lock taken; nil
    /// (nothing taken) where the layout has no LRU words or the folio no lruvec. Unlocked
    /// in straight-line code (`lruvecUnlock`), as the kernel does, so that a caller that
    /// holds it across its own work (lru-pinned, twice per pin) pays no closure context
    /// and no reference counting for it.
    @inline(__always)
    func folioLruvecLock(_ folio: Folio) -> LRUVec? {
        guard layout.folioLru >= 0, let vec = lruvec(of: folio) else { return nil }
        vec.lock.lock()
        return vec
    }

    /// Linux: `unlock_page_lruvec_irq()`.
    @inline(__always)
    func lruvecUnlock(_ vec: LRUVec) { vec.lock.unlock() }

    /// `folio_isolate_lru()`'s work with `vec`'s lru_lock held: if PG_lru is set and the
    /// folio is not being freed, off its list with a reference for the isolator.
    func isolateLRULocked(_ folio: Folio, _ vec: LRUVec) -> Bool {
        // folio_test_clear_lru() + folio_try_get(): a folio whose last reference is
        // being dropped (refcount 0, about to leave the LRU in __folio_put()) must not
        // be revived.
        guard folio.testFlag(flagBits.lru), folio.refAddUnless(1, unless: 0) else { return false }
        var counts = LRUCounts(base: vec.lock.counts)
        delete(folio, &counts)
        return true
    }

    /// Linux: `folio_putback_lru()`: back on its list, and the isolation reference dropped.
    public func folioPutbackLRU(_ folio: Folio) {
        folioAddLRU(folio)
        folioPut(folio)
    }

    /// Linux: `lruvec_del_folio()` + `__folio_clear_lru_flags()` from
    /// `__page_cache_release()`: a folio whose last reference went leaves its LRU before
    /// it is freed, and loses PG_active and PG_unevictable with PG_lru (both are in
    /// PAGE_FLAGS_CHECK_AT_FREE; reclaim's activate_locked sets PG_active on a pinned
    /// folio, which may be freed later).
    func lruRemoveOnFree(_ folio: Folio) {
        guard layout.folioLru >= 0, folio.testFlag(flagBits.lru), let vec = lruvec(of: folio) else { return }
        vec.lock.withLock { counts in
            if folio.testFlag(flagBits.lru) { releaseFromLRU(folio, &counts) }
        }
    }

    /// `lruvec_del_folio()` + `__folio_clear_lru_flags()` for a folio being freed: off
    /// its list, PG_lru, PG_active and PG_unevictable cleared. Caller holds the lru_lock.
    func releaseFromLRU(_ folio: Folio, _ counts: inout LRUCounts) {
        delete(folio, &counts)
        folio.clearFlag(flagBits.active)
        folio.clearFlag(flagBits.unevictable)
    }

    /// `lruvec_del_folio()`. The list_del() is checked as CONFIG_DEBUG_LIST checks it: a
    /// design that overwrote the lru words (lru-pinned) leaves neighbours that do not
    /// point back; the corruption is reported and the neighbours are left alone (the
    /// entry is still poisoned), so the damage does not spread to other lists.
    private func delete(_ folio: Folio, _ counts: inout LRUCounts) {
        let list = lruList(of: folio)
        let link = lruLink(folio)
        if let report = context.listDelChecked(link) { reportLRUCorruption(report, folio: folio) }
        folio.clearFlag(flagBits.lru)
        counts[list.rawValue] -= 1
    }

    @inline(never)
    private func reportLRUCorruption(_ reason: String, folio: Folio?) {
        diagnostics.record(Diagnostic(kind: .corruption, pfn: folio.map { UInt64($0.pfn) }, reason: "lruvec: \(reason)",
                                      dump: folio.map { dumpPage($0.headPage) }))
    }

    /// Linux: `isolate_lru_folios()`: up to `count` folios from the tail (the oldest) of
    /// `list` on node `nid`, each isolated with a reference (PG_lru cleared). Folios whose
    /// refcount is already 0 (being freed) are skipped, as `folio_try_get()` skips them.
    public func isolateLRUFolios(nid: Int, list: LRUList, count: Int) -> [Folio] {
        guard nid >= 0, nid < lruvecs.count, count > 0 else { return [] }
        let vec = lruvecs[nid]
        return vec.lock.withLock { counts in
            var taken: [Folio] = []
            let head = vec.head(list)
            // Each step checks the entry it reaches links back to the one it came from,
            // and the walk ends within the list's length: a list whose words a design
            // overwrote is reported and left, not followed into garbage or a cycle.
            var after = head
            var link = context.prev(head)
            var remaining = counts[list.rawValue]
            while link != head, taken.count < count {
                guard remaining > 0, context.followable(link) != nil, context.next(link) == after else {
                    reportLRUCorruption("isolate_lru_folios: \(list) list corrupted at 0x\(String(link, radix: 16)) (reached from 0x\(String(after, radix: 16)), \(counts[list.rawValue] - remaining) entries in)",
                                        folio: nil)
                    break
                }
                remaining -= 1
                let previous = context.prev(link)
                if let folio = folio(atAddress: link &- UInt64(layout.folioLru)), folio.refAddUnless(1, unless: 0) {
                    delete(folio, &counts)
                    taken.append(folio)
                } else {
                    after = link
                }
                link = previous
            }
            return taken
        }
    }

    /// The folio whose first byte is at a kernel address (a head struct page in the
    /// memmap, or a folio descriptor in the heap).
    func folio(atAddress address: UInt64) -> Folio? {
        if layout.foliosAreDescriptors {
            guard heap.contains(address) else { return nil }
            return Folio(raw: heap.pointer(address), address: address, pfn: -1, context: context).reread
        }
        guard let page = memmap.page(atAddress: address) else { return nil }
        return Folio(raw: page.raw, address: page.address, pfn: page.pfn, context: context)
    }
}
