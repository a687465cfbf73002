// mm->mmap_lock: the reader/writer semaphore that serialises changes to an address space.
// Mirrors include/linux/mmap_lock.h (mmap_read_lock(), mmap_write_lock(), ...).
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A reader/writer lock over a heap-allocated `pthread_rwlock_t` (it must not move, so it
/// lives behind a pointer this handle owns). Readers (faults, GUP) run concurrently;
/// writers (mmap, munmap, mprotect, mremap, most of madvise) run alone.
///
/// Not recursive: code running under the lock must not take it again.
public final class MMapLock: @unchecked Sendable {
    // Invariant: `lock` is initialised in init and destroyed only in deinit; pthread_rwlock
    // is itself thread-safe, which is what makes this handle Sendable.
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    public init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        // Readers are preferred (glibc's default, made explicit): a reader is let in while
        // a writer waits. The model's migration relies on it: it waits for read locks
        // while holding a folio lock, and readers may be waiting on that folio (see
        // `Machine.rmapWalk`); a waiting writer must not hold them up.
        var attr = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attr)
        #if canImport(Glibc)
        pthread_rwlockattr_setkind_np(&attr, Int32(PTHREAD_RWLOCK_PREFER_READER_NP))
        #endif
        pthread_rwlock_init(lock, &attr)
        pthread_rwlockattr_destroy(&attr)
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Linux: `mmap_read_lock()` ... `mmap_read_unlock()`.
    public func withReadLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    /// Linux: `mmap_write_lock()` ... `mmap_write_unlock()`.
    public func withWriteLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    /// Linux: `mmap_read_trylock()`; nil when a writer holds the lock.
    public func tryWithReadLock<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T? {
        guard pthread_rwlock_tryrdlock(lock) == 0 else { return nil }
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}
