// The exact count of outstanding pins every design keeps beside its own answer, so that
// false positives and negatives of folio_maybe_dma_pinned() are counted, not guessed;
// and the pin statistics.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// A shadow slot packs the pins outstanding (low 32 bits) with the number of changes
/// made to it (high 32 bits, wrapping). Two equal snapshots around a design's answer
/// prove that no pin or unpin of that folio ran meanwhile, so the answer can be judged
/// against a count that held the whole time (`folioMaybeDMAPinned`). 2^32 - 1 pins per
/// folio is the limit, as for the kernel's 32-bit `_pincount`.
///
/// A folio's count is spread over several slots (`PinShadowSlots`): the shared slot and
/// one grab slot per pinning thread. Each slot's word is `changes << 32 + pins` taken
/// modulo 2^64 (a grab slot only grows; the shared slot takes every unpin, so alone it
/// may read "negative"), and the words add up: their wrapping sum is the folio's
/// `changes << 32 + outstanding pins`, exact as long as fewer than 2^32 pins are
/// outstanding.
enum PinSlotWord {
    static let change: Int64 = 1 << 32
    @inline(__always) static func pins(_ word: Int64) -> Int64 { word & 0xffff_ffff }
}

/// The RAM part of the shadow as a plain value (base pointers and a bound), so that the
/// hot paths (GUP-fast, unpin) reach the slots without touching any object: copying it
/// out of `PinState` costs no retain. Valid as long as its `PinShadow` lives (the
/// machine's lifetime).
///
/// Why it stays exact with no shared atomic per pin or per unpin (issue 19 item 2): the
/// count must be exact and an unpin of a pin that is not there must be refused, even
/// when two threads race to unpin the same pin. So grabs and unpins go to different
/// slots, and the unpins are serialized by a lock taken per run of pfns, not per pin.
///
/// - A GUP-fast grab adds to its thread's own slot (`PinShadowGrabSlots`): one writer,
///   so a relaxed load and a relaxed store (plain moves on x86-64 and arm64, no locked
///   instruction), and readers on other threads see a whole word, never a torn one.
///   Grab slots only ever grow.
/// - Every other change (each unpin, the slow paths' pins) is made to the shared slot,
///   and only under its stripe's lock (`lockStripe`: one spinlock per
///   `stripePfns` pfns, hashed onto `stripeLocks` cache lines), with a relaxed load and
///   store. An unpin is let through only when the sum of all slots read under the lock
///   holds that many pins (`subtractLocked`). That is exact under concurrency: the
///   lock makes the shared slot's read-check-store one step against every other
///   decrement, and the only changes that can run meanwhile are grabs, which only add;
///   so the sum checked is at most the true sum when the store lands, the count never
///   goes negative, and of two racing unpins of one pin the second, taking the lock
///   after the first's store, finds the pin gone and is refused. (The compare-and-swap
///   per unpin this replaces gave the same guarantee with a locked instruction per
///   page; a shadow sharded for unpins as well, tried before, let such a double unpin
///   through.)
/// - `unpin_user_pages()`'s fast loop (GUPFastMainline.swift) keeps a stripe locked
///   while its entries stay in that stripe's pfns: one lock round trip (one locked
///   exchange, the release a plain store on x86-64) per run instead of one
///   compare-and-swap per page. Nothing else is taken under it.
/// - Readers (`word`, `folio_maybe_dma_pinned()`) take no lock: they read each slot
///   atomically and compare snapshots (`PinSlotWord`), as before.
struct PinShadowSlots: @unchecked Sendable {
    /// The shared slots: every unpin, and the pins of the slow paths.
    let base: UnsafeMutableRawPointer
    let pfns: Int
    /// The grab slot tables of the threads that pinned (`PinShadow.grabSlots()`):
    /// `threadBases[0..<threadCount]`, published with a releasing store of the count.
    let threadBases: UnsafeMutablePointer<UnsafeMutableRawPointer>
    let threadCount: UnsafeMutableRawPointer
    /// The stripe locks: `stripeLocks` spinlock words (`SpinLock`), a cache line each.
    let locks: UnsafeMutableRawPointer

    /// Pfns per stripe (2 MiB of 4 KiB pages: a PMD's worth, so a THP's unpin and a run
    /// of neighbouring small folios take one lock), and the locks they hash onto.
    static let stripeShift = 9
    static let stripeLocks = 64
    static let lockStride = 64

