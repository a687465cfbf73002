// D. Williams / M. Wilcox, Dec 2018 (seed 003): GUP allocates a `struct dynamic_page {
// struct page; unsigned long vaddr; unsigned long pfn; }` per pinned page and hands it
// to the driver instead of the page; a bit in the embedded struct page marks it as
// dynamic. Unpinning goes through the proxy; `get_page()` on one is caught (the misuse
// the thread wanted to catch, PinQueries.swift). Never merged.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PageLayout
import Synchronization

/// The `proxy` design. Each pin costs one descriptor-heap allocation of
/// sizeof(struct dynamic_page), counted as `HeapObjectKind.dynamicPage`.
///
/// The mark: PG_arch_1 in the *proxy's* copy of page->flags. It is never set in the
/// memmap by this design, so the bit keeps its architecture meaning on real pages, and
/// a view is a proxy only if its bytes are not its pfn's struct page as well.
public final class ProxyPins: PinTracker {
    public static var capabilities: PinCapabilities { PinCapabilities(tracksExactly: true, proxyMarkerFlag: markerFlag) }
    public var design: Design { .proxy }
    /// The page flag that marks a dynamic_page's embedded struct page.
    public static let markerFlag = "PG_arch_1"
    let size: Int
    let align: Int
    let pageBytes: Int
    let vaddrOffset: Int
    let pfnOffset: Int
    let flagsOffset: Int
    let wordSize: Int
    let markerBit: Int
    /// `lru.next` of the embedded struct page: the link of the folio's proxy list.
    let linkOffset: Int
    /// Each folio's live proxies, newest first: the head in `newest` (by the folio's
    /// first pfn), the rest chained through each proxy's `lru.next`, as the kernel
    /// threads a private list of pages it owns through `page->lru`. A proxy's lru words
    /// are not a copy of its page's then (nothing reads a proxy's LRU linkage). Read and
    /// written under the folio's stripe lock. The proposal left open how a folio with
    /// proxies out answers `folio_maybe_dma_pinned()`; this is the model's answer, with
    /// no hashing or host allocation per pin.
    private let newest: ProxyListHeads
    let locks = StripedLocks()
    /// The proxy each thread's last single-page grab made: what GUP hands out for that
    /// page (`gupResult`), without looking it up again, as the proposal's GUP stores the
    /// dynamic_page it allocated straight into `pages[]`.
    private let lastMade = ProxyStash()
    private let made = Atomic<Int>(0)

    public init(_ setup: PinTrackerSetup) {
        let config = setup.config, layout = setup.layout
        let proxy = Layouts.dynamicPage(config)
        size = proxy.size
        align = proxy.align
        pageBytes = layout.pageSize
        vaddrOffset = proxy.offset(of: "vaddr") ?? layout.pageSize
        pfnOffset = proxy.offset(of: "pfn") ?? layout.pageSize + config.wordSize
        flagsOffset = layout.flags
        wordSize = config.wordSize
        markerBit = setup.flagBit(Self.markerFlag)
        linkOffset = layout.folioLru
        newest = ProxyListHeads(pfns: setup.spannedPfns)
    }

    /// The heap's size of one proxy (kmalloc rounding to 16 bytes).
    public var pinObjectBytes: Int { (size + 15) & ~15 }
    public var pinAllocations: Int { made.load(ordering: .relaxed) }

    /// Allocates one dynamic_page for the page at `pfn`: a copy of its struct page, the
    /// mark, `vaddr` (unknown at this level: 0) and `pfn`.
    private func makeProxy(_ pfn: Int, in machine: Machine) -> UInt64? {
        guard let address = machine.heap.allocate(size: size, alignment: align, kind: .dynamicPage) else { return nil }
        let proxy = bytes(address, in: machine)
        proxy.copyBytes(from: Page(unchecked: pfn, machine.context), count: pageBytes)
        proxy.setBit(markerBit, inWord: flagsOffset)
        proxy.setWord(vaddrOffset, 0)
        proxy.setWord(pfnOffset, UInt64(pfn))
        made.add(1, ordering: .relaxed)
        return address
    }

