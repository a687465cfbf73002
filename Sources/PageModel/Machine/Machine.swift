// A model machine: memmap, zones and the buddy allocator, booted as the kernel boots
// (mm/mm_init.c: memmap_init(), free_area_init(); mm/memblock.c: memblock_free_all();
// mm/page_alloc.c: setup_per_zone_wmarks(), zone_pcp_init()).
import Atomics
import PageLayout
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A running model machine. Built from a `MachineConfig`; owns every byte of its memmap,
/// descriptors and frame contents. Views (`Page`, `Folio`) point into it and must not
/// outlive it.
public final class Machine: @unchecked Sendable {
    public let config: MachineConfig
    public let topology: Topology
    public let layout: ModelLayout
    public let flagsBudget: FlagsBudget
    /// `config.layout`, computed once: that property derives the flags budget each time,
    /// and the rmap and free paths ask for it on every page.
    public let layoutConfig: LayoutConfig
    public let flagBits: PageFlagBits
    public let addressMap: KernelAddressMap
    public let heap: DescriptorHeap
    public let registry = ObjectRegistry()
    public let frames: FrameContents
    public let memmap: Memmap
    public let diagnostics = DiagnosticLog()
    /// `NODE_DATA(nid)->node_zones[]`, indexed [nid][zone index].
    public let zones: [[MemoryZone]]
    /// The page_ext tables, nil when no client needs them (nothing is allocated then).
    public let pageExt: PageExtStore?
    /// `NODE_DATA(nid)->__lruvec`, one per node.
    public let lruvecs: [LRUVec]
    /// Deferred freeing of page tables under lockless walkers (GUP-fast).
    public let tableRCU = PageTableRCU()
    /// Events of the virtual memory model (faults, COW copies, swap, migration).
    public let vmEvents = VMEvents()
    /// The swap devices and the swap cache (swap_info[], swapper_spaces), made on first use.
    public var swap: SwapSpace { swapSpace.load() ?? swapSpace.storeIfNilThenLoad(SwapSpace(machine: self)) }
    private let swapSpace = ManagedAtomicLazyReference<SwapSpace>()
    /// The THP sysfs controls (/sys/kernel/mm/transparent_hugepage/).
    public let thp = THPControls()
    /// The huge zero folio and its users (Virtual/HugeZeroFolio.swift).
    public let hugeZero = HugeZeroFolio()
    /// The pin-tracking state of the machine's design (Pinning/).
    public let pins: PinState
    /// Pages reserved at boot (memblock): the first page, the zero page, the memmap.
    public internal(set) var reservedPages = 0
    /// The pfn of `empty_zero_page` (a reserved page of the kernel image).
    /// Set once at boot and read on every GUP grab and release: no dynamic exclusivity
    /// check (the checks cost more than the rest of a GUP-fast pin).
    @exclusivity(unchecked) public internal(set) var zeroPagePfn = 0
    /// Seconds spent building the machine (memmap init and handing RAM to the buddy).
    public private(set) var initSeconds = 0.0
    let injection = ModelMutex(FailInjection())
    /// Whether failure injection is on: checked without the lock on every allocation.
    let injectionArmed = Atomic<Bool>(false)
    let counters = AllocationCounters()
    /// `enum zone_type` of the config, resolved once.
    let zoneTypes: [Zone]
    /// PAGE_FLAGS_CHECK_AT_FREE and PAGE_FLAGS_CHECK_AT_PREP of the config.
    let checkAtFree: UInt64
    let checkAtPrep: UInt64
    /// `node_zonelists[ZONELIST_FALLBACK]` per preferred node and highest zone index: the
    /// zones to try in order (the preferred node's from the highest index down, then the
    /// other nodes'); `[ZONELIST_NOFALLBACK]` for __GFP_THISNODE.
    /// Unretained, in raw buffers so that the hot paths touch no reference counts
    /// (`zones` keeps the zones alive): `zonelistZones` holds every list back to back;
    /// `zonelistRanges[(nid * MAX_NR_ZONES + highest) * 2 + thisnode]` its (start, count).
    let zonelistZones: UnsafeMutablePointer<Unmanaged<MemoryZone>>
    let zonelistRanges: UnsafeMutablePointer<(start: Int, count: Int)>
    /// `zones` flattened, [nid * MAX_NR_ZONES + zone index].
    let zoneTable: UnsafeMutablePointer<Unmanaged<MemoryZone>>
    let zoneTableCount: Int
    /// `gfp_zone()` per combination of the four zone modifiers (bits 0-3 of gfp_t): the
    /// highest zone index, or -1 for GFP_ZONE_BAD.
    let gfpZoneTable: [Int]
    /// Sections whose memory is online.
    let onlineSections: ModelMutex<Set<Int>>
    /// Pages holding page tables (NR_PAGETABLE).
    let pageTablePages = Atomic<Int>(0)
    /// Physical ranges handed out to ZONE_DEVICE pagemaps.
    let deviceRegions = ModelMutex<[PfnRange]>([])
    /// Bytes of the device folio descriptors those pagemaps hold (memdesc designs).
    let deviceDescriptorBytes = Atomic<Int>(0)
    let pageblockOrder: Int
    let context: UnsafeMutablePointer<MemmapContext>

