// Nodes, zones and sections of a model machine: what free_area_init() and
// sparse_init() work out at boot (mm/mm_init.c, mm/sparse.c).
import PageLayout

/// A pfn range [start, end).
public struct PfnRange: Sendable, Equatable, Hashable, Codable {
    public var start: Int
    public var end: Int
    public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }
    public var count: Int { end - start }
    @inline(__always) public func contains(_ pfn: Int) -> Bool { pfn >= start && pfn < end }
}

/// One zone's geometry (struct zone's zone_start_pfn, spanned_pages, present_pages).
public struct ZoneSpan: Sendable, Equatable {
    public let type: Zone
    /// The zone's index in `enum zone_type` of this config (what page->flags stores).
    public let index: Int
    public let nid: Int
    public let span: PfnRange
    /// Pfns of the span that have RAM behind them.
    public let present: Int
}

/// The layout of physical memory: which pfns are RAM, which node and zone each section
/// and pfn belong to. Computed once from a validated `MachineConfig`.
public struct Topology: Sendable {
    public let config: MachineConfig
    /// RAM pfn ranges (the complement of the holes below the end of RAM).
    public let ram: [PfnRange]
    /// Each node's pfn span.
    public let nodes: [PfnRange]
    /// Each node's zones, in `enum zone_type` order; every configured zone type appears
    /// in every node, possibly empty (as in the kernel).
    public let zones: [[ZoneSpan]]
    /// section_to_node_table[]: the node of each section [mm/sparse.c:34-50].
    public let sectionNode: [Int]
    /// Whether each section has RAM (present_section()).
    public let sectionPresent: [Bool]

    public init(config: MachineConfig) {
        self.config = config
        let page = UInt64(MachineConfig.pageSize)
        var ram: [PfnRange] = []
        var cursor: UInt64 = 0
        for hole in config.holes {
            if hole.start > cursor { ram.append(PfnRange(start: Int(cursor / page), end: Int(hole.start / page))) }
            cursor = hole.end
        }
        let end = config.physicalEnd
        if end > cursor { ram.append(PfnRange(start: Int(cursor / page), end: Int(end / page))) }
        self.ram = ram

        let sections = config.sectionCount
        let perSection = config.pagesPerSection
        let spanned = config.spannedPfns
        var nodes: [PfnRange] = []
        var sectionNode = [Int](repeating: 0, count: sections)
        for nid in 0..<config.nodes {
            let first = nid * sections / config.nodes, last = (nid + 1) * sections / config.nodes
            for s in first..<last { sectionNode[s] = nid }
            nodes.append(PfnRange(start: first * perSection, end: min(last * perSection, spanned)))
        }
        self.nodes = nodes
        self.sectionNode = sectionNode
        sectionPresent = (0..<sections).map { s in
            let range = PfnRange(start: s * perSection, end: (s + 1) * perSection)
            return ram.contains { $0.start < range.end && range.start < $0.end }
        }

        // Zone boundaries: the address-limited zones first, then Normal/HighMem, with
        // ZONE_MOVABLE carved from the top of the last node (movablecore=).
        let movablePfns = Int(config.movableBytes / page)
        let movableStart = spanned - movablePfns
        var zones: [[ZoneSpan]] = []
        for (nid, node) in nodes.enumerated() {
            var low = node.start
            var row: [ZoneSpan] = []
            for (index, type) in config.zones.enumerated() {
                var range: PfnRange
                switch type {
                case .device:
                    range = PfnRange(start: node.end, end: node.end)
                case .movable:
                    let start = max(node.start, movableStart)
                    range = movablePfns > 0 && start < node.end ? PfnRange(start: start, end: node.end)
                                                               : PfnRange(start: node.end, end: node.end)
                default:
                    let limit = type.addressLimit(on: config.arch).map { Int($0 / page) } ?? Int.max
                    let nextBounded = config.zones.dropFirst(index + 1).contains { $0 != .movable && $0 != .device }
                    var top = nextBounded ? min(limit, node.end) : node.end
                    top = min(top, max(node.start, min(node.end, movableStart)))
                    range = PfnRange(start: low, end: max(low, top))
                    low = range.end
                }
                let present = ram.reduce(0) { sum, r in sum + max(0, min(r.end, range.end) - max(r.start, range.start)) }
                row.append(ZoneSpan(type: type, index: index, nid: nid, span: range, present: present))
            }
            zones.append(row)
        }
        self.zones = zones
    }

    /// Whether a pfn has RAM behind it.
    public func isRAM(_ pfn: Int) -> Bool { ram.contains { $0.contains(pfn) } }
}
