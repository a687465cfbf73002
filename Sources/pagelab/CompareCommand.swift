// `pagelab compare`: the same workload through every chosen pin-tracking design.
import ArgumentParser
import Foundation
import PageLayout
import PageModel
import PageReport

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Run one workload on a model machine of each design and compare events, memory and data integrity.",
        discussion: """
            Each design gets its own 2-node x86_64 machine (the vmalloc workload: one per \
            vmalloc tracking option that applies to the design). Every byte the workload writes \
            is read back at the end; exit status 1 if any did not read back as written.
            """
    )

    @Option(help: ArgumentHelp("Designs, comma separated, or all: \(Design.allCases.map(\.rawValue).joined(separator: ", ")).",
                               valueName: "d,..."))
    var designs: String = "all"

    @Option(help: "Workload: \(WorkloadKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var workload: String = WorkloadKind.basic.rawValue

    @Option(parsing: .unconditional, help: "RAM of each machine (two nodes; whole 128 MiB sections, at least 256M), e.g. 256M, 1G.")
    var ram: String = "1G"

    @Option(help: "text or json.")
    var format: OutputFormat = .text

    func validate() throws {
        try format.require(oneOf: [.text, .json])
    }

    func run() throws {
        let kind = try WorkloadKind.named(workload)
        let ramBytes = try ByteSize.parse(ram)
        try kind.validate(ramBytes: ramBytes)
        let chosen = try Self.parseDesigns(designs)
        let progress = StageProgress(command: "compare")
        defer { progress.clear() }
        var results: [WorkloadResult] = []
        for (index, design) in chosen.enumerated() {
            progress.show("\(design) (\(index + 1) of \(chosen.count))")
            results += try kind.runRows(design: design, ramBytes: ramBytes)
        }
        progress.clear()
        let report = CompareReport(workload: kind, ramBytes: ramBytes, results: results)
        emit(format == .json ? JSONOutput.string(report) : CompareText.render(report))
        if !report.passed { throw ExitCode(1) }
    }

    /// `all`, or design names separated by commas (each once).
    static func parseDesigns(_ text: String) throws -> [Design] {
        if text == "all" { return Design.allCases }
        var designs: [Design] = []
        for name in text.split(separator: ",", omittingEmptySubsequences: false).map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let design = try Design.named(name)
            guard !designs.contains(design) else { throw ValidationError("design '\(name)' is named twice") }
            designs.append(design)
        }
        return designs
    }
}
