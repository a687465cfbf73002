// Word-sized and atomic access to the raw bytes of the memmap and the descriptor heap,
// with an explicit memory ordering at every call (include/linux/atomic.h, page_ref.h).
import Atomics

/// Loads and stores of `unsigned long` words (4 or 8 bytes, BITS_PER_LONG) and atomic
/// operations on `atomic_t`/`unsigned long` fields in raw memory. The model's only way
/// to touch a field; every offset comes from the resolved layout, and callers reach it
/// through a checked view (`RawView`: Page, Folio, DescriptorBytes) or the list and
/// frame handles, never by computing an address themselves.
///
/// Checks (debug builds only): atomics are naturally aligned, as the hardware requires.
/// Each bitop spells out its own ordering: swift-atomics takes orderings only as
/// literal constants, so the near-identical bodies cannot share one helper.
/// Left to the caller: that the address is inside live memory (the views check that).
///
/// Orderings follow the kernel: `atomic_read`/`atomic_set` are relaxed;
/// `atomic_inc`/`atomic_add` are relaxed (no return value); value-returning RMW
/// operations (`atomic_dec_and_test`, `atomic_add_return`, `test_and_set_bit`) are fully
/// ordered; `atomic_set_release` is a release store.
enum RawMemory {
    // swift-atomics' representations, named through UnsafeAtomic so that they do not clash
    // with the standard library's Synchronization.AtomicRepresentable.
    typealias Int32Storage = UnsafeAtomic<Int32>.Storage
    typealias UInt32Storage = UnsafeAtomic<UInt32>.Storage
    typealias UInt64Storage = UnsafeAtomic<UInt64>.Storage
    typealias Int64Storage = UnsafeAtomic<Int64>.Storage

    @inline(__always)
    static func loadWord(_ p: UnsafeMutableRawPointer, wordSize: Int) -> UInt64 {
        wordSize == 8 ? p.load(as: UInt64.self) : UInt64(p.load(as: UInt32.self))
    }

    @inline(__always)
    static func storeWord(_ value: UInt64, _ p: UnsafeMutableRawPointer, wordSize: Int) {
        if wordSize == 8 { p.storeBytes(of: value, as: UInt64.self) } else { p.storeBytes(of: UInt32(truncatingIfNeeded: value), as: UInt32.self) }
    }

    @inline(__always)
    private static func atomic32(_ p: UnsafeMutableRawPointer) -> UnsafeMutablePointer<Int32Storage> {
        assert(Int(bitPattern: p) & 3 == 0, "a misaligned atomic_t")
        return p.assumingMemoryBound(to: Int32Storage.self)
    }

    @inline(__always)
    private static func atomicLong64(_ p: UnsafeMutableRawPointer) -> UnsafeMutablePointer<UInt64Storage> {
        assert(Int(bitPattern: p) & 7 == 0, "a misaligned unsigned long")
        return p.assumingMemoryBound(to: UInt64Storage.self)
    }

    @inline(__always)
    private static func atomicLong32(_ p: UnsafeMutableRawPointer) -> UnsafeMutablePointer<UInt32Storage> {
        assert(Int(bitPattern: p) & 3 == 0, "a misaligned unsigned long")
        return p.assumingMemoryBound(to: UInt32Storage.self)
    }

    /// Linux: `atomic_read()`.
    @inline(__always)
    static func atomicRead(_ p: UnsafeMutableRawPointer) -> Int32 {
        Int32Storage.atomicLoad(at: atomic32(p), ordering: .relaxed)
    }

    /// Linux: `atomic_read_acquire()`.
    @inline(__always)
    static func atomicReadAcquire(_ p: UnsafeMutableRawPointer) -> Int32 {
        Int32Storage.atomicLoad(at: atomic32(p), ordering: .acquiring)
    }

    /// Linux: `atomic_set()`.
    @inline(__always)
    static func atomicSet(_ p: UnsafeMutableRawPointer, _ value: Int32) {
        Int32Storage.atomicStore(value, at: atomic32(p), ordering: .relaxed)
    }

    /// Linux: `atomic_set_release()`.
    @inline(__always)
    static func atomicSetRelease(_ p: UnsafeMutableRawPointer, _ value: Int32) {
        Int32Storage.atomicStore(value, at: atomic32(p), ordering: .releasing)
    }

    /// Linux: `atomic_add()` (no return value, relaxed).
    @inline(__always)
    static func atomicAdd(_ p: UnsafeMutableRawPointer, _ value: Int32) {
        _ = Int32Storage.atomicLoadThenWrappingIncrement(by: value, at: atomic32(p), ordering: .relaxed)
    }

    /// Linux: `atomic_add_return()` (fully ordered); returns the new value.
    @inline(__always)
    static func atomicAddReturn(_ p: UnsafeMutableRawPointer, _ value: Int32) -> Int32 {
        Int32Storage.atomicLoadThenWrappingIncrement(by: value, at: atomic32(p), ordering: .sequentiallyConsistent) &+ value
    }

