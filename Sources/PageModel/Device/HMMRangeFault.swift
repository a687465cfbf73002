// hmm_range_fault() (include/linux/hmm.h, mm/hmm.c, v6.19): a driver's snapshot of the CPU
// page tables over a range, faulting pages in where the request flags demand it, taking
// no page references.
//
// The range's interval notifier and the sequence its caller got from
// mmu_interval_read_begin() make the walk give up with -EBUSY once an invalidation has
// collided with it (hmm_range_fault()'s mmu_interval_check_retry()); the caller retries
// (dmirror_range_fault(), DeviceMirrorRetry.swift). Deliberate difference: the notifier
// is optional; a caller without one (a test's bare walk) is never told. The scenario
// language's hmm_range_fault and the benchmark walk under a notifier of their own.

/// The HMM_PFN_* bits of an `hmm_pfns[]` entry [include/linux/hmm.h].
public enum HMMPFN {
    public static let valid: UInt64 = 1 << 63
    public static let write: UInt64 = 1 << 62
    public static let error: UInt64 = 1 << 61
    public static let orderShift: UInt64 = 53
    /// HMM_PFN_REQ_FAULT / HMM_PFN_REQ_WRITE: the same bits, as input.
    public static let reqFault = valid
    public static let reqWrite = write
    /// The pfn bits below the flags.
    public static let pfnMask: UInt64 = (1 << orderShift) - 1
    /// Linux: `hmm_pfn_to_map_order()`.
    public static func mapOrder(_ value: UInt64) -> Int { Int((value >> orderShift) & 0x1f) }
}

/// `struct hmm_range`.
public struct HMMRange: Sendable {
    /// `range->notifier` (nil: the walk never checks for a collision).
    public var notifier: MMUIntervalNotifier?
    /// `range->notifier_seq`: what `mmu_interval_read_begin()` returned.
    public var notifierSeq: UInt64 = 0
    public var start: UInt64
    public var end: UInt64
    public var hmmPfns: [UInt64]
    public var defaultFlags: UInt64
    public var pfnFlagsMask: UInt64
    public var devPrivateOwner: UInt64?

    public init(start: UInt64, end: UInt64, defaultFlags: UInt64 = 0, pfnFlagsMask: UInt64 = 0, devPrivateOwner: UInt64? = nil,
                notifier: MMUIntervalNotifier? = nil) {
        self.notifier = notifier
        self.start = start
        self.end = end
        self.hmmPfns = Array(repeating: 0, count: Int((end &- start) >> UserVM.pageShift))
        self.defaultFlags = defaultFlags
        self.pfnFlagsMask = pfnFlagsMask
        self.devPrivateOwner = devPrivateOwner
    }
}

extension UserPageTables {
    /// Linux: `hmm_pte_need_fault()`: 0, or a fault (write or not) the request demands.
    private func hmmNeedFault(_ range: HMMRange, _ i: Int, cpuFlags: UInt64) -> (fault: Bool, write: Bool) {
        let req = (range.hmmPfns[i] & range.pfnFlagsMask) | range.defaultFlags
        guard req & HMMPFN.reqFault != 0 else { return (false, false) }
        if req & HMMPFN.reqWrite != 0, cpuFlags & HMMPFN.write == 0 { return (true, true) }
        return (cpuFlags & HMMPFN.valid == 0, false)
    }

