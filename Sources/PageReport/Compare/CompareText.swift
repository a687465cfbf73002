// `pagelab compare` as text: one row per design, then the failures and diagnostics.
import PageModel

public enum CompareText {
    public static func render(_ report: CompareReport) -> String {
        var out = "workload \(report.workload) on \(Units.bytes(Int64(report.ramBytes))) RAM, \(report.nodes) nodes, x86_64, "
        out += "one machine per design\n\n"
        if report.designs.contains(where: { $0.pins != nil }) { return out + renderPins(report) }
        if report.designs.contains(where: { $0.device != nil }) { return out + renderDevice(report) }
        if report.designs.contains(where: { $0.vmalloc != nil }) { return out + CompareVmallocText.render(report) }
        var events = TextTable(["design", "faults", "COW copies", "swap out", "swap in", "migrated", "THP faults",
                                "verified", "data errors", "leaked", "diagnostics", "time"])
        for row in report.designs {
            events.append([row.design, "\(row.faults)", "\(row.cowCopies)", "\(row.swapOuts)", "\(row.swapIns)",
                           "\(row.migrations)", "\(row.thpFaultAlloc)", Units.bytes(row.bytesVerified), "\(row.dataErrors)",
                           "\(row.leakedPages) pages", "\(row.diagnostics)", Units.duration(seconds: row.seconds)])
        }
        out += events.render(indent: "  ") + "\n"
        var memory = TextTable(["at the peak", "pages in use", "struct page", "memmap", "descriptors", "descriptor bytes",
                                "page_ext", "page tables"])
        for row in report.designs {
            memory.append([row.design, "\(row.peakPagesInUse) (\(Units.bytes(row.peakPagesInUse * 4096)))",
                           "\(row.structPageSize) B", Units.bytes(row.memmapBytes), "\(row.peakDescriptors)",
                           Units.bytes(row.descriptorBytes), Units.bytes(row.pageExtBytes), Units.bytes(row.pageTableBytes)])
        }
        out += memory.render(indent: "  ")
        out += failuresAndDiagnostics(report)
        out += report.passed ? "\nevery byte written read back as written on every design\n"
                             : "\nDATA ERRORS: some bytes did not read back as written (pagelab compare exits with status 1)\n"
        return out
    }

    /// Each row's failure lines and first diagnostics, under its name.
    static func failuresAndDiagnostics(_ report: CompareReport) -> String {
        var out = ""
        for row in report.designs where !row.failures.isEmpty || !row.firstDiagnostics.isEmpty {
            out += "\n\(row.design)\(row.vmalloc.map { ", \($0.option)" } ?? ""):\n"
            for line in row.failures { out += "  FAILED: \(line)\n" }
            for line in row.firstDiagnostics { out += "  diagnostic: \(line)\n" }
        }
        return out
    }

    /// The pins workload: the lab's headline table (what each design costs per page, how
    /// well it knows what is pinned, what it breaks, and what a pin costs in time), then
    /// what the pins did to the memory manager, then failures and diagnostics.
    static func renderPins(_ report: CompareReport) -> String {
        var out = ""
        var headline = TextTable(["design", "struct page", "bytes/page", "descriptors", "page_ext", "proxies (peak)",
                                  "ZONE_DEVICE memmap", "pins", "false +", "false -", "corruptions", "data errors", "ns/pin"])
        for row in report.designs {
            guard let pins = row.pins else { continue }
            headline.append([row.design, "\(pins.structPageBytes) B", Units.format(pins.bytesPerPage, decimals: 2) + " B",
                             Units.bytes(row.descriptorBytes), Units.bytes(row.pageExtBytes), Units.bytes(pins.proxyBytes),
                             pins.deviceMemmapBytes.map { Units.bytes($0) } ?? "cannot create",
                             pins.pinsAcquired == pins.pinsReleased ? "\(pins.pinsAcquired)" : "\(pins.pinsAcquired) (\(pins.pinsAcquired - pins.pinsReleased) held)",
                             "\(pins.falsePositives)\(pins.exactTracking || pins.falsePositives == 0 ? "" : " (bias)")",
                             "\(pins.falseNegatives)", "\(pins.corruptions)", "\(row.dataErrors)",
                             Units.format(pins.nsPerPinFast, decimals: 1) + " ns"])
        }
        out += headline.render(indent: "  ") + "\n"
        if let pages = report.designs.lazy.compactMap(\.pins).first?.timedPages {
            out += "  bytes/page: memmap + descriptors + page_ext of RAM at the peak / RAM's pfns, the same pfns on every design "
            out += "(the ZONE_DEVICE section's memmap is its own column: only struct-page designs can create one); false +/-: folio_maybe_dma_pinned() "
            out += "against the exact count; ns/pin: pin_user_pages_fast + unpin_user_pages per 4 KiB page "
            out += "(\(Units.bytes(pages * 4096)) faulted, best of 3)\n\n"
        }
        var effects = TextTable(["what the pins did", "long-term", "fork copies", "kept by reclaim", "migration refused",
                                 "out of MOVABLE", "device pinned", "verified", "leaked", "diagnostics", "time"])
        for row in report.designs {
            guard let pins = row.pins else { continue }
            let device = pins.deviceNote != nil ? "none" : pins.devicePinsRefused > 0
                ? "\(pins.devicePagesPinned) (\(pins.devicePinsRefused) refused)" : "\(pins.devicePagesPinned)"
            effects.append([row.design, "\(pins.longtermPages) pages", "\(pins.forkPinnedCopies)", "\(pins.reclaimKeptPinned)",
                            "\(pins.migrationRefusedPinned)", "\(pins.movedOutOfMovable) pages", device,
                            Units.bytes(row.bytesVerified), "\(row.leakedPages) pages", "\(row.diagnostics)",
                            Units.duration(seconds: row.seconds)])
        }
        out += effects.render(indent: "  ")
        for row in report.designs where !row.failures.isEmpty || !row.firstDiagnostics.isEmpty || row.pins?.deviceNote != nil {
            out += "\n\(row.design):\n"
            if let note = row.pins?.deviceNote { out += "  device: \(note)\n" }
            for line in row.failures { out += "  FAILED: \(line)\n" }
            for line in row.firstDiagnostics { out += "  diagnostic: \(line)\n" }
        }
        let negatives = report.designs.filter { ($0.pins?.falseNegatives ?? 0) > 0 }.map(\.design)
        if !negatives.isEmpty {
            out += "\nFALSE NEGATIVES: folio_maybe_dma_pinned() said no for pinned folios on \(negatives.joined(separator: ", ")) (pagelab compare exits with status 1)\n"
        }
        out += report.designs.allSatisfy({ $0.dataErrors == 0 && $0.failures.isEmpty })
            ? "\nevery byte written read back as written on every design; every pin released\n"
            : "\nDATA ERRORS: some bytes did not read back as written or an operation failed (pagelab compare exits with status 1)\n"
        return out
    }
}
