// The scenario language's overhead (issue 16): parsing the bundled library, and a
// 10,000-line generated scenario run against the same operations called from Swift
// directly. Both runs include the same 128 MiB machine's boot, so the difference is the
// parse and the dispatch.
import Benchmark
import PageLayout
import PageModel
import PageScenario

/// The generated scenario: 64 pages mapped, then 10,000 lines that write a byte to a
/// page, and every fourth a pin_user_pages_fast() of it followed by its unpin.
private enum Generated {
    static let lines = 10_000
    static let pages = 64

    /// (page, pin?) for each generated operation after the setup, in order.
    static var steps: [(page: Int, pin: Bool)] {
        var steps: [(Int, Bool)] = []
        var k = 0
        while steps.count < lines - 2 {
            let pin = k % 4 == 3
            steps.append((k % pages, pin))
            k += 1
        }
        return steps
    }

    static var text: String {
        var out = ["p = process", "a = mmap p \(pages)*PAGE"]
        for (page, pin) in steps {
            if pin {
                out.append("pins = pin_user_pages_fast p a+\(page)*PAGE 1 flags=write")
                out.append("unpin_user_pages pins")
            } else {
                out.append("write p a+\(page)*PAGE x\"01\"")
            }
        }
        return out.joined(separator: "\n")
    }

    /// The same operations, called directly.
    static func direct() throws {
        let machine = try Machine(ramBytes: 128 << 20)
        let process = try Process(machine: machine)
        let a = try process.mm.mmap(length: UInt64(pages) << 12, prot: [.read, .write], flags: [.private, .anonymous])
        for (page, pin) in steps {
            let at = a + UInt64(page) << 12
            if pin {
                let pinned = try process.pinUserPagesFast(start: at, nrPages: 1, flags: [.write])
                machine.unpinUserPages(pinned)
            } else {
                try process.write([1], at: at)
            }
        }
    }
}

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
    let text = Generated.text
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
            blackHole(try? Generated.direct())
        }
    }
}
