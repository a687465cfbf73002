// A fixed set of locks picked by pfn, for the designs whose pin update is more than one
// atomic (lru-pinned, page-ext, proxy). Mainline takes none.

/// 64 spinlocks (`SpinLock`); a folio's lock is chosen by its first pfn. Their words sit
/// in one raw block, a cache line each, as the kernel's hashed locks are an array of
/// spinlocks: taking one costs no reference counting and, uncontended, one locked
/// exchange and a plain releasing store, as the kernel's `spin_lock()`/`spin_unlock()`
/// (issue 19 item 4: these were pthread mutexes, about 53 instructions a lock/unlock
/// pair of model overhead on every pin and unpin of these designs).
final class StripedLocks: @unchecked Sendable {
    private static let count = 64
    private static let stride = 64
    private let block: UnsafeMutableRawPointer

    init() {
        block = SpinLock.allocateWords(count: Self.count, stride: Self.stride)
    }

    deinit { block.deallocate() }

    /// The lock of `pfn`'s stripe.
    @inline(__always)
    private func stripe(_ pfn: Int) -> SpinLock { SpinLock(word: block + (pfn & (Self.count - 1)) &* Self.stride) }

    /// Takes the lock of `pfn`'s stripe, for a caller that unlocks in straight-line code
    /// (`unlock`), as the kernel's spin_lock()/spin_unlock() pairs: no closure context.
    @inline(__always)
    func lock(_ pfn: Int) { stripe(pfn).lock() }

    @inline(__always)
    func unlock(_ pfn: Int) { stripe(pfn).unlock() }

    @inline(__always)
    func withLock<T>(_ pfn: Int, _ body: () -> T) -> T { stripe(pfn).withLock(body) }
}