    /// Linux: `atomic_sub_return()` (fully ordered); returns the new value.
    @inline(__always)
    static func atomicSubReturn(_ p: UnsafeMutableRawPointer, _ value: Int32) -> Int32 {
        Int32Storage.atomicLoadThenWrappingDecrement(by: value, at: atomic32(p), ordering: .sequentiallyConsistent) &- value
    }

    /// Linux: `atomic_try_cmpxchg()` (fully ordered). Returns the value found.
    @inline(__always)
    static func atomicCompareExchange(_ p: UnsafeMutableRawPointer, expected: Int32, desired: Int32) -> (exchanged: Bool, original: Int32) {
        Int32Storage.atomicCompareExchange(expected: expected, desired: desired, at: atomic32(p), ordering: .sequentiallyConsistent)
    }

    /// Linux: `atomic_try_cmpxchg_acquire()` (`queued_spin_lock()`'s fast path,
    /// `SpinLock`). Returns the value found.
    @inline(__always)
    static func atomicCompareExchangeAcquire(_ p: UnsafeMutableRawPointer, expected: Int32, desired: Int32) -> (exchanged: Bool, original: Int32) {
        Int32Storage.atomicCompareExchange(expected: expected, desired: desired, at: atomic32(p), ordering: .acquiring)
    }

    /// Linux: `set_bit()` on an `unsigned long` (relaxed RMW, as the kernel's
    /// non-value-returning bitops).
    @inline(__always)
    static func setBit(_ bit: Int, _ p: UnsafeMutableRawPointer, wordSize: Int) {
        if wordSize == 8 {
            _ = UInt64Storage.atomicLoadThenBitwiseOr(with: 1 << UInt64(bit), at: atomicLong64(p), ordering: .relaxed)
        } else {
            _ = UInt32Storage.atomicLoadThenBitwiseOr(with: 1 << UInt32(bit), at: atomicLong32(p), ordering: .relaxed)
        }
    }

    /// Linux: `clear_bit()`.
    @inline(__always)
    static func clearBit(_ bit: Int, _ p: UnsafeMutableRawPointer, wordSize: Int) {
        if wordSize == 8 {
            _ = UInt64Storage.atomicLoadThenBitwiseAnd(with: ~(1 << UInt64(bit)), at: atomicLong64(p), ordering: .relaxed)
        } else {
            _ = UInt32Storage.atomicLoadThenBitwiseAnd(with: ~(1 << UInt32(bit)), at: atomicLong32(p), ordering: .relaxed)
        }
    }

    /// Linux: `test_and_set_bit_lock()` (acquire); returns the old bit.
    @inline(__always)
    static func testAndSetBitLock(_ bit: Int, _ p: UnsafeMutableRawPointer, wordSize: Int) -> Bool {
        if wordSize == 8 {
            let mask: UInt64 = 1 << UInt64(bit)
            return UInt64Storage.atomicLoadThenBitwiseOr(with: mask, at: atomicLong64(p), ordering: .acquiring) & mask != 0
        }
        let mask: UInt32 = 1 << UInt32(bit)
        return UInt32Storage.atomicLoadThenBitwiseOr(with: mask, at: atomicLong32(p), ordering: .acquiring) & mask != 0
    }

    /// Linux: `clear_bit_unlock()` (release).
    @inline(__always)
    static func clearBitUnlock(_ bit: Int, _ p: UnsafeMutableRawPointer, wordSize: Int) {
        if wordSize == 8 {
            _ = UInt64Storage.atomicLoadThenBitwiseAnd(with: ~(1 << UInt64(bit)), at: atomicLong64(p), ordering: .releasing)
        } else {
            _ = UInt32Storage.atomicLoadThenBitwiseAnd(with: ~(1 << UInt32(bit)), at: atomicLong32(p), ordering: .releasing)
        }
    }

    /// Linux: `test_and_set_bit()` (fully ordered); returns the old bit.
    @inline(__always)
    static func testAndSetBit(_ bit: Int, _ p: UnsafeMutableRawPointer, wordSize: Int) -> Bool {
        if wordSize == 8 {
            let mask: UInt64 = 1 << UInt64(bit)
            return UInt64Storage.atomicLoadThenBitwiseOr(with: mask, at: atomicLong64(p), ordering: .sequentiallyConsistent) & mask != 0
        }
        let mask: UInt32 = 1 << UInt32(bit)
        return UInt32Storage.atomicLoadThenBitwiseOr(with: mask, at: atomicLong32(p), ordering: .sequentiallyConsistent) & mask != 0
    }

    /// Linux: `test_and_clear_bit()` (fully ordered); returns the old bit.
    @inline(__always)
    static func testAndClearBit(_ bit: Int, _ p: UnsafeMutableRawPointer, wordSize: Int) -> Bool {
        if wordSize == 8 {
            let mask: UInt64 = 1 << UInt64(bit)
            return UInt64Storage.atomicLoadThenBitwiseAnd(with: ~mask, at: atomicLong64(p), ordering: .sequentiallyConsistent) & mask != 0
        }
        let mask: UInt32 = 1 << UInt32(bit)
        return UInt32Storage.atomicLoadThenBitwiseAnd(with: ~mask, at: atomicLong32(p), ordering: .sequentiallyConsistent) & mask != 0
    }

