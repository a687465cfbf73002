// The parser fuzzed: seeded random scripts from the vocabulary and mutations of the
// bundled library. Every case must end in a parsed scenario or a ScriptError whose
// position is inside the text; a thousand of the parsed ones run on a machine.
import Foundation
import TestSupport
import PageLayout
@testable import PageScenario
import Testing

@Suite struct ParserFuzzTests {
    static let words: [String] = Array(Scenarios.operations.keys) + Array(Scenarios.queries.keys) + [
        "expect", "const", "for", "in", "end", "include", "machine", "designs", "scenario", "p", "a", "pins", "f", "c", "N", "PAGE",
        "others", "mainline", "proxy", "flags=write|longterm", "dirty=true", "ram=256M", "==", "!=", "has", "lacks", "=", ":", ",", "|",
        "[", "]", "(", ")", "+", "-", "*", "@", "..<", "0", "1", "4096", "0x7fffffffffffffff", "99999999999999999999", "4K", "2M",
        "\"x\"", "x\"5a\"", "x\"5\"", "\"unterminated", "fill(0)", "EFAULT", "ok", "SIGSEGV", "#", "dontneed", "\u{00e9}", "\t",
    ]

    static func randomScript(_ rng: inout SplitMix64) -> String {
        (0..<Int.random(in: 1...8, using: &rng)).map { _ in
            (0..<Int.random(in: 1...10, using: &rng)).map { _ in words.randomElement(using: &rng)! }.joined(separator: " ")
        }.joined(separator: "\n")
    }

    static func mutate(_ text: String, _ rng: inout SplitMix64) -> String {
        var chars = Array(text.unicodeScalars)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        switch Int.random(in: 0..<6, using: &rng) {
        case 0 where !chars.isEmpty:   // delete a few characters
            let at = Int.random(in: 0..<chars.count, using: &rng)
            chars.removeSubrange(at..<min(chars.count, at + Int.random(in: 1...6, using: &rng)))
            return String(String.UnicodeScalarView(chars))
        case 1:   // insert a character
            let pool = Array("=:|[]()+-*@.<\"x#0123456789abcdefgKMGT \t\n_\u{00e9}\u{1F600}".unicodeScalars)
            chars.insert(pool.randomElement(using: &rng)!, at: Int.random(in: 0...chars.count, using: &rng))
            return String(String.UnicodeScalarView(chars))
        case 2 where lines.count > 1:   // swap two lines
            lines.swapAt(Int.random(in: 0..<lines.count, using: &rng), Int.random(in: 0..<lines.count, using: &rng))
        case 3 where lines.count > 1:   // drop a line
            lines.remove(at: Int.random(in: 0..<lines.count, using: &rng))
        case 4:   // a vocabulary word somewhere
            let i = Int.random(in: 0..<lines.count, using: &rng)
            lines[i] += " " + words.randomElement(using: &rng)!
        default:   // duplicate a line
            let i = Int.random(in: 0..<lines.count, using: &rng)
            lines.insert(lines[i], at: i)
        }
        return lines.joined(separator: "\n")
    }

