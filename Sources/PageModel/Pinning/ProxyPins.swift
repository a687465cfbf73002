// D. Williams / M. Wilcox, Dec 2018 (seed 003): GUP allocates a `struct dynamic_page {
// struct page; unsigned long vaddr; unsigned long pfn; }` per pinned page and hands it
// to the driver instead of the page; a bit in the embedded struct page marks it as
// dynamic. Unpinning goes through the proxy; `get_page()` on one is caught (the misuse
// the thread wanted to catch, PinQueries.swift). Never merged.
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
    /// Live proxies of each pinned folio (by its first pfn), newest last.
    private let table = ModelMutex<[Int: [UInt64]]>([:])
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
    private func bytes(_ address: UInt64, in machine: Machine) -> DescriptorBytes {
        DescriptorBytes(raw: machine.heap.pointer(address), pfn: -1, span: size, context: machine.context)
    }

    public func grab(_ folio: Folio, at page: Page, refs: Int32, fast: Bool, in machine: Machine) -> Errno? {
        let last = folio.pfn + folio.nrPages - 1
        var proxies: [UInt64] = []
        for i in 0..<Int(refs) {
            guard let address = makeProxy(min(page.pfn + i, last), in: machine) else {
                for made in proxies { freeProxy(made, in: machine) }
                machine.diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(folio.pfn), reason: "proxy: no memory for struct dynamic_page (ENOMEM)"))
                return .ENOMEM
            }
            proxies.append(address)
        }
        table.withLock { $0[folio.pfn, default: []].append(contentsOf: proxies) }
        if !fast { folio.refAdd(refs) }
        return nil
    }

    /// Frees `refs` proxies of the folio: the one being unpinned first when `page` is a
    /// proxy view (unpin through the proxy), then the newest.
    public func release(_ folio: Folio, at page: Page?, refs: Int32, in machine: Machine) {
        let heap = machine.heap
        let through: UInt64? = page.flatMap { view in
            view.raw == machine.context.pagePointer(view.pfn) ? nil : heap.base &+ UInt64(view.raw - heap.pointer(heap.base))
        }
        let freed: [UInt64] = table.withLock { table in
            var list = table[folio.pfn] ?? []
            var taken: [UInt64] = []
            if let through, let index = list.lastIndex(of: through) { taken.append(list.remove(at: index)) }
            while taken.count < Int(refs), let newest = list.popLast() { taken.append(newest) }
            table[folio.pfn] = list.isEmpty ? nil : list
            return taken
        }
        for address in freed {
            let pfn = proxyPfn(address, in: machine)
            if pfn < folio.pfn || pfn >= folio.pfn + folio.nrPages {
                machine.diagnostics.record(Diagnostic(kind: .corruption, pfn: UInt64(folio.pfn), reason: "proxy: dynamic_page 0x\(String(address, radix: 16)) fronts pfn 0x\(String(pfn, radix: 16)), outside the folio"))
            }
            freeProxy(address, in: machine)
        }
        machine.folioPutRefs(folio, refs)
    }

    public func addPin(_ folio: Folio, in machine: Machine) {
        guard let address = makeProxy(folio.pfn, in: machine) else { return }
        table.withLock { $0[folio.pfn, default: []].append(address) }
        folio.get()
    }

    /// Whether any proxy of the folio is alive: exact.
    public func maybePinned(_ folio: Folio, in machine: Machine) -> Bool {
        table.withLock { !($0[folio.pfn]?.isEmpty ?? true) }
    }

    public func referencesHeld(_ folio: Folio, pins: Int64, in machine: Machine) -> Int64 { pins }

    /// The newest proxy of `page`, as a page view onto its embedded struct page: what
    /// GUP hands the driver under this design.
    public func gupResult(for page: Page, in machine: Machine) -> Page {
        guard let folio = machine.pageFolio(page) else { return page }
        let address: UInt64? = table.withLock { $0[folio.pfn]?.last { self.proxyPfn($0, in: machine) == page.pfn } }
        guard let address else { return page }
        return Page(outOfMemmap: machine.heap.pointer(address), pfn: page.pfn, machine.context)
    }

    /// Live proxies of a folio (tests).
    public func proxies(of folio: Folio) -> Int { table.withLock { $0[folio.pfn]?.count ?? 0 } }
}
