// The exact count of outstanding pins every design keeps beside its own answer, so that
// false positives and negatives of folio_maybe_dma_pinned() are counted, not guessed;
// and the pin statistics.
import Atomics
import Synchronization

/// Outstanding pins per folio, keyed by the folio's first pfn: one 64-bit atomic per RAM
/// pfn in a sparse reservation (only touched host pages cost memory), and a locked table
/// for pfns beyond RAM (hot-added and ZONE_DEVICE memory, a cold path).
final class PinShadow: @unchecked Sendable {
    private typealias Storage = UnsafeAtomic<Int64>.Storage
    private let region: RawRegion
    private let pfns: Int
    private let beyond = ModelMutex<[Int: Int64]>([:])

    init(pfns: Int) throws(MachineError) {
        self.pfns = pfns
        region = try RawRegion(byteCount: max(1, pfns) * 8, noReserve: true, what: "the exact pin shadow")
    }

    @inline(__always)
    private func slot(_ pfn: Int) -> UnsafeMutablePointer<Storage> {
        (region.base + pfn &* 8).assumingMemoryBound(to: Storage.self)
    }

    /// Outstanding pins of the folio starting at `pfn` (relaxed load).
    @inline(__always)
    func pins(_ pfn: Int) -> Int64 {
        if pfn >= 0, pfn < pfns { return Storage.atomicLoad(at: slot(pfn), ordering: .relaxed) }
        return beyond.withLock { $0[pfn] ?? 0 }
    }

    /// Adds `refs` pins (relaxed, as the kernel's `atomic_add`).
    @inline(__always)
    func add(_ pfn: Int, _ refs: Int64) {
        if pfn >= 0, pfn < pfns {
            _ = Storage.atomicLoadThenWrappingIncrement(by: refs, at: slot(pfn), ordering: .relaxed)
        } else {
            beyond.withLock { $0[pfn, default: 0] += refs }
        }
    }

    /// Removes `refs` pins if at least that many are outstanding; false (nothing changed)
    /// otherwise, so that an unpin of an unpinned folio can neither lose nor double a pin.
    @inline(__always)
    func trySubtract(_ pfn: Int, _ refs: Int64) -> Bool {
        if pfn >= 0, pfn < pfns {
            var current = Storage.atomicLoad(at: slot(pfn), ordering: .relaxed)
            while current >= refs {
                let (done, found) = Storage.atomicCompareExchange(expected: current, desired: current - refs, at: slot(pfn), ordering: .relaxed)
                if done { return true }
                current = found
            }
            return false
        }
        return beyond.withLock { table in
            guard let current = table[pfn], current >= refs else { return false }
            table[pfn] = current - refs == 0 ? nil : current - refs
            return true
        }
    }
}

/// The pin statistics of a machine, exact (from the shadow) where the kernel's are not.
public struct PinStats: Sendable, Equatable {
    /// Pins taken and released, in PAGE_SIZE units, `folio_add_pin()` included (the
    /// kernel's nr_foll_pin_acquired does not count those; see `nodeCounters`).
    public var pinsAcquired = 0
    public var pinsReleased = 0
    /// `folio_maybe_dma_pinned()` said yes (no) while the exact count was 0 (> 0).
    public var falsePositives = 0
    public var falseNegatives = 0
    /// Fields another arm of the struct page needed that a design overwrote (lru-pinned
    /// on ZONE_DEVICE pages), detected when the page was next used.
    public var corruptions = 0
    /// Unpins of folios without (enough) pins: refused and recorded.
    public var unpinsOfUnpinned = 0
    /// `put_page()` calls that would have dropped a reference a pin holds: refused.
    public var putsOfPinnedReferences = 0
    /// `get_page()`/`put_page()` on a GUP proxy (proxy design): caught and redirected.
    public var proxyMisuses = 0
    /// Grabs refused (refcount ≤ 0, overflow, no room for the design's state).
    public var refusedGrabs = 0
    /// `PinnedPages` dropped without `unpin`, and the pins they left outstanding.
    public var leakedTokens = 0
    public var leakedPins = 0

    /// Pins outstanding now: acquired − released.
    public var outstanding: Int { pinsAcquired - pinsReleased }
}

/// The atomics behind `PinStats` (relaxed, as vmstat's counters).
final class PinCounters: Sendable {
    let acquired = Atomic<Int>(0), released = Atomic<Int>(0)
    let falsePositives = Atomic<Int>(0), falseNegatives = Atomic<Int>(0)
    let corruptions = Atomic<Int>(0), unpinsOfUnpinned = Atomic<Int>(0)
    let putsOfPinnedReferences = Atomic<Int>(0), proxyMisuses = Atomic<Int>(0)
    let refusedGrabs = Atomic<Int>(0), leakedTokens = Atomic<Int>(0), leakedPins = Atomic<Int>(0)

    var snapshot: PinStats {
        PinStats(pinsAcquired: acquired.load(ordering: .relaxed), pinsReleased: released.load(ordering: .relaxed),
                 falsePositives: falsePositives.load(ordering: .relaxed), falseNegatives: falseNegatives.load(ordering: .relaxed),
                 corruptions: corruptions.load(ordering: .relaxed), unpinsOfUnpinned: unpinsOfUnpinned.load(ordering: .relaxed),
                 putsOfPinnedReferences: putsOfPinnedReferences.load(ordering: .relaxed), proxyMisuses: proxyMisuses.load(ordering: .relaxed),
                 refusedGrabs: refusedGrabs.load(ordering: .relaxed), leakedTokens: leakedTokens.load(ordering: .relaxed),
                 leakedPins: leakedPins.load(ordering: .relaxed))
    }
}
