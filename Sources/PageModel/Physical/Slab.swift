// A minimal SLUB (mm/slub.c, mm/slab.h): kmem_caches whose slabs come from the buddy
// allocator and are marked as the kernel marks them, with the freelist threaded through
// the free objects' own bytes and `freelist`/`counters` in struct slab.
import PageLayout
import Synchronization

/// `struct kmem_cache`, reduced to what places objects: size, alignment, slab order.
public final class KmemCache: Sendable {
    public let name: String
    /// `object_size` rounded up to `align` (`s->size`).
    public let size: Int
    public let align: Int
    /// `oo_order(s->oo)`.
    public let order: Int
    /// `oo_objects(s->oo)`.
    public let objectsPerSlab: Int
    /// The cache's kernel address (`slab->slab_cache`).
    public let address: UInt64
    /// Slabs with free objects (`kmem_cache_node->partial`), by first pfn, and all slabs.
    let slabs = ModelMutex<(partial: [Int], all: Set<Int>)>(([], []))

    init(name: String, size: Int, align: Int, order: Int, objectsPerSlab: Int, address: UInt64) {
        self.name = name
        self.size = size
        self.align = align
        self.order = order
        self.objectsPerSlab = objectsPerSlab
        self.address = address
    }

    /// Slabs the cache holds.
    public var slabCount: Int { slabs.withLock { $0.all.count } }
}

extension Machine {
    /// Linux: `kmem_cache_create(name, size, align, 0, NULL)`. The slab order is the
    /// smallest that holds `slub_min_objects` (4 × (fls(nr_cpus) + 1) = 8 for one CPU)
    /// objects, at most PAGE_ALLOC_COSTLY_ORDER (`calculate_order()`).
    public func kmemCacheCreate(name: String, size: Int, align: Int = 8) throws(KernelError) -> KmemCache {
        guard size > 0, align > 0, align.nonzeroBitCount == 1, align <= MachineConfig.pageSize else {
            throw .invalid("kmem_cache_create(\(name)): size \(size), align \(align)")
        }
        let objectSize = (size + align - 1) / align * align
        guard objectSize <= MachineConfig.pageSize << BuddyConstants.costlyOrder else {
            throw .invalid("kmem_cache_create(\(name)): object of \(size) bytes is larger than a slab")
        }
        var order = 0
        while order < BuddyConstants.costlyOrder, (MachineConfig.pageSize << order) / objectSize < 8 { order += 1 }
        guard let address = heap.allocate(size: 2 * layout.wordSize, alignment: layout.wordSize, kind: .kmemCache) else {
            throw .noSpace("no room for struct kmem_cache")
        }
        let cache = KmemCache(name: name, size: objectSize, align: align, order: order,
                              objectsPerSlab: (MachineConfig.pageSize << order) / objectSize, address: address)
        registry.register(cache, at: address)
        return cache
    }

    /// struct slab's offsets: it overlays the head page (the 64-byte family) or is a
    /// separate `memdesc_slab` (the scheme's `slabLayout`); a 5.15 or 6.1 machine has that
    /// version's (6.1 mm/slab.h puts `slab_cache` after the list arms; 5.15's is struct
    /// page's slab arm), as ModelLayout resolved them.
    private var slabOffsets: (cache: Int, freelist: Int, counters: Int) {
        (layout.slabCache, layout.slabFreelist, layout.slabCounters)
    }

    /// The kernel (direct-map) address of an object, and its bytes.
    private func objectAddress(pfn: Int, offset: Int) -> UInt64 {
        addressMap.directMapBase &+ UInt64(pfn) << 12 &+ UInt64(offset)
    }

    /// Linux: `allocate_slab()`: pages from the buddy allocator (__GFP_COMP above order 0),
    /// `__SetPageSlab()` (page_type PGTY_slab) and `slab->slab_cache`, or in the memdesc
    /// designs a `memdesc_slab` with the pages' words pointing to it (type Slab); then the
    /// freelist through the objects and `counters` (inuse 0, objects n, frozen 0).
    private func allocateSlab(_ cache: KmemCache, gfp: GFP) -> Int? {
        let flags = GFP(rawValue: gfp.rawValue & ~(GFP.zero.rawValue | GFP.highmem.rawValue | GFP.movable.rawValue))
        guard let head = allocPages(cache.order > 0 ? flags.union(.comp) : flags, order: cache.order) else { return nil }
        let pfn = head.pfn
        let offsets = slabOffsets
        guard let slab = attachSlab(head, order: cache.order) else {
            freePages(head, order: cache.order)
            return nil
        }
        slab.setWord(offsets.cache, cache.address)
        guard let frame = frames.pointer(pfn: pfn) else { return pfn }
        // The freelist: each free object's first word holds the next free object.
        for i in 0..<cache.objectsPerSlab {
            let next = i + 1 < cache.objectsPerSlab ? objectAddress(pfn: pfn, offset: (i + 1) * cache.size) : 0
            RawMemory.storeWord(next, frame + i * cache.size, wordSize: layout.wordSize)
        }
        slab.setWord(offsets.freelist, objectAddress(pfn: pfn, offset: 0))
        slab.setUInt32(offsets.counters, UInt32(cache.objectsPerSlab) << 16)
        cache.slabs.withLock { $0.partial.append(pfn); $0.all.insert(pfn) }
        return pfn
    }

