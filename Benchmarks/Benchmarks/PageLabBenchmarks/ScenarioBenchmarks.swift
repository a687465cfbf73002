// The scenario language's overhead (issue 16): parsing the bundled library, and a
// 10,000-line generated scenario run against the same operations called from Swift
// directly (ScenarioOverhead, shared with `pagelab run --overhead`). Both runs include the
// same 128 MiB machine's boot, so the difference is the parse and the dispatch.
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
    Benchmark("scenario: parse a 10,000-line generated scenario", configuration: .init(maxIterations: 200)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try? ScenarioParser.parse(text, name: "generated", path: "generated.pls") { _ in nil })
        }
    }
    Benchmark("scenario: run the 10,000-line scenario (parse, boot, run)", configuration: .init(maxIterations: 50)) { benchmark in
        for _ in benchmark.scaledIterations {
            guard let scenario = try? ScenarioParser.parse(text, name: "generated", path: "generated.pls", load: { _ in nil }) else { continue }
            blackHole(ScenarioRunner.run(scenario, design: .mainline))
        }
    }
    Benchmark("scenario: the same operations called directly (boot, run)", configuration: .init(maxIterations: 50)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try? ScenarioOverhead.direct())
        }
    }
}
