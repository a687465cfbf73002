// The model's kernel heap for descriptors: what kmem_cache_alloc()/kzalloc() hand out
// in the kernel (mm/slub.c), as real bytes at kernel addresses.

/// What a heap object is, for accounting (descriptors per type) and dumps.
public enum HeapObjectKind: String, CaseIterable, Sendable, Codable {
    /// memdesc designs: `struct folio` allocated apart from the pages.
    case folio
    /// memdesc designs: `struct slab`.
    case slab
    /// memdesc designs: `struct ptdesc`.
    case ptdesc
    /// memdesc8: `struct buddy` of a free block (memdesc type Buddy).
    case buddy
    /// `struct dev_pagemap` (mm/memremap.c).
    case pagemap
    /// `struct address_space`.
    case addressSpace = "address_space"
    /// `struct kmem_cache`.
    case kmemCache = "kmem_cache"
    /// `struct zone`'s free-area list heads and other allocator bookkeeping.
    case zone
    /// `struct anon_vma` (mm/rmap.c): what an anonymous folio's mapping points to.
    case anonVMA = "anon_vma"
    /// The proxy design's `struct dynamic_page`, one per pinned page (seed 003).
    case dynamicPage = "dynamic_page"
    /// `struct scamem` of a vmalloc area mapped to user space (seed 004 option 4).
    case scamem
    /// The per-page vmalloc memdesc of seed 004 option 1 (refcount and mapcount).
    case vmallocMemdesc = "vmalloc_memdesc"

    /// The case's position in `allCases` (declaration order): the heap's accounting
    /// index, a switch rather than a hash on every allocation.
    var position: Int {
        switch self {
        case .folio: 0
        case .slab: 1
        case .ptdesc: 2
        case .buddy: 3
        case .pagemap: 4
        case .addressSpace: 5
        case .kmemCache: 6
        case .zone: 7
        case .anonVMA: 8
        case .dynamicPage: 9
        case .scamem: 10
        case .vmallocMemdesc: 11
        }
    }
}

/// A bump allocator with per-size free lists over one sparse host reservation. Objects
/// are zeroed when handed out (kzalloc/__GFP_ZERO semantics) and aligned to the
/// requested alignment; sizes are rounded up to 16 bytes so that every size class keeps
/// 16-byte alignment, which memdescs require [kernelnewbies Memdescs: "allocated from a
/// slab with 16-byte alignment, so the bottom 4 bits carry the type"].
///
/// Deliberate difference: the kernel carves these objects out of slab pages in RAM; the
/// model keeps them in their own address range, so that descriptor bytes are counted
/// apart from memmap bytes and never compete with model RAM.
///
/// The lock: one `SpinLock` around the free lists, the bump pointer and the accounting.
/// The kernel's `kmem_cache_alloc()`/`kmem_cache_free()` fast paths take no lock: they
/// pop and push the CPU's own freelist with one this-CPU compare-and-exchange of the
/// freelist and its transaction id (mm/slub.c, `slab_alloc_node()`, `do_slab_free()`;
/// `cmpxchg16b` without a lock prefix on x86-64). Uncontended, the model's spinlock costs the same
/// order (one locked exchange and a plain releasing store) and keeps the live objects
/// per kind exact at every instant without per-thread caches to drain; it was a pthread
/// mutex (about 53 instructions a lock/unlock pair, twice per pin and unpin of the proxy
/// design: model overhead, issue 19 item 4). Holds are a few loads and stores; only the
/// rare odd-alignment free lists hash.
public final class DescriptorHeap: @unchecked Sendable {
    public let base: UInt64
    public let capacity: UInt64
    private let region: RawRegion
    private struct State {
        var next: UInt64 = 0
        /// Freed objects of 16-byte alignment up to a page, by size class (rounded / 16):
        /// the kmalloc caches' free lists, reached by index as the kernel's
        /// `kmalloc_caches[][kmalloc_index(size)]`. Raw stacks (`FreeStack`), so that
        /// a pop or push under the lock is a load and a store, no array uniqueness
        /// check or reference counting (issue 19 item 4: the proxy design allocates
        /// one object per pin).
        let classes: UnsafeMutablePointer<FreeStack>
        /// Freed objects of other alignments or sizes, by size and alignment.
        var freeLists: [Int: [UInt64]] = [:]
        /// Live objects and bytes per kind (`HeapObjectKind.position`).
        let liveCount: UnsafeMutablePointer<Int>
        let liveBytes: UnsafeMutablePointer<Int>

        init() {
            classes = .allocate(capacity: DescriptorHeap.classCount)
            classes.initialize(repeating: FreeStack(), count: DescriptorHeap.classCount)
            let kinds = HeapObjectKind.allCases.count
            liveCount = .allocate(capacity: kinds)
            liveCount.initialize(repeating: 0, count: kinds)
            liveBytes = .allocate(capacity: kinds)
            liveBytes.initialize(repeating: 0, count: kinds)
        }