    /// Linux: `hmm_range_fault()`: fill `range.hmmPfns`, faulting as the request flags
    /// demand. EFAULT: a fault needed in a hole, in a VM_IO/VM_PFNMAP VMA or one without
    /// VM_READ, or the fault failed; EPERM: a write fault in a VMA without VM_WRITE;
    /// EBUSY: `mmu_interval_check_retry(range->notifier, range->notifier_seq)` is true
    /// before the walk or before it restarts after a fault (`hmm_vma_fault()` ends the
    /// walk with -EBUSY and the do-while loop checks again), the entries from the
    /// faulting page on left at their input values. The caller holds the mmap_lock for read.
    public func hmmRangeFault(_ range: inout HMMRange) throws(Errno) {
        guard range.end > range.start, range.start & (UserVM.pageSize - 1) == 0 else { throw .EINVAL }
        var i = 0
        var rounds = 0
        if range.notifier?.checkRetry(range.notifierSeq) == true { throw .EBUSY }
        while i < range.hmmPfns.count {
            let addr = range.start &+ UInt64(i) << UserVM.pageShift
            guard let vma = mm.lockedVMALookup(addr) else {
                // hmm_vma_walk_hole() without a VMA.
                if hmmNeedFault(range, i, cpuFlags: 0).fault { throw .EFAULT }
                range.hmmPfns[i] = HMMPFN.error
                i += 1
                continue
            }
            if !vma.flags.intersection([.io, .pfnMap]).isEmpty || !vma.flags.contains(.read) {
                // hmm_vma_walk_test().
                if hmmNeedFault(range, i, cpuFlags: 0).fault { throw .EFAULT }
                range.hmmPfns[i] = HMMPFN.error
                i += 1
                continue
            }
            let (value, cpuFlags) = hmmReadEntry(addr, range: range)
            let need = hmmNeedFault(range, i, cpuFlags: cpuFlags)
            guard need.fault else {
                range.hmmPfns[i] = value
                i += 1
                continue
            }
            // hmm_vma_fault(), then the walk starts again from this page (-EBUSY).
            if need.write, !vma.flags.contains(.write) { throw .EPERM }
            rounds += 1
            guard rounds <= 4 * range.hmmPfns.count + 16 else { throw .EFAULT }
            let result = handleFault(vma, address: addr, flags: need.write ? [.write, .remote] : [.remote])
            if result.isError { throw .EFAULT }
            if range.notifier?.checkRetry(range.notifierSeq) == true { throw .EBUSY }
        }
    }

    /// The entry mapping `addr` as an hmm_pfns value and its cpu flags
    /// (hmm_vma_handle_pte(), hmm_vma_handle_pmd()). A special PTE other than the
    /// zero page is an error; entries hmm does not report (none, swap, another owner's
    /// device-private page) are 0 with no flags, so that a fault request faults them.
    private func hmmReadEntry(_ addr: UInt64, range: HMMRange) -> (UInt64, UInt64) {
        var out: (UInt64, UInt64) = (0, 0)
        withMappingEntryLocked(addr) { entry, huge in
            if entry.isPresent {
                // hmm_vma_handle_pmd() reports any huge PMD, the huge zero folio's too.
                if entry.isSpecial, !entry.isLeaf, entry.pfn != machine.zeroPagePfn {
                    out = (HMMPFN.error, 0)
                    return
                }
                let flags = HMMPFN.valid | (entry.isWritable ? HMMPFN.write : 0)
                if entry.isLeaf {
                    let pfn = entry.pfn + Int((addr & (Paging.pmdSize - 1)) >> UserVM.pageShift)
                    out = (UInt64(pfn) | flags | UInt64(Paging.pmdShift - Paging.pageShift) << HMMPFN.orderShift, flags)
                } else {
                    out = (UInt64(entry.pfn) | flags, flags)
                }
                return
            }
            if entry.isDevicePrivate, let pfn = entry.devicePfn, let page = machine.page(pfn),
               machine.pagePgmap(page)?.owner == range.devPrivateOwner, range.devPrivateOwner != nil {
                let flags = HMMPFN.valid | (entry.softLeaf == .devicePrivateWrite ? HMMPFN.write : 0)
                guard huge else {
                    out = (UInt64(pfn) | flags, flags)
                    return
                }
                // hmm_vma_handle_absent_pmd(): the PMD's order and each page's own pfn. (The
                // kernel numbers the pfns from the head at the walk's start inside the PMD,
                // which differs only for a range starting inside it; the model gives the
                // pfn of the page at `addr`.)
                let page = pfn + Int((addr & (Paging.pmdSize - 1)) >> UserVM.pageShift)
                out = (UInt64(page) | flags | UInt64(Paging.pmdShift - Paging.pageShift) << HMMPFN.orderShift, flags)
            } else if huge, entry.isDevicePrivate {
                // hmm_vma_handle_absent_pmd(): another owner's device-private THP is
                // HMM_PFN_ERROR unless a fault is required (then it is faulted home).
                out = (HMMPFN.error, 0)
            }
        }
        return out
    }
}
