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
    /// On each of the first `collisions` passes another thread invalidates the range
    /// between mmu_interval_read_begin() and the walk (`invalidateConcurrently`).
    func rangeFaultRetrying(_ range: inout HMMRange, notifier: MMUIntervalNotifier, collisions: Int = 0,
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
            if jiffies <= collisions { invalidateConcurrently(range.start, range.end) }
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

    /// Another thread's invalidation of `[start, end)` that changes no page: an
    /// MADV_DONTNEED of pages already zapped, whose zap_page_range_single_batched()
    /// (mm/memory.c) brackets the range with MMU_NOTIFY_CLEAR whatever it finds. Every
    /// interval notifier over the range sees it (the open file's erases its device
    /// page-table entries there, dmirror_interval_invalidate()).
    func invalidateConcurrently(_ start: UInt64, _ end: UInt64) {
        process.mm.withMMUNotifier(.clear, start: start, end: end, machine: device.machine) {}
    }

    /// A driver's own hmm_range_fault() of `npages` from `addr`, as a GPU driver mirrors a
    /// userptr: `mmu_interval_notifier_insert()` over the range (EOVERFLOW for an empty
    /// or overflowing one, mm/mmu_notifier.c), then dmirror_range_fault()'s loop of
    /// mmu_interval_read_begin(), hmm_range_fault() with HMM_PFN_REQ_FAULT (| REQ_WRITE)
    /// and this device as `dev_private_owner`, mmu_interval_read_retry() under the
    /// driver's lock; the notifier removed when done. On each of the first `collisions`
    /// passes a concurrent invalidation of the range lands between read_begin and the
    /// walk, so hmm_range_fault() returns -EBUSY and the loop goes round again; with
    /// `collisions` >= `rangeFaultPasses` every pass collides and the result is -EBUSY.
    /// Returns the range with its `hmm_pfns`; stores nothing in the device page table.
    public func rangeFault(addr: UInt64, npages: UInt64, write: Bool, collisions: Int = 0) throws(Errno) -> HMMRange {
        guard notifier != nil else { throw .EBADF }
        let (length, overflow) = npages.multipliedReportingOverflow(by: UserVM.pageSize)
        guard !overflow else { throw .EOVERFLOW }
        var range = HMMRange(start: addr, end: addr &+ length, defaultFlags: HMMPFN.reqFault | (write ? HMMPFN.reqWrite : 0),
                             devPrivateOwner: device.owner)
        try withTemporaryNotifier(addr, addr &+ length) { sub throws(Errno) in
            try rangeFaultRetrying(&range, notifier: sub, collisions: collisions) { _, _ in }
        }
        return range
    }

    /// Linux: `dmirror_range_snapshot()`'s temporary notifier over `[start, end)`
    /// (`mmu_interval_notifier_insert(..., &dmirror_mrn_ops)`, removed when done), whose
    /// `dmirror_snapshot_invalidate()` only records the sequence under the mirror's lock:
    /// any invalidation of the interval invalidates the whole snapshot. `rangeFault()`
    /// subscribes the same way.
    func withTemporaryNotifier<T>(_ start: UInt64, _ end: UInt64, _ body: (MMUIntervalNotifier) throws(Errno) -> T) throws(Errno) -> T {
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
