// `pagelab bench`: the model's hot paths timed per design (PageModel's PageBench), in
// the spirit of the kernel's `perf bench`.
import ArgumentParser
import Foundation
import PageLayout
import PageModel
import PageReport

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time pin_user_pages_fast+unpin_user_pages, faults, fork, munmap, device migration, move_pages or hmm_range_fault on each design's model machine.",
        discussion: """
            Each design's machine is built once and warmed by one untimed round; then each \
            round is timed. Prints ns per page (minimum and median over the rounds) and \
            pages per second (at the median). Timings are this host's, under whatever else \
            it runs.
            """
    )

    @Argument(help: "What to time: \(BenchKind.allCases.map(\.rawValue).joined(separator: ", ")).")
    var bench: String

    @Option(help: ArgumentHelp("Designs, comma separated, or all: \(Design.allCases.map(\.rawValue).joined(separator: ", ")).",
                               valueName: "d,..."))
    var designs: String = "all"

    @Option(help: "MiB of anonymous memory each round works on (\(PageBench.mibRange.lowerBound)...\(PageBench.mibRange.upperBound)).")
    var mib: Int = 64

    @Option(help: "Timed rounds per design (\(PageBench.roundsRange.lowerBound)...\(PageBench.roundsRange.upperBound)).")
    var rounds: Int = 10

    @Flag(help: "Map the range with PMD-mapped THPs (MADV_HUGEPAGE, 2 MiB aligned; --mib even).")
    var thp = false

    @Option(help: "text or json.")
    var format: OutputFormat = .text

    func validate() throws {
        try format.require(oneOf: [.text, .json])
    }

    func run() throws {
        let kind = try BenchKind.named(bench)
        let parameters = try PageBench(kind: kind, mib: mib, rounds: rounds, thp: thp)
        let chosen = try CompareCommand.parseDesigns(designs)
        let progress = StageProgress(command: "bench")
        defer { progress.clear() }
        var results: [BenchResult] = []
        for (index, design) in chosen.enumerated() {
            progress.show("\(design) (\(index + 1) of \(chosen.count))")
            results.append(try parameters.run(design: design))
        }
        progress.clear()
        let report = BenchReport(parameters, results: results)
        emit(format == .json ? JSONOutput.string(report) : report.text)
    }
}
