// The mirror's collision-retry loop around hmm_range_fault() (lib/test_hmm.c, v6.19:
// dmirror_range_fault() and dmirror_range_snapshot(), include/linux/hmm.h:
// HMM_RANGE_DEFAULT_TIMEOUT): mmu_interval_read_begin(), hmm_range_fault() under the
// mmap_lock (-EBUSY: again), then under the mirror's mutex mmu_interval_read_retry()
// (true: again) or the result stored; -EBUSY once the timeout has passed.
//
// Deliberate difference: time is not read from a clock (no test may depend on timing).
// The model's jiffies count the loop's passes, each taken to last one jiffy of a HZ=1000
// kernel (1 ms, so msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT) = 1000): the passes at
// jiffies 0...1000 run, 1001 of them, and the next one's time_after(jiffies, timeout)
// gives -EBUSY. A collision on every pass therefore ends in -EBUSY after exactly
// `DeviceMirror.rangeFaultPasses` attempts, whatever the machine's speed.

extension DeviceMirror {
    /// HMM_RANGE_DEFAULT_TIMEOUT, in ms.
    public static let rangeDefaultTimeoutMs = 1000
    /// The passes the loop makes before -EBUSY: jiffies 0 through
    /// msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT) at one jiffy (1 ms) each.
    public static let rangeFaultPasses = rangeDefaultTimeoutMs + 1

    /// Linux: `dmirror_range_fault()` / `dmirror_range_snapshot()`'s loop: `range` walked
    /// with hmm_range_fault() against `notifier` until a walk finishes without a
    /// collision; `store` then runs under the mirror's lock (`dmirror->mutex`, here the
    /// device page table's) with the result. Errors other than EBUSY end it at once.
    func rangeFaultRetrying(_ range: inout HMMRange, notifier: MMUIntervalNotifier,
                            store: (HMMRange, inout [UInt64: DPTEntry]) -> Void) throws(Errno) {
        let tables = process.tables
        range.notifier = notifier
        var jiffies = 0
        let timeout = jiffies + Self.rangeDefaultTimeoutMs
        while true {
            if jiffies > timeout { throw .EBUSY }   // time_after(jiffies, timeout)
            jiffies += 1
            range.notifierSeq = notifier.readBegin()
            rangeFaultCollision?()
            do {
                try process.mm.mmapLock.withReadLock { () throws(Errno) in try tables.hmmRangeFault(&range) }
            } catch .EBUSY {
                continue
            }
            let stored = pt.withLock { pt -> Bool in
                if notifier.readRetry(range.notifierSeq) { return false }
                store(range, &pt)
                return true
            }
            if stored { return }
        }
    }

    /// Linux: `dmirror_range_snapshot()`'s temporary notifier over `[start, end)`
    /// (`mmu_interval_notifier_insert(..., &dmirror_mrn_ops)`, removed when done), whose
    /// `dmirror_snapshot_invalidate()` only records the sequence under the mirror's lock:
    /// any invalidation of the interval invalidates the whole snapshot.
    func withSnapshotNotifier<T>(_ start: UInt64, _ end: UInt64, _ body: (MMUIntervalNotifier) throws(Errno) -> T) throws(Errno) -> T {
        let sub = MMUIntervalNotifier { [weak self] sub, _, seq in
            guard let self else { return true }
            pt.withLock { _ in sub.setSeq(seq) }
            return true
        }
        try process.mm.mmuIntervalNotifierInsert(sub, start: start, length: end &- start)
        defer { process.mm.mmuIntervalNotifierRemove(sub) }
        return try body(sub)
    }
}