    @Test func randomAndMutatedScriptsParseOrFailAtAPosition() throws {
        let directory = try #require(ScenarioLibrary.directory)
        let library = ScenarioLibrary.names.compactMap { ScenarioLibrary.read(directory + "/" + $0 + ".pls") }
        #expect(library.count >= 14)
        var rng = SplitMix64(state: 0x5eed_0016)
        var parsed: [Scenario] = []
        var errors = 0
        let cases = 100_000
        for n in 0..<cases {
            var text: String
            if n % 2 == 0 {
                text = Self.randomScript(&rng)
            } else {
                text = library.randomElement(using: &rng)!
                for _ in 0..<Int.random(in: 1...4, using: &rng) { text = Self.mutate(text, &rng) }
            }
            let path = directory + "/fuzz.pls"
            do {
                let scenario = try ScenarioParser.parse(text, name: "fuzz", path: path, load: ScenarioLibrary.read)
                if n % 10 == 1 { parsed.append(scenario) }
            } catch {
                errors += 1
                let lineCount = text.split(separator: "\n", omittingEmptySubsequences: false).count
                let p = error.position
                let ok = p.line >= 1 && p.column >= 1 && (p.file != path || p.line <= lineCount)
                    && error.description.hasPrefix("\(p.file):\(p.line):\(p.column): error: ")
                if !ok { Issue.record("case \(n): badly positioned error \(error.description) for:\n\(text)") }
            }
        }
        #expect(errors > 0 && errors < cases)
        // A thousand of the scripts that parsed run on a machine, each design in turn: every
        // run ends clean, in failed expectations, or stopped at a position (a run error);
        // none traps or hangs (the step budget bounds every loop). The machine is the
        // smallest the scenario's architecture boots (one memory section per node), so a
        // mutated script easily asks for more than it has. The runs are independent
        // machines: they run on every core.
        #expect(parsed.count >= Self.machineRuns)
        let sample = Array(parsed.prefix(Self.machineRuns))
        // Per run: whether it saw ENOMEM, and its stop when that was not positioned.
        var results = [(outOfMemory: Bool, badStop: String?)](repeating: (false, nil), count: sample.count)
        results.withUnsafeMutableBufferPointer { buffer in
            nonisolated(unsafe) let results = buffer
            DispatchQueue.concurrentPerform(iterations: sample.count) { k in
                let design = Design.allCases[k % Design.allCases.count]
                let run = ScenarioRunner.run(Self.onTheSmallestMachine(sample[k]), design: design, stepBudget: 2_000)
                let badStop = run.error.flatMap { Self.isPositioned($0) ? nil : "run \(k) on \(design): unpositioned stop '\($0)'" }
                results[k] = (run.outcomes.contains { $0.actual == "ENOMEM" }, badStop)
            }
        }
        for case let (_, badStop?) in results { Issue.record(Comment(rawValue: badStop)) }
        // Some of them ask for more than the small machine has: the model's ENOMEM, an
        // errno a script can expect, not the host's.
        #expect(results.contains { $0.outOfMemory })
    }

    /// How many of the parsed fuzz scripts run on a machine.
    static let machineRuns = 1_000

    /// `scenario` on one section of RAM per node (128 MiB on x86_64), two nodes at most.
    static func onTheSmallestMachine(_ scenario: Scenario) -> Scenario {
        var machine = scenario.machine
        machine.nodes = min(machine.nodes, 2)
        machine.ramBytes = UInt64(machine.nodes) << machine.arch.sectionSizeBits
        return Scenario(name: scenario.name, summary: scenario.summary, designs: scenario.designs, machine: machine,
                        statements: scenario.statements, path: scenario.path, slotCount: scenario.slotCount)
    }

    /// A run stopped at `FILE:LINE:COLUMN: ` (a run error), or before the first line
    /// by the machine it asked for.
    static func isPositioned(_ error: String) -> Bool {
        if error.hasPrefix("machine: ") || error.hasPrefix("swapon: ") { return true }
        let fields = error.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
        return fields.count == 4 && Int(fields[1]).map { $0 >= 1 } == true && Int(fields[2]).map { $0 >= 1 } == true
    }

    /// A script that asks for more memory than the machine has gets the model's ENOMEM:
    /// from the fault path (a touch of 1 GiB on 128 MiB) and from vmalloc() (NULL, the
    /// driver's -ENOMEM).
    @Test func moreMemoryThanTheMachineHasIsENOMEM() throws {
        let scenario = try parse("""
            machine ram=128M
            p = process
            big = mmap p 1G
            touch p big 1G write=true
            expect errno == ENOMEM
            k = vmalloc 1G
            expect errno == ENOMEM
            """)
        let run = ScenarioRunner.run(scenario, design: .mainline)
        #expect(run.error == nil)
        #expect(run.outcomes.map(\.passed) == [true, true])
    }
}
