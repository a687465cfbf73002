// `pagelab compare --format json`: one workload through every chosen design, with the
// keys the README documents (vmstat's vocabulary where it has a word).
import PageLayout
import PageModel

/// One design's row of `pagelab compare`.
public struct CompareRow: Encodable, Sendable, Equatable {
    public let design: String
    public let faults: Int
    public let majorFaults: Int
    public let cowCopies: Int
    public let cowReuses: Int
    public let swapOuts: Int
    public let swapIns: Int
    public let migrations: Int
    public let migrationFailures: Int
    public let reclaimed: Int
    public let thpFaultAlloc: Int
    public let thpSplitPmd: Int
    public let peakPagesInUse: Int
    public let peakDescriptors: Int
    public let structPageSize: Int
    public let memmapBytes: Int
    public let descriptorBytes: Int
    public let pageExtBytes: Int
    public let pageTableBytes: Int
    public let bytesVerified: Int
    public let dataErrors: Int
    public let failures: [String]
    public let leakedPages: Int
    public let diagnostics: Int
    public let firstDiagnostics: [String]
    public let seconds: Double

    enum CodingKeys: String, CodingKey {
        case design, faults, migrations, reclaimed, failures, diagnostics, seconds
        case majorFaults = "major_faults", cowCopies = "cow_copies", cowReuses = "cow_reuses"
        case swapOuts = "swap_outs", swapIns = "swap_ins", migrationFailures = "migration_failures"
        case thpFaultAlloc = "thp_fault_alloc", thpSplitPmd = "thp_split_pmd"
        case peakPagesInUse = "peak_pages_in_use", peakDescriptors = "peak_descriptors"
        case structPageSize = "struct_page_size", memmapBytes = "memmap_bytes", descriptorBytes = "descriptor_bytes"
        case pageExtBytes = "page_ext_bytes", pageTableBytes = "page_table_bytes"
        case bytesVerified = "bytes_verified", dataErrors = "data_errors", leakedPages = "leaked_pages"
        case firstDiagnostics = "first_diagnostics"
    }

    public init(_ result: WorkloadResult) {
        let events = result.events, peak = result.peakAccounting
        design = result.design.rawValue
        faults = events.faults
        majorFaults = events.majorFaults
        cowCopies = events.cowCopies
        cowReuses = events.cowReuses
        swapOuts = events.swapOuts
        swapIns = events.swapIns
        migrations = events.migrations
        migrationFailures = events.migrationFailures
        reclaimed = events.reclaimed
        thpFaultAlloc = events.thpFaultAlloc
        thpSplitPmd = events.thpSplitPmd
        peakPagesInUse = result.peakPagesInUse
        peakDescriptors = result.peakDescriptors
        structPageSize = peak.structPageSize
        memmapBytes = peak.memmapBytes
        descriptorBytes = peak.descriptorBytes
        pageExtBytes = peak.pageExtBytes
        pageTableBytes = peak.pageTableBytes
        bytesVerified = result.bytesVerified
        dataErrors = result.dataErrors
        failures = result.failures
        leakedPages = result.leakedPages
        diagnostics = result.diagnosticCount
        firstDiagnostics = result.firstDiagnostics
        seconds = result.seconds
    }
}

/// Everything `pagelab compare` reports.
public struct CompareReport: Encodable, Sendable {
    public let workload: String
    public let ramBytes: UInt64
    public let nodes: Int
    public let designs: [CompareRow]

    enum CodingKeys: String, CodingKey {
        case workload, nodes, designs
        case ramBytes = "ram_bytes"
    }

    public init(workload: WorkloadKind, ramBytes: UInt64, results: [WorkloadResult]) {
        self.workload = workload.rawValue
        self.ramBytes = ramBytes
        nodes = results.first?.nodes ?? 0
        designs = results.map(CompareRow.init)
    }

    /// True when every design read back every byte and no operation failed.
    public var passed: Bool { designs.allSatisfy { $0.dataErrors == 0 && $0.failures.isEmpty } }
}
