// A parsed scenario: what the parser hands the runner. Every node keeps its position.
import PageLayout
import PageModel

/// An expression of a script.
public indirect enum Expr: Sendable {
    case int(Int64, SourcePosition)
    /// A constant, loop variable or bound name.
    case name(String, SourcePosition)
    case binary(String, Expr, Expr, SourcePosition)
    case string(String, SourcePosition)
    case bytes([UInt8], SourcePosition)
    /// `fill(BYTE)`: every byte equal (expected values only).
    case fill(Expr, SourcePosition)
    /// Words joined by `|` (`write|longterm`), already canonical.
    case words([String], SourcePosition)
    /// `NAME[i]`: page i of a GUP result.
    case index(String, Expr, SourcePosition)
    /// `PROCESS@ADDRESS`: the page mapped there.
    case at(String, Expr, SourcePosition)

    public var position: SourcePosition {
        switch self {
        case .int(_, let p), .name(_, let p), .binary(_, _, _, let p), .string(_, let p), .bytes(_, let p),
             .fill(_, let p), .words(_, let p), .index(_, _, let p), .at(_, _, let p): p
        }
    }
}

/// One operation line: `[NAME =] op ARG... [key=ARG...]`.
public struct Operation: Sendable {
    public let signature: Signature
    public let bind: String?
    public let arguments: [String: Expr]
    public let position: SourcePosition
    public let source: String
}

/// An expectation: `expect QUERY (== | != | has | lacks) VALUE`, where VALUE may be
/// given per design (`mainline:1025 others:2`).
public struct Expectation: Sendable {
    public enum Comparison: String, Sendable { case equal = "==", notEqual = "!=", has, lacks }
    public let query: Signature
    public let result: Scenarios.QueryResult
    public let arguments: [String: Expr]
    public let comparison: Comparison
    public let byDesign: [Design: Expr]
    public let others: Expr?
    public let position: SourcePosition
    public let source: String

    /// The expected value for `design` (nil: the expectation does not apply to it).
    public func expected(for design: Design) -> Expr? { byDesign[design] ?? others }
}

public indirect enum Statement: Sendable {
    case operation(Operation)
    case expectation(Expectation)
    /// `for NAME in FROM..<TO` ... `end`.
    case loop(variable: String, from: Expr, to: Expr, body: [Statement], position: SourcePosition)
}

/// The machine a scenario runs on (one per design): the `machine` line.
public struct MachineSpec: Sendable, Equatable {
    public var ramBytes: UInt64 = 128 << 20
    public var nodes = 1
    public var thp: THPMode = .madvise
    public var swapSlots = 0
    public var arch: Arch = .x86_64
    public init() {}
}

/// A whole scenario.
public struct Scenario: Sendable {
    /// The file name without its extension (or the bundled name).
    public let name: String
    /// The `scenario "..."` line's text.
    public let summary: String
    /// The `designs` line; all designs when absent.
    public let designs: [Design]
    public let machine: MachineSpec
    public let statements: [Statement]
    public let path: String

    /// Every expectation, in order (loops' once each).
    public var expectations: [Expectation] {
        func collect(_ list: [Statement]) -> [Expectation] {
            list.flatMap { statement -> [Expectation] in
                switch statement {
                case .expectation(let e): [e]
                case .operation: []
                case .loop(_, _, _, let body, _): collect(body)
                }
            }
        }
        return collect(statements)
    }
}