    @inline(__always)
    func contains(_ pfn: Int) -> Bool { pfn >= 0 && pfn < pfns }

    /// The lock of `pfn`'s stripe (an index into `locks`).
    @inline(__always)
    func stripe(_ pfn: Int) -> Int { (pfn &>> Self.stripeShift) & (Self.stripeLocks &- 1) }

    /// The stripe lock `stripe` (an index into `locks`): a kernel-style spinlock, as the
    /// kernel's hashed locks. Held only for shadow updates and the unpin loop's release
    /// of a small folio's references, never across anything that may take it again.
    @inline(__always)
    private func stripeLock(_ stripe: Int) -> SpinLock { SpinLock(word: locks + stripe &* Self.lockStride) }

    /// Takes the stripe lock `stripe` (`SpinLock.lock()`: one acquiring exchange).
    @inline(__always)
    func lockStripe(_ stripe: Int) { stripeLock(stripe).lock() }

    /// Releases the stripe lock `stripe` (a releasing store: a plain store on x86-64).
    @inline(__always)
    func unlockStripe(_ stripe: Int) { stripeLock(stripe).unlock() }

    /// The shared slot of `pfn`: an `atomic64_t`, touched only through RawMemory.
    @inline(__always)
    private func slot(_ pfn: Int) -> UnsafeMutableRawPointer {
        assert(contains(pfn), "pin shadow: pfn \(pfn) beyond the RAM slots")
        return base + pfn &* 8
    }

    /// The sum of the grab slots of `pfn` (acquiring loads: a pin counted here was
    /// taken in its design before, GUP's smp_mb__after_atomic() orders the two).
    /// A plain loop over the tables (no range check, nothing unrolled: one or two
    /// pinning threads is the common case).
    @inline(__always)
    private func grabbed(_ pfn: Int) -> Int64 {
        var table = threadBases
        let end = threadBases + Int(truncatingIfNeeded: RawMemory.atomic64ReadAcquire(threadCount))
        let offset = pfn &* 8
        var sum: Int64 = 0
        while table < end {
            sum &+= RawMemory.atomic64ReadAcquire(table.pointee + offset)
            table += 1
        }
        return sum
    }

    /// The folio's word (`PinSlotWord`): the wrapping sum of its slots; `pfn` in range.
    @inline(__always)
    func word(_ pfn: Int) -> Int64 { RawMemory.atomic64ReadAcquire(slot(pfn)) &+ grabbed(pfn) }

    /// Outstanding pins of the folio starting at `pfn`; `pfn` in range.
    @inline(__always)
    func pins(_ pfn: Int) -> Int64 { PinSlotWord.pins(word(pfn)) }

    /// Adds `refs` pins to the shared slot, under its stripe's lock (the slow paths'
    /// grabs; GUP-fast adds to its thread's grab slot); `pfn` in range.
    @inline(__always)
    func add(_ pfn: Int, _ refs: Int64) {
        let stripe = stripe(pfn)
        lockStripe(stripe)
        let p = slot(pfn)
        RawMemory.atomic64Set(p, RawMemory.atomic64Read(p) &+ refs &+ PinSlotWord.change)
        unlockStripe(stripe)
    }

    /// Removes `refs` pins if at least that many are outstanding, under the stripe's
    /// lock (one unpin); `pfn` in range.
    @inline(__always)
    func trySubtract(_ pfn: Int, _ refs: Int64) -> Bool {
        let stripe = stripe(pfn)
        lockStripe(stripe)
        let done = subtractLocked(pfn, refs)
        unlockStripe(stripe)
        return done
    }

    /// `trySubtract` for a caller holding `pfn`'s stripe lock: the check against the sum
    /// of all slots and the store are one step against every other decrement (the type's
    /// doc says why that is exact). The design's release that follows is a fully ordered
    /// read-modify-write, so it cannot be seen before this store.
    @inline(__always)
    func subtractLocked(_ pfn: Int, _ refs: Int64) -> Bool {
        let p = slot(pfn)
        let current = RawMemory.atomic64Read(p)
        guard PinSlotWord.pins(current &+ grabbed(pfn)) >= refs else { return false }
        RawMemory.atomic64Set(p, current &- refs &+ PinSlotWord.change)
        return true
    }
}

