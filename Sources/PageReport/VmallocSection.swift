// The report's vmalloc section: `pagelab compare --workload vmalloc` on every design and
// vmalloc tracking option (seed 004: vmalloc pages mapped to user space, and scamem).
import PageModel

extension PageLabReport {
    static func vmallocSection(ram: UInt64, progress: (String) -> Void = { _ in }) throws -> ReportSection {
        let report = try everyDesign(.vmalloc, ram: ram, progress: progress)
        let broken = report.designs.filter { ($0.vmalloc?.useAfterFree ?? 0) > 0 }
        let verdict = broken.isEmpty ? "no option freed a page user space could still reach"
            : "only " + Set(broken.compactMap { $0.vmalloc?.option }).sorted().joined(separator: ", ")
              + " freed pages user space could still reach (\(broken.reduce(0) { $0 + ($1.vmalloc?.useAfterFree ?? 0) }) user PTEs)"
        return ReportSection(
            id: "vmalloc", title: "vmalloc memory mapped to user space, per tracking option",
            summary: """
                Four drivers that map vmalloc_user() memory into a process with \
                remap_vmalloc_range() (a perf ring buffer, io_uring's rings, a BPF ringbuf's double \
                mapping, a videobuf2 capture buffer that O_DIRECT pins), each calling vfree() while \
                the mapping or a pin still exists, on a \(Units.bytes(Int64(ram))) model machine per \
                design and per way of keeping the pages alive: the per-page refcount (v6.19), none \
                (the seed's option 2), a refcount in vm_struct (option 3) and scamem (option 4). \
                \(verdict); \(report.passed ? "every tracked option kept every byte" : "A TRACKED OPTION LOST DATA, see the table").
                """,
            text: CompareText.render(report))
    }
}
