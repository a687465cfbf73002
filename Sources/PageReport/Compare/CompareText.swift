// `pagelab compare` as text: one row per design, then the failures and diagnostics.
import PageModel

public enum CompareText {
    public static func render(_ report: CompareReport) -> String {
        var out = "workload \(report.workload) on \(Units.bytes(Int64(report.ramBytes))) RAM, \(report.nodes) nodes, x86_64, "
        out += "one machine per design\n\n"
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
        for row in report.designs where !row.failures.isEmpty || !row.firstDiagnostics.isEmpty {
            out += "\n\(row.design):\n"
            for line in row.failures { out += "  FAILED: \(line)\n" }
            for line in row.firstDiagnostics { out += "  diagnostic: \(line)\n" }
        }
        out += report.passed ? "\nevery byte written read back as written on every design\n"
                             : "\nDATA ERRORS: some bytes did not read back as written (exit status 1)\n"
        return out
    }
}
