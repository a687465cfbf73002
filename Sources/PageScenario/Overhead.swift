// The scenario language's overhead (issue 16's speed target: parse and dispatch under
// 1 µs per line): a 10,000-line generated scenario and the same operations called from
// Swift directly. The benchmark target and `pagelab run --overhead` (hidden) share it.
import PageModel

public enum ScenarioOverhead {
    public static let lines = 10_000
    static let pages = 64

    /// (page, pin?) for each generated operation after the setup, in order: a one-byte
    /// write to a page (one line), and every fourth a pin_user_pages_fast() of it and its
    /// unpin (two lines), until the scenario has exactly `lines` lines, so that a figure
    /// per line is per line of the file.
    static var steps: [(page: Int, pin: Bool)] {
        var steps: [(Int, Bool)] = []
        var k = 0
        var count = 2  // the setup's process and mmap lines
        while count < lines {
            let pin = k % 4 == 3 && count + 2 <= lines
            steps.append((k % pages, pin))
            count += pin ? 2 : 1
            k += 1
        }
        return steps
    }

    /// The generated scenario: 64 pages mapped, then the steps.
    public static var text: String {
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

    @inline(never)  // its own symbol, for callgrind --toggle-collect
    public static func parse(_ text: String) throws(ScriptError) -> Scenario {
        try ScenarioParser.parse(text, name: "generated", path: "generated.pls") { _ in nil }
    }

    /// The same operations, called directly, on the machine the scenario gets.
    public static func direct() throws {
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

    /// Median milliseconds of `rounds` runs of parse, of run (the parsed scenario on a
    /// fresh machine, boot included), of the direct calls and of a bare machine boot.
    /// CPU time of the calling thread, not wall time: on a machine shared with other
    /// work, wall time measures the neighbours.
    public static func measure(rounds: Int) throws -> (parse: Double, run: Double, direct: Double, boot: Double) {
        let text = self.text
        func median(_ body: () throws -> Void) rethrows -> Double {
            var times: [Double] = []
            for _ in 0..<max(1, rounds) {
                let start = ThreadUsage.now
                try body()
                times.append(Double(ThreadUsage.now.since(start).cpuNanoseconds) / 1e6)
            }
            return times.sorted()[times.count / 2]
        }
        let parse = try median { _ = try self.parse(text) }
        let scenario = try self.parse(text)
        let run = median { _ = ScenarioRunner.run(scenario, design: .mainline) }
        let direct = try median { try self.direct() }
        let boot = try median { _ = try Machine(ramBytes: 128 << 20) }
        return (parse, run, direct, boot)
    }

    /// One part, `rounds` times, for an instruction count under callgrind or `perf stat`
    /// (page faults, context switches, task clock per round): `parse` (the text made,
    /// then parsed each round), `run` (parsed and run on mainline each round, as the
    /// package-benchmark's whole-run benchmark does), `dispatch` (parsed once, then run
    /// each round on a fresh machine), `direct` or `boot` (a bare machine's boot and
    /// teardown). False for an unknown part. Only `parse`, `run` and `dispatch` make the
    /// text, so that `--toggle-collect` on `ScenarioOverhead.runPart` counts `direct` and
    /// `boot` alone.
    public static func runPart(_ part: String, rounds: Int = 1) throws -> Bool {
        let body: () throws -> Void
        switch part {
        case "parse":
            let text = self.text
            body = { _ = try parse(text) }
        case "run":
            let text = self.text
            body = { _ = ScenarioRunner.run(try parse(text), design: .mainline) }
        case "dispatch":
            let scenario = try parse(self.text)
            body = { _ = ScenarioRunner.run(scenario, design: .mainline) }
        case "direct": body = { try direct() }
        case "boot": body = { _ = try Machine(ramBytes: 128 << 20) }
        default: return false
        }
        for _ in 0..<max(1, rounds) { try body() }
        return true
    }
}