    @inline(__always)
    private static func atomic64(_ p: UnsafeMutableRawPointer) -> UnsafeMutablePointer<Int64Storage> {
        assert(Int(bitPattern: p) & 7 == 0, "a misaligned atomic64_t")
        return p.assumingMemoryBound(to: Int64Storage.self)
    }

    /// Linux: `atomic64_read()` (relaxed).
    @inline(__always)
    static func atomic64Read(_ p: UnsafeMutableRawPointer) -> Int64 {
        Int64Storage.atomicLoad(at: atomic64(p), ordering: .relaxed)
    }

    /// Linux: `atomic64_set()` (relaxed; a plain store on x86-64 and arm64).
    @inline(__always)
    static func atomic64Set(_ p: UnsafeMutableRawPointer, _ value: Int64) {
        Int64Storage.atomicStore(value, at: atomic64(p), ordering: .relaxed)
    }

    /// Linux: `atomic64_set_release()`.
    @inline(__always)
    static func atomic64Release(_ p: UnsafeMutableRawPointer, _ value: Int64) {
        Int64Storage.atomicStore(value, at: atomic64(p), ordering: .releasing)
    }

    /// Linux: `atomic64_read_acquire()`.
    @inline(__always)
    static func atomic64ReadAcquire(_ p: UnsafeMutableRawPointer) -> Int64 {
        Int64Storage.atomicLoad(at: atomic64(p), ordering: .acquiring)
    }

    /// Linux: `atomic64_add()` (relaxed, no return value; wrapping).
    @inline(__always)
    static func atomic64Add(_ p: UnsafeMutableRawPointer, _ value: Int64) {
        _ = Int64Storage.atomicLoadThenWrappingIncrement(by: value, at: atomic64(p), ordering: .relaxed)
    }

    /// Linux: `atomic64_try_cmpxchg_acquire()`. Returns the value found.
    @inline(__always)
    static func atomic64CompareExchangeAcquire(_ p: UnsafeMutableRawPointer, expected: Int64, desired: Int64) -> (exchanged: Bool, original: Int64) {
        Int64Storage.atomicCompareExchange(expected: expected, desired: desired, at: atomic64(p), ordering: .acquiring)
    }

    /// Linux: `smp_mb()`.
    @inline(__always)
    static func fullFence() { atomicMemoryFence(ordering: .sequentiallyConsistent) }

    /// Linux: `smp_rmb()`: the loads before it are ordered before the loads after it.
    /// x86 (arch/x86/include/asm/barrier.h: `#define __smp_rmb() dma_rmb()`, which is
    /// `barrier()`): loads are not reordered with other loads in hardware, so only the
    /// compiler's reordering is to forbid, and an acquire fence emits no instruction
    /// there; on arm64 it is a `dmb ishld`, which is what arm64's `smp_rmb()` is. TSan
    /// does not model fences (as for `fenceAfterAtomic`).
    @inline(__always)
    static func readBarrier() { atomicMemoryFence(ordering: .acquiring) }

    /// Linux: `smp_mb__after_atomic()`, right after an atomic read-modify-write (GUP-fast:
    /// after the pin's reference add, before the PTE and PMD are read again; it pairs
    /// with the full barrier of `folio_try_share_anon_rmap_*()` on the fork side).
    ///
    /// x86 (arch/x86/include/asm/barrier.h: `#define __smp_mb__after_atomic() barrier()`):
    /// the RMW is LOCK-prefixed, and a locked instruction is a full barrier in hardware;
    /// the only reordering left is the compiler's. An acquire-release fence emits no
    /// instruction on x86 and forbids exactly that: the RMW's load is ordered before
    /// every later load and store (acquire), and an RMW is one indivisible operation, so
    /// the later re-reads cannot be hoisted above it. Every other architecture keeps the
    /// portable full fence (arm64's `smp_mb__after_atomic()` is `smp_mb()`, a `dmb ish`).
    /// TSan does not model fences of either kind (its happens-before comes from the
    /// atomics' own orderings), so it sees the same either way.
    @inline(__always)
    static func fenceAfterAtomic() {
        #if arch(x86_64) || arch(i386)
        atomicMemoryFence(ordering: .acquiringAndReleasing)
        #else
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        #endif
    }

    /// Linux: `atomic_add_unless(v, a, u)` (fully ordered on success): adds `a` unless the
    /// value is `u`; true if it added.
    @inline(__always)
    static func atomicAddUnless(_ p: UnsafeMutableRawPointer, _ a: Int32, unless u: Int32) -> Bool {
        var current = atomicRead(p)
        while current != u {
            let (done, found) = atomicCompareExchange(p, expected: current, desired: current &+ a)
            if done { return true }
            current = found
        }
        return false
    }
}
