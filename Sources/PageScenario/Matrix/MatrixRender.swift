// The matrix as text (people), JSON (one document) and JSON Lines (one row per scenario,
// design and expectation, for DuckDB, Spark or jq). Keys are documented in the README.
import Foundation
import PageLayout

extension ScenarioMatrix {
    /// Text: per scenario a PASS/FAIL line per design, then one line per expectation with
    /// `ok`, the value seen where it failed, or `-` where it gives no value for the design.
    public var text: String {
        let width = 14
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? String(s.prefix(n - 1)) + " " : s + String(repeating: " ", count: n - s.count) }
        let labelWidth = 52
        var lines = [pad("scenario / expectation", labelWidth) + designs.map { pad($0.rawValue, max(width, $0.rawValue.count + 1)) }.joined()]
        func cells(_ values: [Design: String]) -> String {
            designs.map { pad(values[$0] ?? "-", max(width, $0.rawValue.count + 1)) }.joined()
        }
        for result in results {
            var status: [Design: String] = [:]
            for run in result.runs { status[run.design] = run.passed ? "PASS" : "FAIL" }
            lines.append(pad(result.scenario.name, labelWidth) + cells(status))
            for row in result.rows {
                var values: [Design: String] = [:]
                for (design, outcomes) in row.cells {
                    values[design] = outcomes.first { !$0.passed }.map { "✗ " + $0.actual } ?? "ok"
                }
                lines.append(pad("  \(row.position.line): \(row.source)", labelWidth) + cells(values))
            }
            for run in result.runs {
                if let error = run.error { lines.append("  \(run.design): stopped: \(error)") }
            }
        }
        let failed = results.flatMap(\.runs).filter { !$0.passed }.count
        let total = results.flatMap(\.runs).count
        lines.append("")
        lines.append("\(results.count) scenarios, \(total) runs, \(failed) failed")
        for result in results {
            for run in result.runs {
                for outcome in run.outcomes where !outcome.passed {
                    lines.append("\(outcome.position): \(run.design): expected \(outcome.expected), got \(outcome.actual): \(outcome.source)")
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    struct JSONExpectation: Codable {
        let file: String, line: Int, column: Int, expectation: String, expected: String, actual: String, passed: Bool
    }
    struct JSONRun: Codable {
        let design: String, passed: Bool, error: String?, expectations: [JSONExpectation]
    }
    struct JSONScenario: Codable {
        let name: String, summary: String, path: String, passed: Bool, runs: [JSONRun]
    }
    struct JSONMatrix: Codable {
        let designs: [String], passed: Bool, scenarios: [JSONScenario]
    }
    struct JSONLine: Codable {
        let scenario: String, design: String, file: String?, line: Int?, column: Int?
        let expectation: String?, expected: String?, actual: String?, passed: Bool, error: String?
    }

    static func json(_ outcome: ExpectationOutcome) -> JSONExpectation {
        JSONExpectation(file: outcome.position.file, line: outcome.position.line, column: outcome.position.column,
                        expectation: outcome.source, expected: outcome.expected, actual: outcome.actual, passed: outcome.passed)
    }

    /// One JSON document: designs, and per scenario per design every expectation's
    /// expected and actual value.
    public var json: String {
        let document = JSONMatrix(designs: designs.map(\.rawValue), passed: passed, scenarios: results.map { result in
            JSONScenario(name: result.scenario.name, summary: result.scenario.summary, path: result.scenario.path, passed: result.passed,
                         runs: result.runs.map { run in
                             JSONRun(design: run.design.rawValue, passed: run.passed, error: run.error, expectations: run.outcomes.map(Self.json))
                         })
        })
        return Self.encode(document, pretty: true)
    }

    /// JSON Lines: one object per (scenario, design, expectation); a run that stopped
    /// adds one row with `error` set and no expectation.
    public var jsonLines: String {
        var lines: [String] = []
        for result in results {
            for run in result.runs {
                for o in run.outcomes {
                    lines.append(Self.encode(JSONLine(scenario: result.scenario.name, design: run.design.rawValue, file: o.position.file,
                                                      line: o.position.line, column: o.position.column, expectation: o.source,
                                                      expected: o.expected, actual: o.actual, passed: o.passed, error: nil), pretty: false))
                }
                if let error = run.error {
                    lines.append(Self.encode(JSONLine(scenario: result.scenario.name, design: run.design.rawValue, file: nil, line: nil, column: nil,
                                                      expectation: nil, expected: nil, actual: nil, passed: false, error: error), pretty: false))
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The `--trace` text of every run.
    public var trace: String {
        results.flatMap { result in
            result.runs.flatMap { run in ["== \(result.scenario.name) on \(run.design)"] + run.trace }
        }.joined(separator: "\n")
    }

    static func encode<T: Encodable>(_ value: T, pretty: Bool) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}
