// The machine's pin-tracking state: the design's tracker, the exact shadow count every
// design keeps beside its own answer, the node counters NR_FOLL_PIN_ACQUIRED/RELEASED
// (include/linux/mmzone.h:221-222) and the per-site tallies of PinnedPages.
import Atomics
import PageLayout
import Synchronization

/// Per-machine pin state, chosen by the machine's design.
public final class PinState: @unchecked Sendable {
    public let design: Design
    /// The design, as the one protocol every pin goes through.
    public let tracker: any PinTracker
    /// What the design declared about itself (`PinTracker.capabilities`).
    public let capabilities: PinCapabilities
    /// `capabilities.returnsProxies`, copied here for the GUP walk (a Bool to load, not
    /// an optional String to test).
    let returnsProxies: Bool
    let shadow: PinShadow
    /// `shadow.slots`, copied here for the hot paths.
    let shadowSlots: PinShadowSlots
    let counters = PinCounters()
    /// `NR_FOLL_PIN_ACQUIRED` and `NR_FOLL_PIN_RELEASED` per node, in PAGE_SIZE units,
    /// bumped exactly where the kernel bumps them (`node_stat_mod_folio()`).
    let nodeAcquired: [ManagedAtomic<Int>]
    let nodeReleased: [ManagedAtomic<Int>]
    /// The zone index of ZONE_DEVICE, or -1 (the P2PDMA and longterm checks).
    let deviceZoneIndex: Int
    let movableZoneIndex: Int
    /// The page flag that marks a proxy's embedded struct page (a design that returns
    /// proxies: `PinCapabilities.proxyMarkerFlag`), or -1.
    let proxyBit: Int
    /// Whether the design is mainline (`hot == .mainline`): a Bool to test first, so
    /// that mainline's hot path does not pay for copying and switching over `hot`.
    let isMainline: Bool
    /// The designs whose grab and release the hot paths call directly instead of
    /// through the `PinTracker` existential (whose per-call projection, witness call and
    /// copy the kernel's designs would not pay): the one place the model asks which
    /// design runs, a measured speed-up of `pin_user_pages_fast()`.
    let hot: HotTracker
    /// Pfns spanned by RAM: ZONE_DEVICE pagemaps are placed above them.
    let ramPfns: Int
    /// Outstanding pins per PinnedPages site ("file:line"), and leaked ones.
    let sites = ModelMutex<(outstanding: [String: Int], leaked: [String: Int])>(([:], [:]))

    /// The state of a machine whose pins `type` tracks (the design's registered tracker,
    /// or another over the design's layout: a design under test).
    init(config: MachineConfig, tracker type: any PinTracker.Type, layout: ModelLayout, flagsBudget: FlagsBudget,
         nodes: Int) throws(MachineError) {
        design = config.design
        ramPfns = config.spannedPfns
        shadow = try PinShadow(pfns: config.spannedPfns)
        shadowSlots = shadow.slots
        nodeAcquired = (0..<max(1, nodes)).map { _ in ManagedAtomic(0) }
        nodeReleased = (0..<max(1, nodes)).map { _ in ManagedAtomic(0) }
        deviceZoneIndex = config.zones.firstIndex(of: .device) ?? -1
        movableZoneIndex = config.zones.firstIndex(of: .movable) ?? -1
        let setup = PinTrackerSetup(design: config.design, layout: layout, config: flagsBudget.layoutConfig, flagsBudget: flagsBudget,
                                    spannedPfns: config.spannedPfns)
        capabilities = type.capabilities
        returnsProxies = capabilities.returnsProxies
        proxyBit = capabilities.proxyMarkerFlag.map(setup.flagBit) ?? -1
        let tracker = type.init(setup)
        self.tracker = tracker
        hot = HotTracker(tracker)
        isMainline = type == MainlinePins.self
    }

    /// The index into the node counters for `nid` (node 0 for a pfn of no node, as the
    /// kernel's device memory is counted on its pagemap's node 0 by default).
    @inline(__always)
    func nodeIndex(_ nid: Int) -> Int { nid >= 0 && nid < nodeAcquired.count ? nid : 0 }

    /// The statistics now.
    public var stats: PinStats { counters.snapshot }

    /// `nr_foll_pin_acquired` and `nr_foll_pin_released` of each node.
    public var nodeCounters: [(acquired: Int, released: Int)] {
        zip(nodeAcquired, nodeReleased).map { ($0.load(ordering: .relaxed), $1.load(ordering: .relaxed)) }
    }

    /// Pins outstanding per pinning site of `PinnedPages`.
    public var outstandingBySite: [String: Int] { sites.withLock { $0.outstanding } }
    /// Pins left outstanding by tokens dropped without unpin, per site.
    public var leakedBySite: [String: Int] { sites.withLock { $0.leaked } }

    /// The exact number of pins outstanding on the folio that starts at `pfn`.
    public func exactPins(folioPfn pfn: Int) -> Int { Int(shadow.pins(pfn)) }
}

/// A design the GUP hot paths dispatch to statically (`PinState.hot`), with what its
/// grab and release need; `other` (a design under test) goes through the `PinTracker`
/// existential. Every registered design is here, so that none pays the existential's
/// projection, witness call and copy per pin: a cost of the model, not of the design.
/// The class-based trackers are held unmanaged (`PinState.tracker` keeps them alive),
/// so that the enum stays trivially copyable and a switch over it retains nothing.
enum HotTracker {
    case mainline
    case memdesc(MemdescPins)
    case dmaPinnedField(DMAPinnedFieldPins)
    case pageExt(Unmanaged<PageExtPins>)
    case lruPinned(Unmanaged<LRUPinnedPins>)
    case proxy(Unmanaged<ProxyPins>)
    case other

    init(_ tracker: any PinTracker) {
        switch tracker {
        case is MainlinePins: self = .mainline
        case let memdesc as MemdescPins: self = .memdesc(memdesc)
        case let field as DMAPinnedFieldPins: self = .dmaPinnedField(field)
        case let ext as PageExtPins: self = .pageExt(.passUnretained(ext))
        case let lru as LRUPinnedPins: self = .lruPinned(.passUnretained(lru))
        case let proxy as ProxyPins: self = .proxy(.passUnretained(proxy))
        default: self = .other
        }
    }

    /// Whether the design has a specialization of the fast paths (GUPFastDesigns.swift):
    /// every registered design.
    var hasFastPath: Bool {
        if case .other = self { return false }
        return true
    }

    /// Whether the design's specialization of the fast paths takes the kind of folio a
    /// layout has: separately allocated descriptors (`descriptors`: memdesc's), or struct
    /// pages (every other registered design's). A design under test on another layout
    /// takes the generic step.
    @inline(__always)
    func hasFastPath(foliosAreDescriptors descriptors: Bool) -> Bool {
        switch self {
        case .mainline, .dmaPinnedField, .pageExt, .lruPinned, .proxy: !descriptors
        case .memdesc: descriptors
        case .other: false
        }
    }
}
