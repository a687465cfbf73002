// The data `pagelab machine` prints, gathered from a built machine and its self-check,
// with the JSON keys the README documents.
import PageLayout
import PageModel

/// One zone's row: /proc/zoneinfo's spanned, present, managed and free pages.
public struct MachineZoneRow: Encodable, Sendable, Equatable {
    public let node: Int
    public let name: String
    public let spanned: Int
    public let present: Int
    public let managed: Int
    public let free: Int
    public let watermarkMin: Int
    public let watermarkLow: Int
    public let watermarkHigh: Int

    enum CodingKeys: String, CodingKey {
        case node, name, spanned, present, managed, free
        case watermarkMin = "min", watermarkLow = "low", watermarkHigh = "high"
    }
}

/// One /proc/buddyinfo line: free blocks of orders 0-10.
public struct MachineBuddyRow: Encodable, Sendable, Equatable {
    public let node: Int
    public let zone: String
    public let counts: [Int]
}

/// Everything `pagelab machine` reports.
public struct MachineReport: Encodable, Sendable {
    public let design: String
    public let arch: String
    public let kernelConfig: String
    /// The kernel version whose struct page, folio and page flags the memmap holds (the
    /// code that runs is v6.19's whatever it says).
    public let kernel: String
    public let ramBytes: UInt64
    public let nodes: Int
    public let pfns: Int
    public let structPageSize: Int
    public let memmapBytes: Int
    public let descriptorBytes: Int
    public let descriptors: [String: Int]
    public let pageExtBytes: Int
    public let pageTableBytes: Int
    public let reservedPages: Int
    public let initSeconds: Double
    public let peakRSSBytes: Int
    public let zones: [MachineZoneRow]
    public let buddyinfo: [MachineBuddyRow]
    public let badPages: Int
    public let selfCheck: SelfCheckSummary

    /// The self-check, as reported.
    public struct SelfCheckSummary: Encodable, Sendable {
        public let passed: Bool
        public let folios: [String: Int]
        public let slabObjects: Int
        public let pageTables: Int
        public let freePagesBefore: Int
        public let freePagesAfter: Int
        public let diagnostics: Int

        enum CodingKeys: String, CodingKey {
            case passed, folios, diagnostics
            case slabObjects = "slab_objects", pageTables = "page_tables"
            case freePagesBefore = "free_pages_before", freePagesAfter = "free_pages_after"
        }
    }

    enum CodingKeys: String, CodingKey {
        case design, arch, nodes, pfns, descriptors, zones, buddyinfo, kernel
        case kernelConfig = "kernel_config", ramBytes = "ram_bytes", structPageSize = "struct_page_size"
        case memmapBytes = "memmap_bytes", descriptorBytes = "descriptor_bytes", pageExtBytes = "page_ext_bytes"
        case pageTableBytes = "page_table_bytes", reservedPages = "reserved_pages", initSeconds = "init_seconds"
        case peakRSSBytes = "peak_rss_bytes", badPages = "bad_pages", selfCheck = "self_check"
    }

    /// Gathers the report: zones and buddyinfo as they stand after the self-check, and
    /// the accounting of the self-check's loaded moment (so descriptors are counted).
    public init(machine: Machine, check: SelfCheckResult, peakRSSBytes: Int) {
        let config = machine.config
        design = config.design.rawValue
        arch = config.arch.rawValue
        kernelConfig = config.kernel.source
        kernel = config.kernel.kernel.description
        ramBytes = config.ramBytes
        nodes = config.nodes
        let loaded = check.loaded
        pfns = loaded.pfns
        structPageSize = loaded.structPageSize
        memmapBytes = loaded.memmapBytes
        descriptorBytes = loaded.descriptorBytes
        descriptors = loaded.descriptors
        pageExtBytes = loaded.pageExtBytes
        pageTableBytes = loaded.pageTableBytes
        reservedPages = machine.reservedPages
        initSeconds = machine.initSeconds
        self.peakRSSBytes = peakRSSBytes
        zones = machine.allZones.map { zone in
            let marks = zone.watermarks
            return MachineZoneRow(node: zone.nid, name: zone.type.kernelName, spanned: zone.span.span.count,
                                  present: zone.present, managed: zone.managed, free: zone.freePages,
                                  watermarkMin: marks.min, watermarkLow: marks.low, watermarkHigh: marks.high)
        }
        buddyinfo = machine.allZones.filter { $0.managed > 0 }.map {
            MachineBuddyRow(node: $0.nid, zone: $0.type.kernelName, counts: $0.buddyinfo)
        }
        badPages = machine.diagnostics.of(kind: .badPage).count
        selfCheck = SelfCheckSummary(
            passed: check.passed,
            folios: Dictionary(uniqueKeysWithValues: check.foliosByOrder.map { ("order\($0.key)", $0.value) }),
            slabObjects: check.slabObjects, pageTables: check.pageTables,
            freePagesBefore: check.freeBefore, freePagesAfter: check.freeAfter, diagnostics: check.diagnostics)
    }
}
