// Kernel address -> Swift object, for the non-page objects the memmap points to.
import Synchronization

/// Maps the kernel address of a non-page object (a `dev_pagemap`, an `address_space`, a
/// `kmem_cache`) to the Swift object that models it, so that a pointer read from the
/// memmap (`folio->pgmap`, `page->mapping`, `slab->slab_cache`) leads back to it.
public final class ObjectRegistry: Sendable {
    private let objects = ModelMutex<[UInt64: any AnyObject & Sendable]>([:])

    public init() {}

    public func register(_ object: any AnyObject & Sendable, at address: UInt64) {
        objects.withLock { $0[address] = object }
    }

    public func unregister(_ address: UInt64) {
        _ = objects.withLock { $0.removeValue(forKey: address) }
    }

    /// The object at an address, if one of the given type is registered there.
    public func object<T: AnyObject & Sendable>(at address: UInt64, as type: T.Type = T.self) -> T? {
        objects.withLock { $0[address] } as? T
    }

    public var count: Int { objects.withLock { $0.count } }
}
