// The protocol every pin-tracking design implements (DESIGN.md "The designs"), and the
// constants of include/linux/mm.h it counts with. The generic half of GUP's grab and
// release (mm/gup.c: try_grab_folio(), try_grab_folio_fast(), gup_put_folio()) is in
// GUPGrab.swift; each design supplies only what differs.
import PageLayout

/// Constants of the pin API, with the kernel's values.
public enum GUPPin {
    /// `GUP_PIN_COUNTING_BIAS` = 1U << 10 [include/linux/mm.h:1718].
    public static let countingBias: Int32 = 1 << 10
    /// `FOLL_LONGTERM` = 1 << 8 [include/linux/mm_types.h:1761-1804].
    public static let follLongterm: UInt32 = 1 << 8
    /// `FOLL_PCI_P2PDMA` = 1 << 10.
    public static let follPCIP2PDMA: UInt32 = 1 << 10
    /// `FOLL_PIN` = 1 << 19 [mm/internal.h:1444-1461].
    public static let follPin: UInt32 = 1 << 19
}

/// One way of tracking DMA pins. A design is a value chosen when the machine is made
/// (`PinState.tracker`); every pin and unpin of the machine goes through it.
///
/// The generic checks (refcount ≤ 0, the zero page, P2PDMA, the exact shadow count, the
/// node counters) are done by the caller, so an implementation only adds and removes its
/// own state and the references its pins hold.
///
/// A design also declares what the rest of the model must know about it
/// (`capabilities`, `pageExtClientBytes`), read once when the machine is made: nothing
/// outside the design files asks which design runs (DESIGN.md "Pinning/") but GUP's
/// hot paths, which call mainline, memdesc and dma-pinned-field directly
/// (`PinState.hot`). A new design
/// is one file implementing this protocol, registered once in `Design.pinTracker`
/// (PinDesigns.swift).
public protocol PinTracker: Sendable {
    /// What the design does that the rest of the model must know (GUP, long-term
    /// migration, reports), as a kernel page_ext client declares its needs in
    /// `page_ext_operations` before anything is allocated.
    static var capabilities: PinCapabilities { get }

    /// Bytes of page_ext client data per pfn the design needs on `config`, 0 for none.
    /// Linux: `page_ext_operations.need()` and `.size` (mm/page_ext.c:
    /// `invoke_need_callbacks()` sizes page_ext from them before allocating it).
    static func pageExtClientBytes(_ config: LayoutConfig) -> Int

    /// Makes the design's tracker for a machine being built.
    init(_ setup: PinTrackerSetup)

    /// The design this tracker implements.
    var design: Design { get }

    /// Adds `refs` pins of `folio` (pages `page`..<`page`+refs of it). With `fast`, the
    /// caller (GUP-fast's `try_get_folio()`) has already added `refs` to the refcount.
    /// Returns an errno when the design cannot take the pin (nothing changed then).
    /// Linux: the FOLL_PIN arm of `try_grab_folio()` / `try_grab_folio_fast()`.
    func grab(_ folio: Folio, at page: Page, refs: Int32, fast: Bool, in machine: Machine) -> Errno?

    /// Removes `refs` pins of `folio` and drops the references they held. `page` is the
    /// GUP result being unpinned, when known (a proxy view under the proxy design).
    /// Linux: the FOLL_PIN arm of `gup_put_folio()`.
    func release(_ folio: Folio, at page: Page?, refs: Int32, in machine: Machine)

    /// One more pin on an already pinned folio. Linux: `folio_add_pin()`.
    func addPin(_ folio: Folio, in machine: Machine)

    /// The design's own answer. Linux: `folio_maybe_dma_pinned()`.
    func maybePinned(_ folio: Folio, in machine: Machine) -> Bool

    /// The references on `folio` that `pins` outstanding pins hold under this design
    /// (mainline small folio: 1024 each), read as what `put_page()` must never take.
    func referencesHeld(_ folio: Folio, pins: Int64, in machine: Machine) -> Int64

