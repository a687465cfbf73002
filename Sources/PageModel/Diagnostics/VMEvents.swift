// The virtual memory model's event counters: a few of /proc/vmstat's vm_event_item
// (include/linux/vm_event_item.h), bumped with relaxed atomics like the kernel's per-cpu
// event counters.
import Synchronization

/// Event counters of the virtual memory model, with the vmstat names in the doc comments.
public final class VMEvents: Sendable {
    /// pgfault: every fault handled.
    let faults = Atomic<Int>(0)
    /// pgmajfault: faults that needed I/O (swap-in, a file page read).
    let majorFaults = Atomic<Int>(0)
    /// Faults that mapped the shared zero page (read faults on anonymous memory).
    let zeroPageFaults = Atomic<Int>(0)
    /// COW copies made by write faults (do_wp_page() -> wp_page_copy()).
    let cowCopies = Atomic<Int>(0)
    /// Exclusive pages reused by write faults instead of copied (wp_page_reuse()).
    let cowReuses = Atomic<Int>(0)
    /// Unshare faults (FAULT_FLAG_UNSHARE) that copied a page.
    let unshareCopies = Atomic<Int>(0)
    /// Pages copied into a fork child because they may be DMA-pinned (copy_present_page()).
    let forkPinnedCopies = Atomic<Int>(0)
    /// thp_fault_alloc / thp_fault_fallback.
    let thpFaultAlloc = Atomic<Int>(0)
    let thpFaultFallback = Atomic<Int>(0)
    /// thp_split_pmd / thp_split_page.
    let thpSplitPmd = Atomic<Int>(0)
    let thpSplitPage = Atomic<Int>(0)
    /// thp_collapse_alloc (MADV_COLLAPSE).
    let thpCollapse = Atomic<Int>(0)
    /// pswpout / pswpin.
    let swapOuts = Atomic<Int>(0)
    let swapIns = Atomic<Int>(0)
    /// pgsteal: folios reclaimed; pgactivate for those kept.
    let reclaimed = Atomic<Int>(0)
    let reclaimKeptPinned = Atomic<Int>(0)
    /// pgmigrate_success / pgmigrate_fail.
    let migrations = Atomic<Int>(0)
    let migrationFailures = Atomic<Int>(0)

    init() {}

    @inline(__always) static func bump(_ counter: borrowing Atomic<Int>, _ n: Int = 1) { counter.add(n, ordering: .relaxed) }

    /// A snapshot of every counter.
    public var snapshot: VMEventCounts {
        VMEventCounts(
            faults: faults.load(ordering: .relaxed), majorFaults: majorFaults.load(ordering: .relaxed),
            zeroPageFaults: zeroPageFaults.load(ordering: .relaxed), cowCopies: cowCopies.load(ordering: .relaxed),
            cowReuses: cowReuses.load(ordering: .relaxed), unshareCopies: unshareCopies.load(ordering: .relaxed),
            forkPinnedCopies: forkPinnedCopies.load(ordering: .relaxed),
            thpFaultAlloc: thpFaultAlloc.load(ordering: .relaxed), thpFaultFallback: thpFaultFallback.load(ordering: .relaxed),
            thpSplitPmd: thpSplitPmd.load(ordering: .relaxed), thpSplitPage: thpSplitPage.load(ordering: .relaxed),
            thpCollapse: thpCollapse.load(ordering: .relaxed),
            swapOuts: swapOuts.load(ordering: .relaxed), swapIns: swapIns.load(ordering: .relaxed),
            reclaimed: reclaimed.load(ordering: .relaxed), reclaimKeptPinned: reclaimKeptPinned.load(ordering: .relaxed),
            migrations: migrations.load(ordering: .relaxed), migrationFailures: migrationFailures.load(ordering: .relaxed))
    }
}

/// A snapshot of `VMEvents`.
public struct VMEventCounts: Sendable, Equatable, Codable {
    public var faults = 0, majorFaults = 0, zeroPageFaults = 0, cowCopies = 0, cowReuses = 0
    public var unshareCopies = 0, forkPinnedCopies = 0
    public var thpFaultAlloc = 0, thpFaultFallback = 0, thpSplitPmd = 0, thpSplitPage = 0, thpCollapse = 0
    public var swapOuts = 0, swapIns = 0, reclaimed = 0, reclaimKeptPinned = 0
    public var migrations = 0, migrationFailures = 0
}
