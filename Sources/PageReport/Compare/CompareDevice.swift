// `pagelab compare --workload device`: the HMM workload's keys of a compare row, its text
// table, and its section of `pagelab report`. The pins workload's keys are reused where a
// count means the same (`corruptions`, `false_negatives`, `false_positives`,
// `refused_grabs`, `unpins_of_unpinned`, `puts_of_pinned_references`, `pins_acquired`,
// `pins_released`; the row's `data_errors` and `bytes_verified`).
import PageLayout
import PageModel

/// The device workload's keys of one row of `pagelab compare --workload device`.
public struct CompareDeviceFigures: Encodable, Sendable, Equatable {
    public let migrationsToDevice: Int
    public let migrationsToSystem: Int
    public let faultsToRAM: Int
    public let devicePins: Int
    public let devicePinsRefused: Int
    public let longtermMovedOff: Int
    public let evicted: Int
    public let corruptions: Int
    public let falseNegatives: Int
    public let falsePositives: Int
    public let refusedGrabs: Int
    public let unpinsOfUnpinned: Int
    public let putsOfPinnedReferences: Int
    public let pinsAcquired: Int
    public let pinsReleased: Int
    public let devicePagesLeaked: Int
    public let nsPerMigratedPage: Double?
    public let timedPages: Int
    public let deviceNote: String?

    enum CodingKeys: String, CodingKey {
        case corruptions, evicted
        case migrationsToDevice = "migrations_to_device", migrationsToSystem = "migrations_to_system"
        case faultsToRAM = "faults_to_ram", devicePins = "device_pins", devicePinsRefused = "device_pins_refused"
        case longtermMovedOff = "longterm_moved_off_device", falseNegatives = "false_negatives"
        case falsePositives = "false_positives", refusedGrabs = "refused_grabs", unpinsOfUnpinned = "unpins_of_unpinned"
        case putsOfPinnedReferences = "puts_of_pinned_references"
        case pinsAcquired = "pins_acquired", pinsReleased = "pins_released"
        case devicePagesLeaked = "device_pages_leaked", nsPerMigratedPage = "ns_per_migrated_page"
        case timedPages = "timed_pages", deviceNote = "device_note"
    }

    public init(_ figures: DeviceFigures) {
        migrationsToDevice = figures.migrationsToDevice
        migrationsToSystem = figures.migrationsToSystem
        faultsToRAM = figures.faultsToRAM
        devicePins = figures.devicePins
        devicePinsRefused = figures.devicePinsRefused
        longtermMovedOff = figures.longtermMovedOff
        evicted = figures.evicted
        corruptions = figures.corruptions
        falseNegatives = figures.stats.falseNegatives
        falsePositives = figures.stats.falsePositives
        refusedGrabs = figures.stats.refusedGrabs
        unpinsOfUnpinned = figures.stats.unpinsOfUnpinned
        putsOfPinnedReferences = figures.stats.putsOfPinnedReferences
        pinsAcquired = figures.stats.pinsAcquired
        pinsReleased = figures.stats.pinsReleased
        devicePagesLeaked = figures.devicePagesLeaked
        nsPerMigratedPage = figures.nsPerMigratedPage
        timedPages = figures.timedPages
        deviceNote = figures.note
    }
}

extension CompareText {
    /// The device workload: migrations each way, faults home, pins of device memory,
    /// what broke (corruptions, false negatives, data errors, leaked device pages) and
    /// the time of a migration, then failures and diagnostics.
    static func renderDevice(_ report: CompareReport) -> String {
        var table = TextTable(["design", "to device", "to system", "faults home", "device pins", "refused", "long-term moved",
                               "evicted", "corruptions", "false -", "data errors", "leaked dev", "verified", "ns/page"])
        for row in report.designs {
            guard let device = row.device else { continue }
            if device.deviceNote != nil {
                // No device memory on this design (the note below says why): nothing to count.
                table.append([row.design] + Array(repeating: "-", count: 9) + ["\(row.dataErrors)", "-", Units.bytes(row.bytesVerified), "-"])
                continue
            }
            table.append([row.design, "\(device.migrationsToDevice)", "\(device.migrationsToSystem)", "\(device.faultsToRAM)",
                          "\(device.devicePins)", "\(device.devicePinsRefused)", "\(device.longtermMovedOff)", "\(device.evicted)",
                          "\(device.corruptions)", "\(device.falseNegatives)", "\(row.dataErrors)", "\(device.devicePagesLeaked)",
                          Units.bytes(row.bytesVerified),
                          device.nsPerMigratedPage.map { Units.format($0, decimals: 1) + " ns" } ?? "-"])
        }
        var out = table.render(indent: "  ") + "\n"
        if let pages = report.designs.lazy.compactMap(\.device).first(where: { $0.timedPages > 0 })?.timedPages {
            out += "  pages; ns/page: a MIGRATE_TO_DEV + MIGRATE_TO_SYS round trip of \(Units.bytes(pages * 4096)) on the "
            out += "private mirror device, per page moved each way (best of 3); corruptions: pfns whose descriptor was found overwritten"
            // Every design has device memory; only a kernel config without ZONE_DEVICE has none.
            out += report.designs.contains { $0.device?.deviceNote != nil } ? "; -: no device memory could be created\n" : "\n"
        }
        for row in report.designs where !row.failures.isEmpty || !row.firstDiagnostics.isEmpty || row.device?.deviceNote != nil {
            out += "\n\(row.design):\n"
            if let note = row.device?.deviceNote { out += "  device: \(note)\n" }
            for line in row.failures { out += "  FAILED: \(line)\n" }
            for line in row.firstDiagnostics { out += "  diagnostic: \(line)\n" }
        }
        out += report.passed
            ? "\nevery byte written read back as written on every design; every device page back with its driver\n"
            : "\nDATA ERRORS, corruptions or leaks on some design (pagelab compare exits with status 1)\n"
        return out
    }
}

extension PageLabReport {
    static func deviceSection(ram: UInt64, progress: (String) -> Void = { _ in }) throws -> ReportSection {
        let results = try Design.allCases.map { design throws -> WorkloadResult in
            progress("compare --workload device: \(design)")
            return try WorkloadKind.device.run(design: design, ramBytes: ram)
        }
        let report = CompareReport(workload: .device, ramBytes: ram, results: results)
        let broken = report.designs.filter { !$0.passed }.map(\.design)
        let absent = report.designs.filter { $0.device?.deviceNote != nil }.map(\.design)
        return ReportSection(
            id: "device", title: "Device memory (HMM) through every design",
            summary: """
                The device workload of `pagelab compare --workload device` (buffers migrated to \
                the mirror devices' private and coherent memory and back, CPU faults pulling pages \
                home, short- and long-term GUP of device-resident memory, fork with device-private \
                pages, the device evicted while the process runs) on a \(Units.bytes(Int64(ram))) \
                model machine per design. \
                \(broken.isEmpty ? "Every design kept every byte and every device page" : "Broken: \(broken.joined(separator: ", ")) (see the table)")\
                \(absent.isEmpty ? "" : "; \(absent.joined(separator: ", ")) cannot create device memory").
                """,
            text: CompareText.render(report))
    }
}
