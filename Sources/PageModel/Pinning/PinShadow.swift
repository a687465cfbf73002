// The exact count of outstanding pins every design keeps beside its own answer, so that
// false positives and negatives of folio_maybe_dma_pinned() are counted, not guessed;
// and the pin statistics.
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A shadow slot packs the pins it counts (low 32 bits) with the number of changes made
/// to it (high 32 bits), as one 64-bit value that every change moves by `±refs + 2^32`
/// (wrapping). The exact count of a folio is the sum of its slots over the shards
/// (`PinShadowSlots`); summed the same way, the words of all shards still change with
/// every pin or unpin of the folio, so two equal sums around a design's answer prove
/// that none ran meanwhile, and the answer can be judged against a count that held the
/// whole time (`folioMaybeDMAPinned`). 2^32 - 1 pins per folio is the limit, as for the
/// kernel's 32-bit `_pincount` (and ±2^31 per shard).
enum PinSlotWord {
    static let change: Int64 = 1 << 32
    @inline(__always) static func pins(_ word: Int64) -> Int64 { word & 0xffff_ffff }
}

/// The RAM part of the shadow as a plain value (a base pointer and a bound), so that the
/// hot paths (GUP-fast, unpin) reach the slots without touching any object: copying it
/// out of `PinState` costs no retain. Valid as long as its `PinShadow` lives (the
/// machine's lifetime).
///
/// The slots are sharded per thread, like the kernel's per-cpu vmstat deltas: each
/// thread writes the slots of its own shard (`PinShadowShard.current`), alone, with a
/// plain load and store of the atomic (no locked instruction, no shared cache line
/// bounced between pinning threads); the exact count is the sum over the shards in use,
/// computed where it is asked. Threads beyond the exclusive shards share the last shard,
/// with atomic read-modify-writes. Linux has no such count: this is the model's yardstick
/// for every design, and it must cost no design a shared atomic per pin.
struct PinShadowSlots: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let pfns: Int
    /// How many shards have been written (a high-water mark, an atomic Int64 in the
    /// region's first bytes); the sums read only these.
    let used: UnsafeMutableRawPointer

    @inline(__always)
    func contains(_ pfn: Int) -> Bool { pfn >= 0 && pfn < pfns }

    /// The slot of `pfn` in `shard`: an `atomic64_t`, touched only through RawMemory.
    @inline(__always)
    private func slot(_ shard: Int, _ pfn: Int) -> UnsafeMutableRawPointer {
        assert(contains(pfn), "pin shadow: pfn \(pfn) beyond the RAM slots")
        return base + (shard &* pfns &+ pfn) &* 8
    }

    /// The calling thread's writer (once per GUP or unpin call): its shard, marked in use.
    @inline(__always)
    func writer() -> PinShadowWriter {
        let shard = PinShadowShard.current()
        if Int64(shard) >= RawMemory.atomic64ReadAcquire(used) { markUsed(shard) }
        return PinShadowWriter(base: base + shard &* pfns &* 8, pfns: pfns, exclusive: shard < PinShadowShard.shared)
    }

    /// Raises the high-water mark to include `shard` (once per thread and machine).
    @inline(never)
    private func markUsed(_ shard: Int) {
        var current = RawMemory.atomic64Read(used)
        while current <= Int64(shard) {
            let (done, found) = RawMemory.atomic64CompareExchangeAcquire(used, expected: current, desired: Int64(shard) + 1)
            if done { return }
            current = found
        }
    }

    /// The sum of the slot words of `pfn` over the shards in use (`PinSlotWord`), each an
    /// acquiring load; `pfn` in range.
    @inline(__always)
    func word(_ pfn: Int) -> Int64 {
        let shards = Int(RawMemory.atomic64ReadAcquire(used))
        var sum: Int64 = 0
        for shard in 0..<shards { sum &+= RawMemory.atomic64ReadAcquire(slot(shard, pfn)) }
        return sum
    }

    /// Outstanding pins of the folio starting at `pfn`; `pfn` in range.
    @inline(__always)
    func pins(_ pfn: Int) -> Int64 { PinSlotWord.pins(word(pfn)) }

    /// Removes `refs` pins through `writer` if at least that many are outstanding (summed
    /// over the shards); `pfn` in range. Deliberately not one atomic step across the
    /// shards: two threads racing to release together more pins than are outstanding
    /// (one pin unpinned twice, on two threads at the same moment) may both pass the
    /// check; every unpin that does not race another such unpin is refused as before.
    @inline(__always)
    func trySubtract(_ pfn: Int, _ refs: Int64, writer: PinShadowWriter) -> Bool {
        if RawMemory.atomic64ReadAcquire(used) == 1, writer.exclusive {
            // Only shard 0 was ever written, and it is this thread's (the only shard in
            // use is the writer's): its word is the whole count; one load, one store.
            let p = base + pfn &* 8
            let current = RawMemory.atomic64Read(p)
            guard PinSlotWord.pins(current) >= refs else { return false }
            RawMemory.atomic64Set(p, current &- refs &+ PinSlotWord.change)
            return true
        }
        guard pins(pfn) >= refs else { return false }
        writer.add(pfn, -refs)
        return true
    }
}