    public convenience init(ramBytes: UInt64, design: Design = .mainline, arch: Arch = .x86_64, nodes: Int = 1) throws(MachineError) {
        try self.init(config: MachineConfig(ramBytes: ramBytes, nodes: nodes, design: design, arch: arch))
    }

    /// A machine of `config`. `pinTracker` replaces the design's registered tracker
    /// (`Design.pinTracker`) over the same layout: a pin-tracking design under test.
    public init(config: MachineConfig, pinTracker: (any PinTracker.Type)? = nil) throws(MachineError) {
        let start = Self.now()
        try config.validate()
        self.config = config
        topology = Topology(config: config)
        flagsBudget = config.flagsBudget
        layoutConfig = flagsBudget.layoutConfig
        flagBits = PageFlagBits(members: flagsBudget.flags.map { ($0.name, $0.bit) })
        checkAtFree = flagBits.checkAtFree
        checkAtPrep = flagBits.checkAtPrep
        zoneTypes = config.zones
        layout = ModelLayout(config: layoutConfig, design: config.design, kernel: config.kernel.kernel)
        // The memmap is real host memory: refuse one the host cannot hold rather than be
        // killed for it (frame contents are sparse and cost only what is touched).
        let memmapBytes = UInt64(topology.sectionPresent.filter { $0 }.count * config.pagesPerSection * layout.pageSize)
        let hostBytes = UInt64(max(0, sysconf(Int32(_SC_PHYS_PAGES)))) &* UInt64(max(0, sysconf(Int32(_SC_PAGESIZE))))
        guard hostBytes == 0 || memmapBytes <= hostBytes / 10 * 9 else {
            throw .memmapExceedsHost(memmapBytes: memmapBytes, hostBytes: hostBytes)
        }
        pageblockOrder = BuddyConstants.pageblockOrder(config.arch)
        let heapBytes: UInt64 = config.arch.bitsPerLong == 64 ? max(256 << 20, config.ramBytes / 16) : 256 << 20
        addressMap = try KernelAddressMap(arch: config.arch, structPageSize: layout.pageSize,
                                          spannedPfns: config.spannedPfns, heapBytes: heapBytes)
        heap = try DescriptorHeap(base: addressMap.heapBase, capacity: addressMap.heapCapacity)
        frames = try FrameContents(frameCount: config.spannedPfns)
        var fields = FlagsFields()
        if let zonesField = flagsBudget.field("ZONES"), zonesField.width > 0 {
            fields.zonesShift = zonesField.pgshift
            fields.zonesWidth = zonesField.width
        }
        if let nodesField = flagsBudget.field("NODES"), nodesField.width > 0, !flagsBudget.nodeNotInPageFlags {
            fields.nodesShift = nodesField.pgshift
            fields.nodesWidth = nodesField.width
        }
        memmap = try Memmap(topology: topology, layout: layout, fields: fields, bits: flagBits,
                            addressMap: addressMap, heap: heap, frames: frames)
        context = memmap.context

        // struct zone's list heads: one heap block for all zones, so that memdesc32 can
        // tell a free-list pointer from a descriptor pointer.
        let perZone = MemoryZone.headBytes(wordSize: layout.wordSize)
        let zoneCount = topology.zones.reduce(0) { $0 + $1.count }
        guard let heads = heap.allocate(size: perZone * zoneCount, alignment: 16, kind: .zone) else {
            throw .addressSpaceExhausted(what: "the zones' free-area list heads")
        }
        context.pointee.freeAreaBase = heads
        context.pointee.freeAreaBytes = UInt64(perZone * zoneCount)
        var zones: [[MemoryZone]] = []
        var next = heads
        let context = memmap.context, pageblockOrder = pageblockOrder
        for row in topology.zones {
            var built: [MemoryZone] = []
            for span in row {
                built.append(MemoryZone(span: span, context: context, heads: next, pageblockOrder: pageblockOrder))
                next += UInt64(perZone)
            }
            zones.append(built)
        }
        self.zones = zones
        var lists: [Unmanaged<MemoryZone>] = []
        var ranges: [(start: Int, count: Int)] = []
        for nid in zones.indices {
            let order = [nid] + zones.indices.filter { $0 != nid }
            for highest in zoneTypes.indices {
                for thisnode in [false, true] {
                    let start = lists.count
                    for n in (thisnode ? [nid] : order) {
                        for index in stride(from: highest, through: 0, by: -1) { lists.append(Unmanaged.passUnretained(zones[n][index])) }
                    }
                    ranges.append((start, lists.count - start))
                }
            }
        }
        zonelistZones = .allocate(capacity: lists.count)
        zonelistZones.initialize(from: lists, count: lists.count)
        zonelistRanges = .allocate(capacity: ranges.count)
        zonelistRanges.initialize(from: ranges, count: ranges.count)
        let flat = zones.flatMap { $0 }.map { Unmanaged.passUnretained($0) }
        zoneTable = .allocate(capacity: flat.count)
        zoneTable.initialize(from: flat, count: flat.count)
        zoneTableCount = flat.count
        let types = zoneTypes
        gfpZoneTable = (0..<16).map { bits in
            guard let zone = GFP(rawValue: UInt32(bits)).highestZone(among: types) else { return -1 }
            return types.firstIndex(of: zone) ?? -1
        }
        // page_ext_init() runs after the memmap exists; its tables are host memory
        // counted apart, as the memmap is.
        let pinTracker = pinTracker ?? config.design.pinTracker
        pageExt = try PageExtStore(config: config, topology: topology, pinClientBytes: pinTracker.pageExtClientBytes(layoutConfig))
        lruvecs = Self.makeLRUVecs(nodes: topology.nodes.count, heap: heap, context: context)
        pins = try PinState(config: config, tracker: pinTracker, layout: layout, flagsBudget: flagsBudget, nodes: topology.nodes.count)
        let present = topology.sectionPresent, offline = config.offlineSections
        onlineSections = ModelMutex(Set(present.indices.filter { present[$0] && !offline.contains($0) }))
        boot()
        initSeconds = Self.now() - start
    }

