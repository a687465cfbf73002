// `pagelab run`: scenarios (files or bundled names) through every chosen design.
import ArgumentParser
import Foundation
import PageLayout
import PageScenario

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run scenario scripts on a fresh model machine of each design and print the matrix of expectations.",
        discussion: """
            FILE is a scenario file or the name of a bundled scenario (pagelab run --list). \
            Exit status 0 when every expectation holds, 1 when one fails, 2 for a bad script \
            (FILE:LINE:COLUMN: error: ..., before anything runs). The language (grammar and an \
            example per operation) is in the README's `pagelab run` section.

            """ + Scenarios.reference
    )

    @Argument(help: "Scenario files or bundled scenario names.")
    var files: [String] = []

    @Option(help: ArgumentHelp("Designs, comma separated, or all: \(Design.allCases.map(\.rawValue).joined(separator: ", ")).",
                               valueName: "d,..."))
    var designs: String = "all"

    @Option(help: "text, json or jsonl.")
    var format: OutputFormat = .text

    @Flag(help: "After each line, print the state it touched (refcount, mapcount, pincount, flags, PTE, pins outstanding).")
    var trace = false

    @Flag(help: "List the bundled scenarios, one per line, name first.")
    var list = false

    /// Issue 16's speed check: parse and run a 10,000-line generated scenario against the
    /// same operations called directly (median of 11 rounds each, milliseconds of the
    /// thread's CPU time).
    @Flag(help: .hidden)
    var overhead = false

    /// With --overhead: run one part (`parse`, `run`, `dispatch`, `direct` or `boot`,
    /// `ScenarioOverhead.runPart`) and print nothing, for callgrind (`--toggle-collect` on
    /// the part's function gives its instructions) or `perf stat`.
    @Option(help: .hidden)
    var overheadPart: String?

    /// With --overhead-part: how many times (the package-benchmark's iterations, for
    /// per-round page faults and context switches under `perf stat`).
    @Option(help: .hidden)
    var overheadRounds = 1

    func validate() throws {
        try format.require(oneOf: [.text, .json, .jsonl])
        if !list && !overhead && files.isEmpty { throw ValidationError("name a scenario file or a bundled scenario (see --list)") }
    }

    func run() throws {
        if overhead, let part = overheadPart {
            guard (1...100_000).contains(overheadRounds) else { throw ValidationError("--overhead-rounds: 1 to 100000") }
            guard try ScenarioOverhead.runPart(part, rounds: overheadRounds) else {
                throw ValidationError("--overhead-part: parse, run, dispatch, direct or boot")
            }
            return
        }
        if overhead {
            let t = try ScenarioOverhead.measure(rounds: 11)
            let lines = Double(ScenarioOverhead.lines)
            emit(String(format: "parse %.1f ms (%.2f us/line)  run %.1f ms  direct %.1f ms  boot %.1f ms  dispatch %.2f us/line\n",
                        t.parse, t.parse * 1000 / lines, t.run, t.direct, t.boot, (t.run - t.direct) * 1000 / lines))
            return
        }
        if list {
            let scenarios = try ScenarioLibrary.all()
            let width = (scenarios.map(\.name.count).max() ?? 0) + 2
            emit(scenarios.map { $0.name.padding(toLength: width, withPad: " ", startingAt: 0) + $0.summary }.joined(separator: "\n") + "\n")
            return
        }
        let chosen = try CompareCommand.parseDesigns(designs)
        var scenarios: [Scenario] = []
        for file in files {
            do {
                scenarios.append(try ScenarioLibrary.load(file))
            } catch {
                FileHandle.standardError.write(Data("\(error.description)\n".utf8))
                throw ExitCode(2)
            }
        }
        let progress = isatty(STDERR_FILENO) != 0
        let matrix = ScenarioMatrix.run(scenarios, designs: chosen, trace: trace) { name, design in
            if progress { FileHandle.standardError.write(Data("\rrun: \(name) on \(design)\u{1b}[K".utf8)) }
        }
        if progress { FileHandle.standardError.write(Data("\r\u{1b}[K".utf8)) }
        if trace { emit(matrix.trace + "\n") }
        switch format {
        case .json: emit(matrix.json + "\n")
        case .jsonl: emit(matrix.jsonLines + "\n")
        default: emit(matrix.text + "\n")
        }
        if !matrix.passed { throw ExitCode(1) }
    }
}
