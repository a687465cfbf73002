// `pagelab machine` as text: the zones, /proc/buddyinfo, the accounting, the cost.

public enum MachineText {
    public static func render(_ report: MachineReport) -> String {
        var out = "machine: \(Units.bytes(Int64(report.ramBytes))) RAM, \(report.nodes) node\(report.nodes == 1 ? "" : "s"), "
        out += "arch \(report.arch), design \(report.design) (struct page \(report.structPageSize) B), kernel config \(report.kernelConfig)\n\n"

        var zones = TextTable(["node", "zone", "spanned", "present", "managed", "free", "min", "low", "high"],
                              alignments: [.right, .left, .right, .right, .right, .right, .right, .right, .right])
        for zone in report.zones {
            zones.append(["\(zone.node)", zone.name, "\(zone.spanned)", "\(zone.present)", "\(zone.managed)", "\(zone.free)",
                          "\(zone.watermarkMin)", "\(zone.watermarkLow)", "\(zone.watermarkHigh)"])
        }
        out += "zones (pages):\n" + zones.render(indent: "  ") + "\n"

        out += "buddyinfo (free blocks of order 0-10):\n"
        for row in report.buddyinfo {
            let name = "Node \(row.node), zone \(row.zone.padding(8))"
            out += "  \(name) " + row.counts.map { "\($0)".leftPadding(6) }.joined(separator: " ") + "\n"
        }
        out += "\n"

        let ram = Double(report.ramBytes)
        var costs = TextTable(["with the self-check's mix allocated", "bytes", "of RAM"])
        costs.append(["memmap (\(report.pfns) pfns × \(report.structPageSize) B)", Units.bytes(report.memmapBytes),
                      Units.percent(Double(report.memmapBytes), of: ram)])
        let kinds = report.descriptors.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        costs.append(["descriptors (\(kinds))", Units.bytes(report.descriptorBytes), Units.percent(Double(report.descriptorBytes), of: ram)])
        costs.append(["page_ext", Units.bytes(report.pageExtBytes), Units.percent(Double(report.pageExtBytes), of: ram)])
        costs.append(["page tables", Units.bytes(report.pageTableBytes), Units.percent(Double(report.pageTableBytes), of: ram)])
        out += costs.render(indent: "  ") + "\n"

        let check = report.selfCheck
        let folios = check.folios.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        out += "self-check: \(check.passed ? "passed" : "FAILED"): \(folios) folios, \(check.slabObjects) slab objects, "
        out += "\(check.pageTables) page tables allocated and freed; free pages \(check.freePagesBefore) before, \(check.freePagesAfter) after; "
        out += "\(check.diagnostics) diagnostics, \(report.badPages) bad pages\n"
        out += "built in \(Units.duration(seconds: report.initSeconds)); peak RSS \(Units.bytes(report.peakRSSBytes)) "
        out += "(\(Units.format(Double(report.peakRSSBytes) / Double(max(report.memmapBytes, 1)), decimals: 2)) × memmap)\n"
        return out
    }
}

extension String {
    fileprivate func padding(_ width: Int) -> String { self + String(repeating: " ", count: max(0, width - count)) }
    fileprivate func leftPadding(_ width: Int) -> String { String(repeating: " ", count: max(0, width - count)) + self }
}