    deinit {
        Self.freeLRUVecs(lruvecs)
        zonelistZones.deallocate()
        zonelistRanges.deallocate()
        zoneTable.deallocate()
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// All zones, node by node.
    public var allZones: [MemoryZone] { zones.flatMap { $0 } }

    /// The zone of a valid pfn, unretained (hot paths). Linux: `page_zone()`.
    @inline(__always)
    func zoneRef(of pfn: Int) -> Unmanaged<MemoryZone>? {
        let ctx = context
        let index = ctx.nid(of: pfn) &* zoneTypes.count &+ ctx.zone(of: pfn)
        return index >= 0 && index < zoneTableCount ? zoneTable[index] : nil
    }

    /// The zone of a pfn. Linux: `page_zone()`.
    public func zone(of pfn: Int) -> MemoryZone? {
        guard let nid = memmap.nid(of: pfn), let index = memmap.zoneIndex(of: pfn),
              nid < zones.count, index < zones[nid].count else { return nil }
        return zones[nid][index]
    }

    /// Linux: `pfn_to_page()`.
    public func page(_ pfn: Int) -> Page? { memmap.page(pfn) }
}

/// `fail_page_alloc` [mm/fail_page_alloc.c, lib/fault-inject.c]: deterministic failure
/// injection for the page allocator.
public struct FailInjection: Sendable, Equatable {
    /// How many more failures to inject (-1: no limit; 0: off).
    public var times = 0
    /// Fail every `interval`-th eligible allocation (1: every one).
    public var interval = 1
    /// Only allocations of at least this order are eligible (`min-order`).
    public var minOrder = 0
    /// `ignore-gfp-wait`: leave allocations that may reclaim alone.
    public var ignoreDirectReclaim = false
    var seen = 0
    public init(times: Int = 0, interval: Int = 1, minOrder: Int = 0, ignoreDirectReclaim: Bool = false) {
        self.times = times
        self.interval = max(1, interval)
        self.minOrder = minOrder
        self.ignoreDirectReclaim = ignoreDirectReclaim
    }

    /// Linux: `should_fail_alloc_page()`: __GFP_NOFAIL never fails.
    mutating func shouldFail(gfp: GFP, order: Int) -> Bool {
        guard times != 0, !gfp.contains(.nofail), order >= minOrder else { return false }
        if ignoreDirectReclaim, gfp.contains(.directReclaim) { return false }
        seen += 1
        guard seen % interval == 0 else { return false }
        if times > 0 { times -= 1 }
        return true
    }
}

/// The allocator's event counters, bumped with relaxed atomics (vmstat's per-cpu
/// counters are not exact either).
final class AllocationCounters: Sendable {
    let failures = Atomic<Int>(0)
    let injectedFailures = Atomic<Int>(0)
    let badPages = Atomic<Int>(0)

    func snapshot(allocations: Int, frees: Int) -> AllocationStats {
        AllocationStats(allocations: allocations, frees: frees,
                        failures: failures.load(ordering: .relaxed), injectedFailures: injectedFailures.load(ordering: .relaxed),
                        badPages: badPages.load(ordering: .relaxed))
    }
}

/// Counters of the page allocator (a few of /proc/vmstat's).
public struct AllocationStats: Sendable, Equatable {
    /// pgalloc_*: successful allocations.
    public var allocations = 0
    /// pgfree: frees that reached the allocator.
    public var frees = 0
    /// Allocations that failed (no memory or injected).
    public var failures = 0
    /// Of which injected by `FailInjection`.
    public var injectedFailures = 0
    /// Pages that failed free_pages_prepare() and were leaked.
    public var badPages = 0
}
