// The design matrix: every scenario on a fresh machine of every design it names,
// expectations down, designs across.
import PageLayout

/// One scenario's runs.
public struct ScenarioResult: Sendable {
    public let scenario: Scenario
    /// One run per design the scenario applies to, in the matrix's design order.
    public let runs: [DesignRun]
    public var passed: Bool { runs.allSatisfy(\.passed) }

    /// One row per expectation line (and per operation whose error nobody expected), in
    /// the order first seen.
    public struct Row: Sendable {
        public let position: SourcePosition
        public let source: String
        /// Per design: nil (no value for it, or not reached), or the outcomes there.
        public let cells: [Design: [ExpectationOutcome]]
    }

    public var rows: [Row] {
        var order: [SourcePosition] = []
        var sources: [SourcePosition: String] = [:]
        for run in runs {
            for outcome in run.outcomes where sources[outcome.position] == nil {
                order.append(outcome.position)
                sources[outcome.position] = outcome.source
            }
        }
        return order.map { position in
            var cells: [Design: [ExpectationOutcome]] = [:]
            for run in runs {
                let mine = run.outcomes.filter { $0.position == position }
                if !mine.isEmpty { cells[run.design] = mine }
            }
            return Row(position: position, source: sources[position] ?? "", cells: cells)
        }
    }
}

/// Scenarios × designs.
public struct ScenarioMatrix: Sendable {
    public let designs: [Design]
    public let results: [ScenarioResult]
    public var passed: Bool { results.allSatisfy(\.passed) }

    /// Runs every scenario on every design of `designs` it applies to (in that order),
    /// each on a fresh machine. `progress` is told before each run.
    public static func run(_ scenarios: [Scenario], designs: [Design], trace: Bool = false,
                           progress: ((String, Design) -> Void)? = nil) -> ScenarioMatrix {
        let results = scenarios.map { scenario in
            ScenarioResult(scenario: scenario, runs: designs.filter(scenario.designs.contains).map { design in
                progress?(scenario.name, design)
                return ScenarioRunner.run(scenario, design: design, trace: trace)
            })
        }
        return ScenarioMatrix(designs: designs, results: results)
    }
}