/// One thread's shard of a machine's shadow, for the length of one call.
struct PinShadowWriter {
    let base: UnsafeMutableRawPointer
    let pfns: Int
    /// The shard is this thread's alone (plain load and store); else it is shared.
    let exclusive: Bool

    @inline(__always)
    private func slot(_ pfn: Int) -> UnsafeMutableRawPointer { base + pfn &* 8 }

    /// Moves the slot by `delta` pins (and one change). Exclusive: the only writer, so a
    /// relaxed load and store (plain MOVs) are the whole update; readers sum with
    /// acquiring loads. The callers order it: after the design's grab and
    /// `smp_mb__after_atomic()` for a pin; for an unpin, the design's release that
    /// follows is a fully ordered RMW, which the store cannot pass.
    @inline(__always)
    func add(_ pfn: Int, _ delta: Int64) {
        let p = slot(pfn)
        if exclusive {
            RawMemory.atomic64Set(p, RawMemory.atomic64Read(p) &+ delta &+ PinSlotWord.change)
        } else {
            RawMemory.atomic64Add(p, delta &+ PinSlotWord.change)
        }
    }
}

/// The calling thread's shard index, kept in a pthread key: the first `exclusive`
/// threads alive get one each (an exiting thread's index goes back to a free list, its
/// counts staying in the shard for the next owner), later ones share `shared`.
enum PinShadowShard {
    static let count = 8
    static let shared = count - 1

    /// This thread's shard (one pthread_getspecific() after the first call).
    @inline(__always)
    static func current() -> Int {
        if let value = pthread_getspecific(registry.key) { return Int(bitPattern: value) - 1 }
        return registry.assign()
    }

    private static let registry = ShardRegistry()

    private final class ShardRegistry: Sendable {
        let key: pthread_key_t
        let free = ModelMutex<(next: Int, free: [Int])>((0, []))

        init() {
            var key = pthread_key_t()
            // At thread exit: the exclusive index goes back (the mutex orders the old
            // owner's stores before the next owner's loads).
            pthread_key_create(&key) { value in
                guard let value else { return }
                PinShadowShard.release(Int(bitPattern: value) - 1)
            }
            self.key = key
        }

        @inline(never)
        func assign() -> Int {
            let index = free.withLock { state -> Int in
                if let reused = state.free.popLast() { return reused }
                guard state.next < PinShadowShard.shared else { return PinShadowShard.shared }
                state.next += 1
                return state.next - 1
            }
            pthread_setspecific(key, UnsafeRawPointer(bitPattern: index + 1))
            return index
        }
    }

    fileprivate static func release(_ index: Int) {
        guard index < shared else { return }
        registry.free.withLock { $0.free.append(index) }
    }
}

/// Outstanding pins per folio, keyed by the folio's first pfn: per-thread shards of one
/// 64-bit slot per RAM pfn in a sparse reservation (only touched host pages cost
/// memory), and a locked table for pfns beyond RAM (hot-added and ZONE_DEVICE memory, a
/// cold path).
final class PinShadow: @unchecked Sendable {
    private let region: RawRegion
    /// The RAM slots, as a value the hot paths copy.
    let slots: PinShadowSlots
    private let beyond = ModelMutex<[Int: Int64]>([:])

    init(pfns: Int) throws(MachineError) {
        let header = 64
        region = try RawRegion(byteCount: header + PinShadowShard.count * max(1, pfns) * 8, noReserve: true, what: "the exact pin shadow")
        slots = PinShadowSlots(base: region.base + header, pfns: pfns, used: region.base)
    }

    /// The slot word (`PinSlotWord`, summed over the shards) of the folio starting at `pfn`.
    @inline(__always)
    func word(_ pfn: Int) -> Int64 {
        if slots.contains(pfn) { return slots.word(pfn) }
        return beyond.withLock { $0[pfn] ?? 0 }
    }

    /// Outstanding pins of the folio starting at `pfn`.
    @inline(__always)
    func pins(_ pfn: Int) -> Int64 { PinSlotWord.pins(word(pfn)) }

    /// Adds `refs` pins (the slow paths; GUP-fast adds through its call's writer).
    @inline(__always)
    func add(_ pfn: Int, _ refs: Int64) {
        if slots.contains(pfn) { slots.writer().add(pfn, refs) } else { addBeyond(pfn, refs) }
    }

    /// `add` for a pfn beyond RAM (cold). Entries stay when their count returns to 0, so
    /// that their change count keeps counting.
    @inline(never)
    func addBeyond(_ pfn: Int, _ refs: Int64) {
        beyond.withLock { $0[pfn, default: 0] &+= refs &+ PinSlotWord.change }
    }

    /// Removes `refs` pins if at least that many are outstanding; false (nothing
    /// changed) otherwise, so that an unpin of an unpinned folio can neither lose nor
    /// double a pin (`PinShadowSlots.trySubtract`).
    func trySubtract(_ pfn: Int, _ refs: Int64) -> Bool {
        if slots.contains(pfn) { return slots.trySubtract(pfn, refs, writer: slots.writer()) }
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