    /// What a GUP caller receives for a pinned page: the page itself, or its proxy.
    func gupResult(for page: Page, in machine: Machine) -> Page

    /// Bytes per pin the design allocates (`sizeof(struct dynamic_page)` as the heap
    /// rounds it) and the allocations made so far; 0 for designs that allocate nothing.
    var pinObjectBytes: Int { get }
    var pinAllocations: Int { get }
}

extension PinTracker {
    public static func pageExtClientBytes(_ config: LayoutConfig) -> Int { 0 }
    public func gupResult(for page: Page, in machine: Machine) -> Page { page }
    public var pinObjectBytes: Int { 0 }
    public var pinAllocations: Int { 0 }
}

/// What a pin-tracking design declares about itself (`PinTracker.capabilities`). The
/// model asks these, never the design's name.
public struct PinCapabilities: Sendable, Equatable {
    /// `folio_maybe_dma_pinned()` answers from an exact count: no false positives.
    /// Mainline's is not exact (a small folio with 1024 plain references looks pinned).
    public var tracksExactly: Bool
    /// The page flag that marks a proxy's embedded struct page, when GUP hands out proxies
    /// instead of the pages (`gupResult`); nil when it returns the pages themselves.
    /// A view carrying the flag whose bytes are not its pfn's struct page is a proxy
    /// (`Machine.proxyTarget`): unpinned through itself, its `get_page()` a misuse.
    public var proxyMarkerFlag: String?
    /// A pinned folio is off its LRU until its last unpin puts it back: long-term pinning
    /// cannot isolate it for migration while pinned (`check_and_migrate_movable_pages()`
    /// holds a reference and isolates it after the unpin).
    public var keepsPinnedOffLRU: Bool

    /// Whether GUP hands out proxies.
    public var returnsProxies: Bool { proxyMarkerFlag != nil }

    public init(tracksExactly: Bool, proxyMarkerFlag: String? = nil, keepsPinnedOffLRU: Bool = false) {
        self.tracksExactly = tracksExactly
        self.proxyMarkerFlag = proxyMarkerFlag
        self.keepsPinnedOffLRU = keepsPinnedOffLRU
    }
}

/// What a design's tracker may read when the machine is made: its design, the
/// machine's layouts and page flags.
public struct PinTrackerSetup: Sendable {
    public let design: Design
    public let layout: ModelLayout
    public let config: LayoutConfig
    public let flagsBudget: FlagsBudget
    /// Pfns spanned by RAM (`MachineConfig.spannedPfns`): the size of a design's per-pfn
    /// tables.
    public let spannedPfns: Int

    /// The bit of the page flag `name` in this config, or -1 when it has none.
    public func flagBit(_ name: String) -> Int { flagsBudget.flags.first { $0.name == name }?.bit ?? -1 }
}

/// What pin tracking costs on one machine, measured from its layouts and from the
/// allocations actually made (DESIGN.md principle 7).
public struct PinCosts: Sendable, Equatable {
    public var design: Design
    /// sizeof(struct page) of the design, from its layout.
    public var structPageBytes: Int
    /// Bytes the design adds to every struct page over mainline's layout (dma-pinned-field:
    /// 80 − 64 = 16 on x86-64).
    public var structPageGrowthBytes: Int
    /// page_ext bytes per pfn actually allocated (0 when page_ext is not allocated).
    public var pageExtBytesPerPage: Int
    /// Bytes of page_ext tables allocated.
    public var pageExtBytes: Int
    /// Bytes of a separately allocated folio descriptor (memdesc designs; 0 otherwise).
    public var descriptorBytesPerFolio: Int
    /// Bytes allocated per pinned page (proxy: the heap's size of a dynamic_page).
    public var bytesPerPin: Int
    /// Pin objects allocated so far, and those alive now with their bytes.
    public var pinAllocations: Int
    public var livePinObjects: Int
    public var livePinBytes: Int
}
