// A fixed set of locks picked by pfn, for the designs whose pin update is more than one
// atomic (lru-pinned, page-ext, proxy). Mainline takes none.
import Synchronization

/// 64 mutexes; a folio's lock is chosen by its first pfn.
final class StripedLocks: Sendable {
    private final class Stripe: Sendable { let lock = ModelMutex(()) }
    private let stripes: [Stripe] = (0..<64).map { _ in Stripe() }

    @inline(__always)
    func withLock<T>(_ pfn: Int, _ body: () -> T) -> T {
        stripes[pfn & 63].lock.withLock(body)
    }
}