    private func freeProxy(_ address: UInt64, in machine: Machine) {
        machine.heap.free(address, size: size, alignment: align, kind: .dynamicPage)
    }

    /// The real pfn a proxy fronts (its `pfn` field).
    private func proxyPfn(_ address: UInt64, in machine: Machine) -> Int {
        Int(truncatingIfNeeded: bytes(address, in: machine).word(pfnOffset))
    }

    /// The checked bytes of the dynamic_page at `address`.
    @inline(__always)
    private func bytes(_ address: UInt64, in machine: Machine) -> DescriptorBytes { bytes(address, machine.context) }

    /// The same through the memmap context (`heap.pointer(address)`).
    @inline(__always)
    private func bytes(_ address: UInt64, _ context: UnsafeMutablePointer<MemmapContext>) -> DescriptorBytes {
        DescriptorBytes(raw: context.pointee.heapHost + Int(address &- context.pointee.heapBase), pfn: -1, span: size, context: context)
    }

    /// The next older proxy of the same folio (0: none).
    @inline(__always)
    private func link(_ address: UInt64, in machine: Machine) -> UInt64 { link(address, machine.context) }
    @inline(__always)
    private func link(_ address: UInt64, _ context: UnsafeMutablePointer<MemmapContext>) -> UInt64 { bytes(address, context).word(linkOffset) }
    @inline(__always)
    private func setLink(_ address: UInt64, _ next: UInt64, in machine: Machine) { bytes(address, in: machine).setWord(linkOffset, next) }

    public func grab(_ folio: Folio, at page: Page, refs: Int32, fast: Bool, in machine: Machine) -> Errno? {
        // The folio's last pfn bounds the pages of a multi-page grab (THP leaf); a
        // single page needs no folio_nr_pages() read.
        let last = refs > 1 ? folio.pfn + folio.nrPages - 1 : page.pfn
        // The folio's stripe lock, taken and dropped in straight line (no closure
        // context per pin). `madeHead`: the newest proxy made, 0 when the heap had no
        // room (none is left made then).
        locks.lock(folio.pfn)
        let before = newest[folio.pfn]
        var madeHead = before
        for i in 0..<Int(refs) {
            guard let address = makeProxy(min(page.pfn + i, last), in: machine) else {
                while madeHead != before {
                    let next = link(madeHead, in: machine)
                    freeProxy(madeHead, in: machine)
                    madeHead = next
                }
                madeHead = 0
                break
            }
            setLink(address, madeHead, in: machine)
            madeHead = address
        }
        if madeHead != 0 { newest[folio.pfn] = madeHead }
        locks.unlock(folio.pfn)
        if madeHead == 0 {
            noProxyMemory(folio.pfn, in: machine)
            return .ENOMEM
        }
        if refs == 1 { lastMade.set(pfn: page.pfn, address: madeHead) } else { lastMade.clear() }
        if !fast { folio.refAdd(refs) }
        return nil
    }

    /// `grab(folio, at: page, refs: 1, fast: true)` of an order-0 folio (pfn `pfn`) on
    /// GUP-fast's fast path (GUPFastDesigns.swift), returning the host bytes of the proxy
    /// GUP stores into pages[] (`gupResult`) instead of stashing it for a second
    /// look-up: the proposal's GUP stores the dynamic_page it allocated straight into
    /// `pages[]`. nil: no memory for it (reported; nothing made).
    @inline(__always)
    func grabOne(_ pfn: Int, in machine: Machine) -> UnsafeMutableRawPointer? {
        locks.lock(pfn)
        let made = makeProxy(pfn, in: machine)
        if let made {
            setLink(made, newest[pfn], in: machine)
            newest[pfn] = made
        }
        locks.unlock(pfn)
        guard let made else {
            noProxyMemory(pfn, in: machine)
            return nil
        }
        return machine.heap.pointer(made)
    }

