// MMU interval notifiers (mm/mmu_notifier.c, include/linux/mmu_notifier.h, v6.19):
// a secondary MMU (a device mirroring a process's page tables) subscribes to a virtual
// range and is told before the core mm changes a PTE in it; a collision-retry sequence
// count (mmu_interval_read_begin()/mmu_interval_read_retry()) lets it build its own
// page table from an hmm_range_fault() snapshot without holding the mmap_lock.
//
// Deliberate differences: the interval tree is an array scanned in insertion order
// (the kernel's interval_tree_iter_first()/next() visit overlapping nodes in start
// order; no caller here depends on the order); only interval notifiers are modelled
// (the hlist of classic `struct mmu_notifier`s has no user in the model); every range
// is blockable (MMU_NOTIFIER_RANGE_BLOCKABLE), so an invalidate() returning false is the
// kernel's WARN and is recorded as such; a waiter sleeps by yielding.
import Synchronization

/// `enum mmu_notifier_event`: why a range is being invalidated.
public enum MMUNotifierEvent: Int, Sendable {
    case unmap = 0, clear, protectionVMA, protectionPage, softDirty, release, migrate, exclusive
}

/// `struct mmu_notifier_range`: the range `[start, end)` of `mm` about to change.
public struct MMUNotifierRange: @unchecked Sendable {
    public let mm: MM
    public let start: UInt64
    public let end: UInt64
    public let event: MMUNotifierEvent
    /// `range->owner` (mmu_notifier_range_init_owner()): the pgmap owner of a MIGRATE
    /// event, the caller's cookie of an EXCLUSIVE one, nil otherwise.
    public let owner: UInt64?

    public init(mm: MM, start: UInt64, end: UInt64, event: MMUNotifierEvent, owner: UInt64? = nil) {
        self.mm = mm
        self.start = start
        self.end = end
        self.event = event
        self.owner = owner
    }
}

/// `struct mmu_interval_notifier` with its `ops->invalidate`: one subscription to the
/// inclusive range `[start, last]` of one mm.
public final class MMUIntervalNotifier: @unchecked Sendable {
    /// `ops->invalidate(interval_sub, range, cur_seq)`: must call `setSeq(cur_seq)` under
    /// the lock its reader uses for `readRetry`; false only for a non-blockable range.
    public typealias Invalidate = @Sendable (MMUIntervalNotifier, MMUNotifierRange, UInt64) -> Bool
    let invalidate: Invalidate
    public internal(set) var start: UInt64 = 0
    public internal(set) var last: UInt64 = 0
    public internal(set) weak var mm: MM?
    /// `interval_sub->invalidate_seq`.
    let invalidateSeq = Atomic<UInt64>(0)

    public init(invalidate: @escaping Invalidate) { self.invalidate = invalidate }

    func overlaps(_ start: UInt64, _ last: UInt64) -> Bool { self.start <= last && start <= self.last }

    /// Linux: `mmu_interval_set_seq()`.
    public func setSeq(_ seq: UInt64) { invalidateSeq.store(seq, ordering: .releasing) }

    /// Linux: `mmu_interval_read_retry()`: true if an invalidation collided with the read
    /// section that `readBegin()` returned `seq` for. Call under the driver's lock.
    public func readRetry(_ seq: UInt64) -> Bool { invalidateSeq.load(ordering: .acquiring) != seq }

    /// Linux: `mmu_interval_check_retry()` (the same test, without the lock).
    public func checkRetry(_ seq: UInt64) -> Bool { readRetry(seq) }

    /// Linux: `mmu_interval_read_begin()`: the sequence to pass to `readRetry()`; waits
    /// while an invalidation of this subscription is in progress.
    public func readBegin() -> UInt64 {
        guard let subscriptions = mm?.notifierSubscriptions else { return invalidateSeq.load(ordering: .acquiring) }
        let (seq, invalidating) = subscriptions.state.withLock { s in
            let seq = invalidateSeq.load(ordering: .acquiring)
            return (seq, seq == s.invalidateSeq)
        }
        if invalidating {
            while subscriptions.state.withLock({ $0.invalidateSeq }) == seq { sched_yield_model() }
        }
        return seq
    }
}

/// `struct mmu_notifier_subscriptions` (mm->notifier_subscriptions): the interval tree
/// and the collision-retry write side shared by every subscription of one mm.
public final class MMUNotifierSubscriptions: @unchecked Sendable {
    struct State {
        /// Odd while some subscribed range is being invalidated; starts at 2
        /// (`__mmu_notifier_register()`).
        var invalidateSeq: UInt64 = 2
        var activeInvalidateRanges = 0
        var itree: [MMUIntervalNotifier] = []
        /// Inserts (true) and removes (false) deferred to the last inv_end.
        var deferred: [(MMUIntervalNotifier, Bool)] = []
    }
    let state = Mutex(State())
    /// `subscriptions->has_itree`, read without the lock as `mm_has_notifiers()` is.
    let hasItree = Atomic<Bool>(false)
    /// Invalidations that reached at least one subscription (for tests and reports).
    public let invalidations = Atomic<Int>(0)

    public init() {}

    /// Linux: `mn_itree_inv_start_range()`: count the range active; if a subscription
    /// overlaps, enter the invalidating state (seq odd). Returns the overlapping
    /// subscriptions and the odd `cur_seq` they are given.
    private func invStartRange(_ range: MMUNotifierRange) -> ([MMUIntervalNotifier], UInt64) {
        state.withLock { s in
            s.activeInvalidateRanges += 1
            let last = range.end &- 1
            let hits = s.itree.filter { $0.overlaps(range.start, last) }
            if !hits.isEmpty { s.invalidateSeq |= 1 }
            return (hits, s.invalidateSeq)
        }
    }

