// The model's mutex: the kernel's spinlock_t/struct mutex for model state (zone->lock,
// lru_lock, the swap and page-cache locks, ...), over pthread_mutex_t.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A mutex guarding a value, with `Synchronization.Mutex`'s `withLock` shape.
///
/// Why not `Synchronization.Mutex`: its lock word is taken with atomics compiled into the
/// prebuilt standard library, which Thread Sanitizer does not see, so TSan reports the
/// data such a mutex protects as racing. pthread mutexes are intercepted by TSan, which
/// makes the model's TSan runs (CI) exact. The pthread_mutex_t lives behind a pointer
/// this object owns, because it must not move.
///
/// TSan is not why the pin paths' locks were mutexes: a lock made of atomics in raw
/// memory, compiled with the model (swift-atomics through `RawMemory`), is instrumented
/// and seen as well. The hot paths' short holds (the pin designs' stripe locks, the
/// exact pin shadow's, the descriptor heap's) take a `SpinLock`, the kernel's
/// `spin_lock()` fast path at a handful of instructions against a pthread mutex's ~53 a
/// lock/unlock pair; `ModelMutex` stays for model state whose holds are long, rare or
/// may wait on another lock (the kernel's sleeping locks among them), where a waiter
/// should sleep, not spin.
///
/// Invariant (what makes `@unchecked Sendable` true): `value` is read and written only
/// inside `withLock`.
public final class ModelMutex<Value>: @unchecked Sendable {
    fileprivate let mutex: UnsafeMutablePointer<pthread_mutex_t>
    // Guarded by `mutex`: the dynamic exclusivity check a class property would get on
    // every access is redundant and costly on the allocator's hot path.
    @exclusivity(unchecked) private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the lock held and the guarded value.
    @inline(__always)
    public func withLock<Result, E: Error>(_ body: (inout Value) throws(E) -> Result) throws(E) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }
}

extension ModelMutex where Value == Void {
    /// A plain lock: `body` runs with it held. No access to the (empty) value is made:
    /// Thread Sanitizer sees an inout access of an empty stored property at the end of
    /// the object, which is where the next allocation starts, and reports a false race.
    @inline(__always)
    public func withLock<Result, E: Error>(_ body: () throws(E) -> Result) throws(E) -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