    /// A grab that found no memory for its proxies (cold).
    @inline(never)
    private func noProxyMemory(_ folioPfn: Int, in machine: Machine) {
        lastMade.clear()
        machine.diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(folioPfn), reason: "proxy: no memory for struct dynamic_page (ENOMEM)"))
    }

    /// Frees `refs` proxies of the folio: the one being unpinned first when `page` is a
    /// proxy view (unpin through the proxy), then the newest.
    public func release(_ folio: Folio, at page: Page?, refs: Int32, in machine: Machine) {
        // A proxy this thread made and has not handed out is no longer to be handed out
        // (the release of a grab GUP-fast gave back may retire it).
        lastMade.clear()
        let heap = machine.heap
        let through: UInt64? = page.flatMap { view in
            view.raw == machine.context.pagePointer(view.pfn) ? nil : heap.base &+ UInt64(view.raw - heap.pointer(heap.base))
        }
        locks.lock(folio.pfn)
        var remaining = Int(refs)
        if let through, unlink(through, of: folio, in: machine) {
            retire(through, of: folio, in: machine)
            remaining -= 1
        }
        while remaining > 0 {
            let head = newest[folio.pfn]
            guard head != 0 else { break }
            newest[folio.pfn] = link(head, in: machine)
            retire(head, of: folio, in: machine)
            remaining -= 1
        }
        locks.unlock(folio.pfn)
        machine.folioPutRefs(folio, refs)
    }

    /// Takes `address` out of the folio's list; false if it is not on it (a stale view).
    private func unlink(_ address: UInt64, of folio: Folio, in machine: Machine) -> Bool {
        var previous: UInt64 = 0
        var current = newest[folio.pfn]
        while current != 0 {
            let next = link(current, in: machine)
            if current == address {
                if previous == 0 { newest[folio.pfn] = next } else { setLink(previous, next, in: machine) }
                return true
            }
            previous = current
            current = next
        }
        return false
    }

    /// Frees a proxy taken off the folio's list, reporting one that fronts a pfn outside
    /// the folio (its bytes were overwritten).
    private func retire(_ address: UInt64, of folio: Folio, in machine: Machine) {
        let pfn = proxyPfn(address, in: machine)
        if pfn != folio.pfn, pfn < folio.pfn || pfn >= folio.pfn + folio.nrPages {
            machine.diagnostics.record(Diagnostic(kind: .corruption, pfn: UInt64(folio.pfn), reason: "proxy: dynamic_page 0x\(String(address, radix: 16)) fronts pfn 0x\(String(pfn, radix: 16)), outside the folio"))
        }
        freeProxy(address, in: machine)
    }

    public func addPin(_ folio: Folio, in machine: Machine) {
        let added: Bool = locks.withLock(folio.pfn) {
            guard let address = makeProxy(folio.pfn, in: machine) else { return false }
            setLink(address, newest[folio.pfn], in: machine)
            newest[folio.pfn] = address
            return true
        }
        if added { folio.get() }
    }

    /// Whether any proxy of the folio is alive: exact.
    public func maybePinned(_ folio: Folio, in machine: Machine) -> Bool {
        locks.withLock(folio.pfn) { newest[folio.pfn] != 0 }
    }

    public func referencesHeld(_ folio: Folio, pins: Int64, in machine: Machine) -> Int64 { pins }

    /// The newest proxy of `page`, as a page view onto its embedded struct page: what
    /// GUP hands the driver under this design.
    public func gupResult(for page: Page, in machine: Machine) -> Page {
        if let address = lastMade.take(pfn: page.pfn) {
            return Page(outOfMemmap: machine.heap.pointer(address), pfn: page.pfn, machine.context)
        }
        guard let folio = machine.pageFolio(page) else { return page }
        let address: UInt64 = locks.withLock(folio.pfn) {
            var current = newest[folio.pfn]
            while current != 0, proxyPfn(current, in: machine) != page.pfn { current = link(current, in: machine) }
            return current
        }
        guard address != 0 else { return page }
        return Page(outOfMemmap: machine.heap.pointer(address), pfn: page.pfn, machine.context)
    }

    /// Live proxies of a folio (tests).
    public func proxies(of folio: Folio) -> Int {
        locks.withLock(folio.pfn) {
            var count = 0
            var current = newest[folio.pfn]
            while current != 0 {
                count += 1
                current = link(current, folio.context)
            }
            return count
        }
    }
}