    /// Linux: `mn_itree_inv_end()`: the last active range makes the seq even again and
    /// applies the deferred inserts and removes.
    private func invEnd() {
        state.withLock { s in
            s.activeInvalidateRanges -= 1
            guard s.activeInvalidateRanges == 0, s.invalidateSeq & 1 != 0 else { return }
            s.invalidateSeq &+= 1
            for (sub, insert) in s.deferred {
                if insert { s.itree.append(sub) } else { s.itree.removeAll { $0 === sub } }
            }
            s.deferred = []
        }
    }

    /// Linux: `mmu_notifier_invalidate_range_start()` -> `mn_itree_invalidate()`.
    func invalidateRangeStart(_ range: MMUNotifierRange, machine: Machine) {
        let (hits, seq) = invStartRange(range)
        if !hits.isEmpty { invalidations.add(1, ordering: .relaxed) }
        for sub in hits where !sub.invalidate(sub, range, seq) {
            machine.diagnostics.record(Diagnostic(kind: .warn, pfn: nil,
                                                  reason: "mn_itree_invalidate: invalidate() of a blockable range returned false"))
        }
    }

    /// Linux: `mmu_notifier_invalidate_range_end()`.
    func invalidateRangeEnd() { invEnd() }

    /// Linux: `__mmu_interval_notifier_insert()`: EOVERFLOW for an empty range or one
    /// past the top of the address space; during an invalidation the insert is deferred
    /// (invalidating) or the state made fully exclusive, and the new seq is odd.
    func insert(_ sub: MMUIntervalNotifier, mm: MM, start: UInt64, length: UInt64) throws(Errno) {
        guard length > 0 else { throw .EOVERFLOW }
        let (last, overflow) = start.addingReportingOverflow(length - 1)
        guard !overflow else { throw .EOVERFLOW }
        sub.start = start
        sub.last = last
        sub.mm = mm
        state.withLock { s in
            if s.activeInvalidateRanges > 0 {
                if s.invalidateSeq & 1 != 0 {
                    s.deferred.append((sub, true))
                } else {
                    s.invalidateSeq |= 1
                    s.itree.append(sub)
                }
                sub.invalidateSeq.store(s.invalidateSeq, ordering: .relaxed)
            } else {
                sub.invalidateSeq.store(s.invalidateSeq &- 1, ordering: .relaxed)
                s.itree.append(sub)
            }
        }
        hasItree.store(true, ordering: .releasing)
    }

    /// Linux: `mmu_interval_notifier_remove()`: out of the tree now, or (during an
    /// invalidation) at its end, which this waits for.
    func remove(_ sub: MMUIntervalNotifier) {
        let wait: UInt64? = state.withLock { s in
            if s.invalidateSeq & 1 != 0 {
                if let i = s.deferred.firstIndex(where: { $0.0 === sub && $0.1 }) {
                    s.deferred.remove(at: i)
                    return nil
                }
                s.deferred.append((sub, false))
                return s.invalidateSeq
            }
            s.itree.removeAll { $0 === sub }
            return nil
        }
        if let seq = wait {
            while state.withLock({ $0.invalidateSeq }) == seq { sched_yield_model() }
        }
    }

    /// Subscriptions in the tree.
    public var count: Int { state.withLock { $0.itree.count } }
}

extension MM {
    /// Linux: `mmu_interval_notifier_insert(interval_sub, mm, start, length, ops)`.
    public func mmuIntervalNotifierInsert(_ sub: MMUIntervalNotifier, start: UInt64, length: UInt64) throws(Errno) {
        try notifierSubscriptions.insert(sub, mm: self, start: start, length: length)
    }

    /// Linux: `mmu_interval_notifier_remove(interval_sub)`.
    public func mmuIntervalNotifierRemove(_ sub: MMUIntervalNotifier) {
        notifierSubscriptions.remove(sub)
    }

    /// Linux: `mmu_notifier_invalidate_range_start(range)`, `body`, then
    /// `mmu_notifier_invalidate_range_end(range)`: the bracket every PTE change of a
    /// subscribed range runs in. Without subscriptions it costs one atomic load.
    @inline(__always)
    func withMMUNotifier<T, E: Error>(_ event: MMUNotifierEvent, start: UInt64, end: UInt64, owner: UInt64? = nil,
                                      machine: Machine, _ body: () throws(E) -> T) throws(E) -> T {
        guard notifierSubscriptions.hasItree.load(ordering: .acquiring) else { return try body() }
        notifierSubscriptions.invalidateRangeStart(MMUNotifierRange(mm: self, start: start, end: end, event: event, owner: owner),
                                                   machine: machine)
        defer { notifierSubscriptions.invalidateRangeEnd() }
        return try body()
    }

    /// Linux: `mmu_notifier_release()` -> `mn_itree_release()`: exit_mmap() tells every
    /// subscription that the whole address space goes (MMU_NOTIFY_RELEASE over
    /// [0, ULONG_MAX)), before any page is freed. The subscriptions stay until removed.
    func mmuNotifierRelease(machine: Machine) {
        withMMUNotifier(.release, start: 0, end: UInt64.max, machine: machine) {}
    }
}