/// One thread's grab slots (`PinShadow.grabSlots()`), fetched once per GUP call: only
/// that thread writes them. `base` nil: the thread has none (more pinning threads than
/// `PinShadow.maxThreads`), and its grabs go to the shared slots.
struct PinShadowGrabSlots {
    let base: UnsafeMutableRawPointer?

    /// Counts `refs` pins of the RAM folio at `pfn` grabbed by this thread. A relaxed
    /// load and store, no read-modify-write: no other thread writes this slot, and the
    /// pin itself is ordered before it by GUP's smp_mb__after_atomic().
    @inline(__always)
    func add(_ pfn: Int, _ refs: Int64, shared: PinShadowSlots) {
        guard let base else { return shared.add(pfn, refs) }
        let p = base + pfn &* 8
        RawMemory.atomic64Set(p, RawMemory.atomic64Read(p) &+ refs &+ PinSlotWord.change)
    }
}

/// Outstanding pins per folio, keyed by the folio's first pfn: 64-bit slots per RAM pfn
/// in sparse reservations (only touched host pages cost memory), the shared table plus
/// one grab table per pinning thread (`PinShadowSlots` says why), and a locked table for
/// pfns beyond RAM (hot-added and ZONE_DEVICE memory, a cold path).
final class PinShadow: @unchecked Sendable {
    /// Threads that get grab slots of their own; the others count in the shared slots.
    static let maxThreads = 64
    private let region: RawRegion
    /// The RAM slots, as a value the hot paths copy.
    let slots: PinShadowSlots
    private let beyond = ModelMutex<[Int: Int64]>([:])
    /// The grab tables and their owners (`pthread_self()`), appended under the lock and
    /// published through `slots.threadCount`; never removed (their pins stay counted).
    private let threadOwners: UnsafeMutablePointer<pthread_t>
    private let threadRegions = ModelMutex<[RawRegion]>([])

    init(pfns: Int) throws(MachineError) {
        region = try RawRegion(byteCount: max(1, pfns) * 8, noReserve: true, what: "the exact pin shadow")
        let bases = UnsafeMutablePointer<UnsafeMutableRawPointer>.allocate(capacity: Self.maxThreads)
        let count = UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 8)
        count.storeBytes(of: Int64(0), as: Int64.self)
        let locks = SpinLock.allocateWords(count: PinShadowSlots.stripeLocks, stride: PinShadowSlots.lockStride)
        threadOwners = .allocate(capacity: Self.maxThreads)
        slots = PinShadowSlots(base: region.base, pfns: pfns, threadBases: bases, threadCount: count, locks: locks)
    }

    deinit {
        slots.threadBases.deallocate()
        slots.threadCount.deallocate()
        slots.locks.deallocate()
        threadOwners.deallocate()
    }

    /// The calling thread's grab slots, made on its first pin. A thread is known by its
    /// `pthread_self()`: a thread that exited may leave its table to a new thread of the
    /// same id, which is then its only writer (glibc reuses an id only after the old
    /// thread's end, under its own lock).
    func grabSlots() -> PinShadowGrabSlots {
        let me = pthread_self()
        let known = Int(RawMemory.atomic64ReadAcquire(slots.threadCount))
        for t in 0..<known where pthread_equal(threadOwners[t], me) != 0 { return PinShadowGrabSlots(base: slots.threadBases[t]) }
        return registerThread(me)
    }

    /// `grabSlots()` for a thread without a table yet (cold: once per thread).
    @inline(never)
    private func registerThread(_ me: pthread_t) -> PinShadowGrabSlots {
        threadRegions.withLock { regions in
            let count = regions.count
            for t in 0..<count where pthread_equal(threadOwners[t], me) != 0 { return PinShadowGrabSlots(base: slots.threadBases[t]) }
            guard count < Self.maxThreads,
                  let table = try? RawRegion(byteCount: max(1, slots.pfns) * 8, noReserve: true, what: "a thread's pin grab slots")
            else { return PinShadowGrabSlots(base: nil) }
            regions.append(table)
            threadOwners[count] = me
            slots.threadBases[count] = table.base
            // Publishes the entry: a reader that sees the count sees the table.
            RawMemory.atomic64Release(slots.threadCount, Int64(count + 1))
            return PinShadowGrabSlots(base: table.base)
        }
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

    /// Adds `refs` pins to the shared slot (under its stripe lock: the slow paths' pins).
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
