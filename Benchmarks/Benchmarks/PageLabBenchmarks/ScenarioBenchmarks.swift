// The scenario language's overhead (issue 16): parsing the bundled library, and a
// 10,000-line generated scenario against the same operations called from Swift directly
// (ScenarioOverhead, shared with `pagelab run --overhead`).
//
// Like for like: "parse" is the parse alone (the parsed scenario dropped in the
// iteration); "run the parsed scenario" and "called directly" each boot the same fresh
// 128 MiB machine per iteration, run the same operations and tear the machine down, the
// first from a scenario parsed once before the iterations, so their difference is the
// dispatch alone. Parse per line plus that difference per line is the issue's "parse and
// dispatch". The whole run (parse, boot, run) is measured too, as a user meets it; it is
// not used for the per-line figure: an iteration three times as long is preempted more
// often on a shared machine, so its wall-time percentiles are not comparable with the
// shorter ones' (the thread CPU and preemption metrics show it).
//
// Beside the wall clock, every overhead benchmark records per iteration the thread's CPU
// time (user and system, page faults included), its minor page faults and the times the
// scheduler preempted it (ThreadUsage): wall time minus thread CPU time is time spent
// waiting for a CPU, which measures the neighbours, not the code.
import Benchmark
import PageLayout
import PageModel
import PageScenario

func registerScenarioBenchmarks() {
    let library: [(name: String, path: String, text: String)] = ScenarioLibrary.names.compactMap { name in
        guard let directory = ScenarioLibrary.directory else { return nil }
        let path = directory + "/" + name + ".pls"
        return ScenarioLibrary.read(path).map { (name, path, $0) }
    }
    Benchmark("scenario: parse the bundled library (\(library.count) scenarios)") { benchmark in
        for _ in benchmark.scaledIterations {
            for entry in library {
                blackHole(try? ScenarioParser.parse(entry.text, name: entry.name, path: entry.path, load: ScenarioLibrary.read))
            }
        }
    }
    let text = ScenarioOverhead.text
    overheadBenchmark("scenario: parse a 10,000-line generated scenario", maxIterations: 200) {
        blackHole(try ScenarioOverhead.parse(text))
    }
    let parsed = try? ScenarioOverhead.parse(text)
    overheadBenchmark("scenario: run the parsed 10,000-line scenario (boot, dispatch, run)") {
        guard let parsed else { throw ScenarioBenchmarkError.unparsed }
        let run = ScenarioRunner.run(parsed, design: .mainline)
        guard run.error == nil else { throw ScenarioBenchmarkError.failed(run.error ?? "") }
        blackHole(run)
    }
    overheadBenchmark("scenario: the same operations called directly (boot, run)") {
        try ScenarioOverhead.direct()
    }
    overheadBenchmark("scenario: run the 10,000-line scenario (parse, boot, run)") {
        blackHole(ScenarioRunner.run(try ScenarioOverhead.parse(text), design: .mainline))
    }
}

private enum ScenarioBenchmarkError: Error { case unparsed, failed(String) }

/// The per-iteration metrics beside the wall clock: thread CPU time in µs, minor page
/// faults, involuntary context switches (preemptions), and mallocs.
private let threadCPU = BenchmarkMetric.custom("thread CPU (µs)", polarity: .prefersSmaller, useScalingFactor: false)
private let pageFaults = BenchmarkMetric.custom("minor page faults", polarity: .prefersSmaller, useScalingFactor: false)
private let preemptions = BenchmarkMetric.custom("preemptions", polarity: .prefersSmaller, useScalingFactor: false)

/// A scenario overhead benchmark: `body` once per iteration, its thread usage recorded.
private func overheadBenchmark(_ name: String, maxIterations: Int = 50, _ body: @escaping @Sendable () throws -> Void) {
    Benchmark(name, configuration: .init(metrics: [.wallClock, threadCPU, pageFaults, preemptions, .mallocCountTotal],
                                         maxIterations: maxIterations)) { benchmark in
        for _ in benchmark.scaledIterations {
            let start = ThreadUsage.now
            try body()
            let used = ThreadUsage.now.since(start)
            benchmark.measurement(threadCPU, used.cpuNanoseconds / 1000)
            benchmark.measurement(pageFaults, used.minorFaults)
            benchmark.measurement(preemptions, used.involuntarySwitches)
        }
    }
}