        func deallocate() {
            for i in 0..<DescriptorHeap.classCount { classes[i].deallocate() }
            classes.deallocate()
            liveCount.deallocate()
            liveBytes.deallocate()
        }
    }

    /// A stack of freed object addresses in host memory, grown by doubling.
    struct FreeStack {
        private var items: UnsafeMutablePointer<UInt64>?
        private var count = 0
        private var capacity = 0

        @inline(__always)
        mutating func pop() -> UInt64? {
            guard count > 0, let items else { return nil }
            count &-= 1
            return items[count]
        }

        @inline(__always)
        mutating func push(_ address: UInt64) {
            if count == capacity { grow() }
            items.unsafelyUnwrapped[count] = address
            count &+= 1
        }

        @inline(never)
        private mutating func grow() {
            let bigger = max(16, capacity * 2)
            let new = UnsafeMutablePointer<UInt64>.allocate(capacity: bigger)
            if let items {
                new.moveInitialize(from: items, count: count)
                items.deallocate()
            }
            items = new
            capacity = bigger
        }

        func deallocate() { items?.deallocate() }
    }
    /// Guards `state` (`withState`): its word is in `lockWord`.
    private let lock: SpinLock
    // Read and written only under `lock` (what makes `@unchecked Sendable` true): the
    // dynamic exclusivity check of a class property is redundant there.
    @exclusivity(unchecked) private var state = State()

    public init(base: UInt64, capacity: UInt64) throws(MachineError) {
        self.base = base
        self.capacity = capacity
        region = try RawRegion(byteCount: Int(capacity), noReserve: true, what: "the descriptor heap")
        lock = SpinLock(word: SpinLock.allocateWords(count: 1, stride: 64))
    }

    deinit {
        state.deallocate()
        lock.word.deallocate()
    }

    /// Runs `body` on the state with the lock held.
    @inline(__always)
    private func withState<T>(_ body: (inout State) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&state)
    }

    /// Size classes of `State.classes`: 16, 32, ... 4096 bytes.
    fileprivate static let classCount = 4096 / 16 + 1

    /// A kind's index in the accounting arrays (its position in `allCases`), without
    /// hashing.
    @inline(__always)
    private static func kindIndex(_ kind: HeapObjectKind) -> Int { kind.position }

    /// Pops a freed object of `rounded` bytes and `align` alignment, if any.
    @inline(__always)
    private static func reuse(_ rounded: Int, _ align: Int, _ state: inout State) -> UInt64? {
        if align == 16, rounded < classCount * 16 { return state.classes[rounded >> 4].pop() }
        return state.freeLists[rounded &* 4096 &+ align]?.popLast()
    }

    /// Allocates `size` zeroed bytes at an address aligned to `alignment` (a power of two
    /// ≤ 4096). Linux: `kmem_cache_zalloc()`. nil when the heap is exhausted (ENOMEM).
    public func allocate(size: Int, alignment: Int, kind: HeapObjectKind) -> UInt64? {
        let rounded = (max(size, 1) + 15) & ~15
        let align = UInt64(max(alignment, 16))
        let index = Self.kindIndex(kind)
        let address: UInt64? = withState { state in
            let found: UInt64
            if let reused = Self.reuse(rounded, Int(align), &state) {
                found = reused
            } else {
                let offset = (state.next + align - 1) & ~(align - 1)
                guard offset + UInt64(rounded) <= capacity else { return nil }
                state.next = offset + UInt64(rounded)
                found = base + offset
            }
            state.liveCount[index] += 1
            state.liveBytes[index] += rounded
            return found
        }
        if let address {
            pointer(address).initializeMemory(as: UInt8.self, repeating: 0, count: rounded)
        }
        return address
    }

    /// Returns an object to the heap. Linux: `kmem_cache_free()`/`kfree()`.
    public func free(_ address: UInt64, size: Int, alignment: Int, kind: HeapObjectKind) {
        let rounded = (max(size, 1) + 15) & ~15
        let align = max(alignment, 16)
        let index = Self.kindIndex(kind)
        withState { state in
            if align == 16, rounded < Self.classCount * 16 {
                state.classes[rounded >> 4].push(address)
            } else {
                state.freeLists[rounded &* 4096 &+ align, default: []].append(address)
            }
            state.liveCount[index] -= 1
            state.liveBytes[index] -= rounded
        }
    }

    /// The host pointer behind a heap address. The caller guarantees the address was
    /// handed out by this heap (`contains`).
    @inline(__always)
    public func pointer(_ address: UInt64) -> UnsafeMutableRawPointer {
        region.base + Int(address &- base)
    }

    @inline(__always)
    public func contains(_ address: UInt64) -> Bool { address >= base && address - base < capacity }

    /// Live objects and their bytes per kind.
    public func usage() -> [HeapObjectKind: (count: Int, bytes: Int)] {
        withState { state in
            var result: [HeapObjectKind: (count: Int, bytes: Int)] = [:]
            for (i, kind) in HeapObjectKind.allCases.enumerated() {
                result[kind] = (state.liveCount[i], state.liveBytes[i])
            }
            return result
        }
    }
}
