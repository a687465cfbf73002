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
    /// The pins workload's figures (absent from other workloads' rows).
    public let pins: ComparePinFigures?
    /// The device workload's figures (absent from other workloads' rows).
    public let device: CompareDeviceFigures?
    /// The vmalloc workload's figures: the row's tracking option and placement
    /// (absent from other workloads' rows).
    public let vmalloc: CompareVmallocFigures?

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

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(design, forKey: .design)
        try container.encode(faults, forKey: .faults)
        try container.encode(majorFaults, forKey: .majorFaults)
        try container.encode(cowCopies, forKey: .cowCopies)
        try container.encode(cowReuses, forKey: .cowReuses)
        try container.encode(swapOuts, forKey: .swapOuts)
        try container.encode(swapIns, forKey: .swapIns)
        try container.encode(migrations, forKey: .migrations)
        try container.encode(migrationFailures, forKey: .migrationFailures)
        try container.encode(reclaimed, forKey: .reclaimed)
        try container.encode(thpFaultAlloc, forKey: .thpFaultAlloc)
        try container.encode(thpSplitPmd, forKey: .thpSplitPmd)
        try container.encode(peakPagesInUse, forKey: .peakPagesInUse)
        try container.encode(peakDescriptors, forKey: .peakDescriptors)
        try container.encode(structPageSize, forKey: .structPageSize)
        try container.encode(memmapBytes, forKey: .memmapBytes)
        try container.encode(descriptorBytes, forKey: .descriptorBytes)
        try container.encode(pageExtBytes, forKey: .pageExtBytes)
        try container.encode(pageTableBytes, forKey: .pageTableBytes)
        try container.encode(bytesVerified, forKey: .bytesVerified)
        try container.encode(dataErrors, forKey: .dataErrors)
        try container.encode(failures, forKey: .failures)
        try container.encode(leakedPages, forKey: .leakedPages)
        try container.encode(diagnostics, forKey: .diagnostics)
        try container.encode(firstDiagnostics, forKey: .firstDiagnostics)
        try container.encode(seconds, forKey: .seconds)
        // The pins figures sit beside the others in the same row object.
        try pins?.encode(to: encoder)
        try device?.encode(to: encoder)
        try vmalloc?.encode(to: encoder)
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
        // RAM's memmap and descriptors: the same pfns on every design (a ZONE_DEVICE
        // section's memmap and device folio descriptors are the pins figures' own key).
        memmapBytes = peak.ramMemmapBytes
        descriptorBytes = peak.ramDescriptorBytes
        pageExtBytes = peak.pageExtBytes
        pageTableBytes = peak.pageTableBytes
        bytesVerified = result.bytesVerified
        dataErrors = result.dataErrors
        failures = result.failures
        leakedPages = result.leakedPages
        diagnostics = result.diagnosticCount
        firstDiagnostics = result.firstDiagnostics
        seconds = result.seconds
        pins = result.pins.map { ComparePinFigures($0, design: result.design, events: events) }
        device = result.device.map(CompareDeviceFigures.init)
        vmalloc = result.vmalloc.map(CompareVmallocFigures.init)
        passed = result.passed
    }

    /// False when the row fails its checks: data errors, failed operations, (pins,
    /// device) a false negative of `folio_maybe_dma_pinned()`, (vmalloc) a page freed
    /// while reachable on an option that must keep it (`WorkloadResult.passed`).
    public let passed: Bool
}

/// The pins workload's keys of one row of `pagelab compare --workload pins`.
public struct ComparePinFigures: Encodable, Sendable, Equatable {
    public let structPageBytes: Int
    public let bytesPerPage: Double
    public let proxyBytes: Int
    public let proxyBytesLive: Int
    public let pinsAcquired: Int
    public let pinsReleased: Int
    public let falsePositives: Int
    public let falseNegatives: Int
    public let exactTracking: Bool
    public let corruptions: Int
    public let refusedGrabs: Int
    public let unpinsOfUnpinned: Int
    public let putsOfPinnedReferences: Int
    public let nsPerPinFast: Double
    public let timedPages: Int
    public let longtermPages: Int
    public let forkPinnedCopies: Int
    public let reclaimKeptPinned: Int
    public let migrationRefusedPinned: Int
    public let movedOutOfMovable: Int
    public let devicePagesPinned: Int
    public let devicePinsRefused: Int
    public let deviceNote: String?
    /// The ZONE_DEVICE section's memmap (and device folio descriptors); absent where the machine cannot create one.
    public let deviceMemmapBytes: Int?

    enum CodingKeys: String, CodingKey {
        case corruptions
        case structPageBytes = "struct_page_bytes", bytesPerPage = "bytes_per_page"
        case proxyBytes = "proxy_bytes", proxyBytesLive = "proxy_bytes_live"
        case pinsAcquired = "pins_acquired", pinsReleased = "pins_released"
        case falsePositives = "false_positives", falseNegatives = "false_negatives", exactTracking = "exact_tracking"
        case refusedGrabs = "refused_grabs", unpinsOfUnpinned = "unpins_of_unpinned"
        case putsOfPinnedReferences = "puts_of_pinned_references"
        case nsPerPinFast = "ns_per_pin_fast", timedPages = "timed_pages", longtermPages = "longterm_pages"
        case forkPinnedCopies = "fork_pinned_copies", reclaimKeptPinned = "reclaim_kept_pinned"
        case migrationRefusedPinned = "migration_refused_pinned", movedOutOfMovable = "moved_out_of_movable"
        case devicePagesPinned = "device_pages_pinned", devicePinsRefused = "device_pins_refused", deviceNote = "device_note"
        case deviceMemmapBytes = "device_memmap_bytes"
    }

    public init(_ figures: PinFigures, design: Design, events: VMEventCounts) {
        let stats = figures.stats
        structPageBytes = figures.costs.structPageBytes
        bytesPerPage = figures.bytesPerPage
        proxyBytes = figures.proxyPeakBytes
        proxyBytesLive = figures.proxyLiveBytes
        pinsAcquired = stats.pinsAcquired
        pinsReleased = stats.pinsReleased
        falsePositives = stats.falsePositives
        falseNegatives = stats.falseNegatives
        exactTracking = PinFigures.tracksExactly(design)
        corruptions = stats.corruptions
        refusedGrabs = stats.refusedGrabs
        unpinsOfUnpinned = stats.unpinsOfUnpinned
        putsOfPinnedReferences = stats.putsOfPinnedReferences
        nsPerPinFast = figures.nsPerPinFast
        timedPages = figures.timedPages
        longtermPages = figures.longtermPages
        forkPinnedCopies = events.forkPinnedCopies
        reclaimKeptPinned = events.reclaimKeptPinned
        migrationRefusedPinned = figures.migrationRefusedPinned
        movedOutOfMovable = figures.movedOutOfMovable
        devicePagesPinned = figures.devicePagesPinned
        devicePinsRefused = figures.devicePinsRefused
        deviceNote = figures.deviceNote
        deviceMemmapBytes = figures.deviceMemmapBytes
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

    /// True when every design read back every byte, no operation failed, and no design's
    /// `folio_maybe_dma_pinned()` said no for a pinned folio (the kernel's contract
    /// forbids false negatives for every design; mainline's false positives are allowed).
    public var passed: Bool { designs.allSatisfy(\.passed) }
}
