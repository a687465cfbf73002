// `pagelab compare --workload vmalloc` as text: one row per design and vmalloc tracking
// option (seed 004), then the failures and diagnostics.
import PageModel

enum CompareVmallocText {
    static func render(_ report: CompareReport) -> String {
        var table = TextTable(["design", "option", "placement", "vmalloc", "descriptors", "scamem", "pins", "GUP refused",
                               "references", "use-after-free", "data errors", "verified", "ns/GUP page", "stranded", "leaked", "diagnostics"])
        for row in report.designs {
            guard let v = row.vmalloc else { continue }
            table.append([row.design, v.option, v.placement, Units.bytes(v.vmallocBytes), Units.bytes(row.descriptorBytes),
                          Units.bytes(v.scamemBytes), "\(v.pins)", "\(v.gupRefused)", "\(v.references)", "\(v.useAfterFree)",
                          "\(row.dataErrors)", Units.bytes(row.bytesVerified),
                          v.nsPerGupPage.map { Units.format($0, decimals: 1) + " ns" } ?? "refused", "\(v.strandedPages)",
                          "\(row.leakedPages) pages", "\(row.diagnostics)"])
        }
        var out = table.render(indent: "  ") + "\n"
        out += "  four drivers per row (perf ring buffer, io_uring rings, BPF ringbuf double mapping, videobuf2 buffer "
        out += "pinned by O_DIRECT), each calling vfree() while user space maps it (videobuf2: and a pin is held); "
        out += "references: held on the areas besides vmalloc's own at those vfree() calls (mainline counts a pin as 1024); "
        out += "use-after-free: user PTEs left mapping a freed page; stranded: pages a VMA placement's page-only puts "
        out += "(unpin_user_pages() has no VMA) could not give back; descriptors and scamem at the peak\n"
        out += CompareText.failuresAndDiagnostics(report)
        let broken = report.designs.filter { ($0.vmalloc?.useAfterFree ?? 0) > 0 }.map { "\($0.design) \($0.vmalloc!.option)" }
        out += broken.isEmpty ? "\nno page freed while user space could reach it\n"
            : "\nuse-after-free (the seed's warning for untracked pages): \(broken.joined(separator: ", "))\n"
        out += report.passed ? "every tracked option kept the pages until the last mapping and pin went; every byte read back as written\n"
            : "FAILED: a tracked option freed a reachable page or lost data (pagelab compare exits with status 1)\n"
        return out
    }
}
