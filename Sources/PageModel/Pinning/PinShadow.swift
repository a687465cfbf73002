// The exact count of outstanding pins every design keeps beside its own answer, so that
// false positives and negatives of folio_maybe_dma_pinned() are counted, not guessed;
// and the pin statistics.
import Synchronization

/// A shadow slot packs the pins outstanding (low 32 bits) with the number of changes
/// made to it (high 32 bits, wrapping). Two equal snapshots around a design's answer
/// prove that no pin or unpin of that folio ran meanwhile, so the answer can be judged
/// against a count that held the whole time (`folioMaybeDMAPinned`). 2^32 - 1 pins per
/// folio is the limit, as for the kernel's 32-bit `_pincount`.
enum PinSlotWord {
    static let change: Int64 = 1 << 32
    @inline(__always) static func pins(_ word: Int64) -> Int64 { word & 0xffff_ffff }
}

/// The RAM part of the shadow as a plain value (a base pointer and a bound), so that the
/// hot paths (GUP-fast, unpin) reach the atomics without touching any object: copying
/// it out of `PinState` costs no retain. Valid as long as its `PinShadow` lives (the
/// machine's lifetime).
struct PinShadowSlots: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let pfns: Int

    @inline(__always)
    func contains(_ pfn: Int) -> Bool { pfn >= 0 && pfn < pfns }

    /// The slot of `pfn`: an `atomic64_t`, touched only through RawMemory.
    @inline(__always)
    private func slot(_ pfn: Int) -> UnsafeMutableRawPointer {
        assert(contains(pfn), "pin shadow: pfn \(pfn) beyond the RAM slots")
        return base + pfn &* 8
    }

    /// The slot's word (`PinSlotWord`), an acquiring load; `pfn` in range.
    @inline(__always)
    func word(_ pfn: Int) -> Int64 { RawMemory.atomic64ReadAcquire(slot(pfn)) }

    /// Outstanding pins of the folio starting at `pfn`; `pfn` in range.
    @inline(__always)
    func pins(_ pfn: Int) -> Int64 { PinSlotWord.pins(word(pfn)) }

    /// Adds `refs` pins (relaxed, as the kernel's `atomic_add`: GUP orders it after the
    /// design's grab with smp_mb__after_atomic()); `pfn` in range.
    @inline(__always)
    func add(_ pfn: Int, _ refs: Int64) {
        RawMemory.atomic64Add(slot(pfn), refs &+ PinSlotWord.change)
    }

    /// Removes `refs` pins if at least that many are outstanding; `pfn` in range.
    /// Acquiring: the design's release that follows cannot be seen before it.
    @inline(__always)
    func trySubtract(_ pfn: Int, _ refs: Int64) -> Bool {
        let p = slot(pfn)
        var current = RawMemory.atomic64Read(p)
        while PinSlotWord.pins(current) >= refs {
            let (done, found) = RawMemory.atomic64CompareExchangeAcquire(p, expected: current, desired: current &- refs &+ PinSlotWord.change)
            if done { return true }
            current = found
        }
        return false
    }
}

/// Outstanding pins per folio, keyed by the folio's first pfn: one 64-bit atomic per RAM
/// pfn in a sparse reservation (only touched host pages cost memory), and a locked table
/// for pfns beyond RAM (hot-added and ZONE_DEVICE memory, a cold path).
final class PinShadow: @unchecked Sendable {
    private let region: RawRegion
    /// The RAM slots, as a value the hot paths copy.
    let slots: PinShadowSlots
    private let beyond = ModelMutex<[Int: Int64]>([:])

    init(pfns: Int) throws(MachineError) {
        region = try RawRegion(byteCount: max(1, pfns) * 8, noReserve: true, what: "the exact pin shadow")
        slots = PinShadowSlots(base: region.base, pfns: pfns)
    }

    /// The slot's word (`PinSlotWord`) of the folio starting at `pfn`.
    @inline(__always)
    func word(_ pfn: Int) -> Int64 {
        if slots.contains(pfn) { return slots.word(pfn) }
        return beyond.withLock { $0[pfn] ?? 0 }
    }

    /// Outstanding pins of the folio starting at `pfn`.
    @inline(__always)
    func pins(_ pfn: Int) -> Int64 { PinSlotWord.pins(word(pfn)) }

    /// Adds `refs` pins (relaxed, as the kernel's `atomic_add`).
    @inline(__always)
    func add(_ pfn: Int, _ refs: Int64) {
        if slots.contains(pfn) { slots.add(pfn, refs) } else { addBeyond(pfn, refs) }
    }

    /// `add` for a pfn beyond RAM (cold). Entries stay when their count returns to 0, so
    /// that their change count keeps counting.
    @inline(never)
    func addBeyond(_ pfn: Int, _ refs: Int64) {
        beyond.withLock { $0[pfn, default: 0] &+= refs &+ PinSlotWord.change }
    }

    /// Removes `refs` pins if at least that many are outstanding; false (nothing changed)
    /// otherwise, so that an unpin of an unpinned folio can neither lose nor double a pin.
    @inline(__always)
    func trySubtract(_ pfn: Int, _ refs: Int64) -> Bool {
        if slots.contains(pfn) { return slots.trySubtract(pfn, refs) }
        return trySubtractBeyond(pfn, refs)
    }

    /// `trySubtract` for a pfn beyond RAM (cold).
    @inline(never)
    func trySubtractBeyond(_ pfn: Int, _ refs: Int64) -> Bool {
        beyond.withLock { table in
            guard let current = table[pfn], PinSlotWord.pins(current) >= refs else { return false }
            table[pfn] = current &- refs &+ PinSlotWord.change
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
