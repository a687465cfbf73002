// The kernel's spinlock fast path on a raw lock word: arch_spin_lock()/arch_spin_unlock()
// as queued_spin_lock()/queued_spin_unlock() (include/asm-generic/qspinlock.h,
// kernel/locking/qspinlock.c; x86 takes both from there, arch/x86/include/asm/qspinlock.h).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A handle on a spinlock word (`arch_spinlock_t`: a 32-bit `atomic_t val`, 0 when free)
/// in raw memory its owner allocated, zeroed and keeps alive; a plain value, so taking a
/// lock costs no reference counting.
///
/// - `lock()` is `queued_spin_lock()`'s fast path: one `atomic_try_cmpxchg_acquire()` of
///   0 → `_Q_LOCKED_VAL` (1), a single locked `cmpxchg` on x86-64.
/// - `unlock()` is `queued_spin_unlock()`: `smp_store_release(&lock->locked, 0)`, a plain
///   store on x86-64 (the model stores the whole word: it has no pending or tail bits).
///
/// Why acquire and release are enough (as for the kernel's): the critical section's
/// loads and stores may not move above the acquiring exchange nor below the releasing
/// store, so one holder's section happens before the next holder's; nothing outside the
/// section is ordered by a lock, in the kernel either. Thread Sanitizer derives the same
/// happens-before from these atomics' orderings (they are compiled into the instrumented
/// code, unlike `Synchronization.Mutex`'s, `ModelMutex` says why), so it checks the data
/// a `SpinLock` guards as it checks a mutex's.
///
/// Deliberate difference: the kernel's contended path queues waiters (MCS nodes, one per
/// CPU) and spins without end, because a holder with preemption disabled runs until it
/// unlocks. A model thread holding the lock can be descheduled (the host may run more
/// threads than it has cores), and spinning on it would burn the waiter's whole time
/// slice; so a waiter spins on plain reads (no locked instruction while the lock is
/// held, as `atomic_cond_read_acquire()` in the slow path) and yields the CPU
/// (`sched_yield()`) every 64 reads. Not fair, not queued: the model's locks are held for
/// a few list or counter updates, never across anything that takes the lock again.
struct SpinLock: @unchecked Sendable {
    /// The lock word: 4 bytes, 4-byte aligned, 0 when free.
    let word: UnsafeMutableRawPointer

    /// `spin_lock()`.
    @inline(__always)
    func lock() {
        if !RawMemory.atomicCompareExchangeAcquire(word, expected: 0, desired: 1).exchanged { spinLockSlow(word) }
    }

    /// `spin_unlock()`.
    @inline(__always)
    func unlock() { RawMemory.atomicSetRelease(word, 0) }

    /// `spin_lock()`, `body`, `spin_unlock()`.
    @inline(__always)
    func withLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        lock()
        defer { unlock() }
        return try body()
    }

    /// Allocates `count` unlocked lock words, `stride` bytes apart (a cache line each, as
    /// the kernel's hashed lock arrays are kept to avoid false sharing): word `i` is at
    /// `block + i * stride`. The caller deallocates the block.
    static func allocateWords(count: Int, stride: Int) -> UnsafeMutableRawPointer {
        precondition(count > 0 && stride >= 4 && stride & 3 == 0, "spinlock words: 4-byte aligned")
        let block = UnsafeMutableRawPointer.allocate(byteCount: count * stride, alignment: max(stride & -stride, 4))
        block.initializeMemory(as: UInt8.self, repeating: 0, count: count * stride)
        return block
    }
}

/// `lock()` when the lock is held (cold): `queued_spin_lock_slowpath()` reduced to a
/// test-and-test-and-set loop that yields the CPU (the type's doc says why).
@inline(never)
private func spinLockSlow(_ word: UnsafeMutableRawPointer) {
    var spins = 0
    repeat {
        while RawMemory.atomicRead(word) != 0 {
            spins &+= 1
            if spins & 63 == 0 { sched_yield() }
        }
    } while !RawMemory.atomicCompareExchangeAcquire(word, expected: 0, desired: 1).exchanged
}