    /// Linux: `kmem_cache_alloc(cache, gfp)`: an object's kernel address, or nil (ENOMEM).
    public func kmemCacheAlloc(_ cache: KmemCache, _ gfp: GFP = .kernel) -> UInt64? {
        let offsets = slabOffsets
        var pfn = cache.slabs.withLock { $0.partial.last }
        if pfn == nil { pfn = allocateSlab(cache, gfp: gfp) }
        guard let pfn, let slab = slabDescriptor(pfn), let frame = frames.pointer(pfn: pfn) else { return nil }
        let object = slab.word(offsets.freelist)
        guard object != 0 else { return nil }
        let offset = Int(object &- objectAddress(pfn: pfn, offset: 0))
        let next = RawMemory.loadWord(frame + offset, wordSize: layout.wordSize)
        slab.setWord(offsets.freelist, next)
        let counters = slab.uint32(offsets.counters)
        let inuse = (counters & 0xffff) + 1
        slab.setUInt32(offsets.counters, counters & ~0xffff | inuse)
        if gfp.contains(.zero) { (frame + offset).initializeMemory(as: UInt8.self, repeating: 0, count: cache.size) }
        if next == 0 { cache.slabs.withLock { $0.partial.removeAll { $0 == pfn } } }
        return object
    }

    /// Linux: `kmem_cache_free(cache, object)`. Freeing into the wrong cache or an address
    /// that is not a slab object is the kernel's "cache_from_obj: Wrong slab cache" WARN.
    public func kmemCacheFree(_ cache: KmemCache, _ object: UInt64) {
        let offsets = slabOffsets
        let pfn = Int(truncatingIfNeeded: (object &- addressMap.directMapBase) >> 12)
        let head = memmap.isValid(pfn: pfn) ? slabHead(pfn) : -1
        guard head >= 0, let slab = slabDescriptor(head), let frame = frames.pointer(pfn: head),
              slab.word(offsets.cache) == cache.address else {
            diagnostics.record(Diagnostic(kind: .warn, pfn: pfn >= 0 ? UInt64(pfn) : nil,
                                          reason: "kmem_cache_free(\(cache.name)): object 0x\(String(object, radix: 16)) is not from this cache"))
            return
        }
        let offset = Int(object &- objectAddress(pfn: head, offset: 0))
        RawMemory.storeWord(slab.word(offsets.freelist), frame + offset, wordSize: layout.wordSize)
        slab.setWord(offsets.freelist, object)
        let counters = slab.uint32(offsets.counters)
        let inuse = (counters & 0xffff) &- 1
        slab.setUInt32(offsets.counters, counters & ~0xffff | inuse)
        cache.slabs.withLock { slabs in if !slabs.partial.contains(head) { slabs.partial.append(head) } }
        if inuse == 0 {
            // discard_slab() for an empty slab beyond the first partial one.
            let release = cache.slabs.withLock { slabs -> Bool in
                guard slabs.partial.count > 1 else { return false }
                slabs.partial.removeAll { $0 == head }
                slabs.all.remove(head)
                return true
            }
            if release { freeSlab(cache, head) }
        }
    }

    /// Linux: `__free_slab()`: `__ClearPageSlab()`, then `free_frozen_pages()`.
    private func freeSlab(_ cache: KmemCache, _ pfn: Int) {
        detachSlab(pfn, order: cache.order)
        freeFrozenPages(pfn, order: cache.order)
    }

    /// Linux: `kmem_cache_destroy()`: frees every slab; objects still allocated are the
    /// kernel's "Objects remaining on __kmem_cache_shutdown()" error.
    public func kmemCacheDestroy(_ cache: KmemCache) {
        let offsets = slabOffsets
        let all = cache.slabs.withLock { slabs -> Set<Int> in
            defer { slabs = ([], []) }
            return slabs.all
        }
        for pfn in all.sorted() {
            if let slab = slabDescriptor(pfn), slab.uint32(offsets.counters) & 0xffff != 0 {
                diagnostics.record(Diagnostic(kind: .bug, pfn: UInt64(pfn), reason: "kmem_cache_destroy \(cache.name): Slab cache still has objects"))
                continue
            }
            freeSlab(cache, pfn)
        }
        registry.unregister(cache.address)
        heap.free(cache.address, size: 2 * layout.wordSize, alignment: layout.wordSize, kind: .kmemCache)
    }
}
