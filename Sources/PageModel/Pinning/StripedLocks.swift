// A fixed set of locks picked by pfn, for the designs whose pin update is more than one
// atomic (lru-pinned, page-ext, proxy). Mainline takes none.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// 64 mutexes; a folio's lock is chosen by its first pfn. They sit in one raw block, a
/// cache line each, as the kernel's hashed locks are an array of spinlocks: taking one
/// costs no reference counting (an array of lock objects cost a retain and a release of
/// the stripe and its mutex per pin, model overhead issue 19 item 4 removed). pthread
/// mutexes, which Thread Sanitizer sees (`ModelMutex` says why).
final class StripedLocks: @unchecked Sendable {
    private static let count = 64
    private static let stride = 64
    private let block: UnsafeMutableRawPointer

    init() {
        precondition(MemoryLayout<pthread_mutex_t>.size <= Self.stride)
        block = .allocate(byteCount: Self.count * Self.stride, alignment: Self.stride)
        for i in 0..<Self.count {
            let mutex = (block + i * Self.stride).bindMemory(to: pthread_mutex_t.self, capacity: 1)
            mutex.initialize(to: pthread_mutex_t())
            pthread_mutex_init(mutex, nil)
        }
    }

    deinit {
        for i in 0..<Self.count { pthread_mutex_destroy(mutex(i)) }
        block.deallocate()
    }

    @inline(__always)
    private func mutex(_ i: Int) -> UnsafeMutablePointer<pthread_mutex_t> {
        (block + i &* Self.stride).assumingMemoryBound(to: pthread_mutex_t.self)
    }

    /// Takes the lock of `pfn`'s stripe, for a caller that unlocks in straight-line code
    /// (`unlock`), as the kernel's spin_lock()/spin_unlock() pairs: no closure context.
    @inline(__always)
    func lock(_ pfn: Int) { pthread_mutex_lock(mutex(pfn & (Self.count - 1))) }

    @inline(__always)
    func unlock(_ pfn: Int) { pthread_mutex_unlock(mutex(pfn & (Self.count - 1))) }

    @inline(__always)
    func withLock<T>(_ pfn: Int, _ body: () -> T) -> T {
        let mutex = mutex(pfn & (Self.count - 1))
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body()
    }
}