/// The newest live proxy of each folio, by its first pfn (0: none): one word per RAM
/// pfn in a sparse reservation (only touched host pages cost memory), and a locked table
/// for pfns beyond RAM (hot-added and ZONE_DEVICE memory, a cold path), as `PinShadow`
/// keeps its slots. The caller holds the folio's stripe lock. The RAM words are read
/// and written inline (a load or a store, as the kernel's per-page word would be); the
/// table beyond RAM out of line.
final class ProxyListHeads: @unchecked Sendable {
    private let region: RawRegion?
    /// `region`'s base, and the pfns it covers (0 when it could not be reserved).
    private let base: UnsafeMutableRawPointer?
    private let pfns: Int
    private let beyond = ModelMutex<[Int: UInt64]>([:])

    init(pfns: Int) {
        region = try? RawRegion(byteCount: max(1, pfns) * 8, noReserve: true, what: "the proxy design's list heads")
        base = region?.base
        self.pfns = region == nil ? 0 : pfns
    }

    subscript(pfn: Int) -> UInt64 {
        @inline(__always) get {
            if pfn >= 0, pfn < pfns { return base.unsafelyUnwrapped.load(fromByteOffset: pfn &* 8, as: UInt64.self) }
            return beyondHead(pfn)
        }
        @inline(__always) set {
            if pfn >= 0, pfn < pfns {
                base.unsafelyUnwrapped.storeBytes(of: newValue, toByteOffset: pfn &* 8, as: UInt64.self)
            } else {
                setBeyondHead(pfn, newValue)
            }
        }
    }

    @inline(never)
    private func beyondHead(_ pfn: Int) -> UInt64 { beyond.withLock { $0[pfn] ?? 0 } }

    @inline(never)
    private func setBeyondHead(_ pfn: Int, _ head: UInt64) {
        beyond.withLock { $0[pfn] = head == 0 ? nil : head }
    }
}

/// The proxy the calling thread's last single-page grab made and has not handed out yet
/// (its pfn and heap address), kept per thread under a pthread key: only that thread
/// reads or writes its pair. A grab sets it, the GUP result takes it (`take`), any
/// release or multi-page grab forgets it, so that a pair is never handed out twice or
/// after its proxy was retired by this thread. Without a key (the process ran out of
/// them) nothing is kept and `ProxyPins.gupResult` looks the proxy up in the list.
final class ProxyStash: @unchecked Sendable {
    private struct Pair {
        var pfn: Int
        var address: UInt64
    }
    private let key: pthread_key_t
    private let valid: Bool

    init() {
        var key = pthread_key_t()
        valid = pthread_key_create(&key) { $0?.deallocate() } == 0
        self.key = key
    }

    /// Threads' pairs still alive are left allocated (two words each); glibc gives a
    /// reused key's old values back as nil, never to a new owner.
    deinit { if valid { pthread_key_delete(key) } }

    @inline(__always)
    private func pair() -> UnsafeMutablePointer<Pair>? {
        guard valid else { return nil }
        if let found = pthread_getspecific(key) { return found.assumingMemoryBound(to: Pair.self) }
        return makePair()
    }

    @inline(never)
    private func makePair() -> UnsafeMutablePointer<Pair>? {
        let pair = UnsafeMutablePointer<Pair>.allocate(capacity: 1)
        pair.initialize(to: Pair(pfn: -1, address: 0))
        guard pthread_setspecific(key, pair) == 0 else {
            pair.deallocate()
            return nil
        }
        return pair
    }

    @inline(__always)
    func set(pfn: Int, address: UInt64) { pair()?.pointee = Pair(pfn: pfn, address: address) }

    @inline(__always)
    func clear() {
        guard valid, let found = pthread_getspecific(key) else { return }
        found.assumingMemoryBound(to: Pair.self).pointee.address = 0
    }

    /// The proxy made for `pfn`, if that is what the pair holds; the pair is emptied.
    @inline(__always)
    func take(pfn: Int) -> UInt64? {
        guard valid, let found = pthread_getspecific(key) else { return nil }
        let pair = found.assumingMemoryBound(to: Pair.self)
        guard pair.pointee.address != 0, pair.pointee.pfn == pfn else { return nil }
        let address = pair.pointee.address
        pair.pointee.address = 0
        return address
    }
}
