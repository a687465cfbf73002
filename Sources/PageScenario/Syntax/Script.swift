// A parsed scenario: what the parser hands the runner. Every node keeps its position.
import PageLayout
import PageModel

/// A name bound at run time (a process, file, GUP result, address or loop variable) with
/// the slot the parser gave it: the runner keeps values in an array indexed by slot, so
/// no line looks a name up while it runs.
public struct Ref: Sendable, Hashable {
    /// The name's `SourceNames` number: a Ref is plain integers, copied without reference
    /// counting; its text is looked up for messages only.
    let nameNumber: Int32
    /// The slot as 32 bits: a Ref is 8 bytes, so that `Expr.offset` stays small.
    private let slot32: Int32
    var slot: Int { Int(slot32) }
    public var name: String { SourceNames.name(nameNumber) }
    init(nameNumber: Int32, slot: Int) {
        self.nameNumber = nameNumber
        slot32 = Int32(truncatingIfNeeded: slot)
    }
}

/// An `Expr.offset`'s constant and where its parts are (the operator: the whole
/// expression's position, as a `.binary`'s; the name's and the constant's columns on
/// that line), packed in 20 bytes so that an `Expr` stays four words and copies inline
/// (a larger one is copied through its value witnesses). Columns are at most
/// `Lexer.maxLineLength + 1`, 13 bits; the constant fits in 51 bits (the parser
/// boxes a `.binary` otherwise).
public struct OffsetPositions: Sendable {
    /// The constant (high 51 bits) and its column (low 13 bits).
    private let valueAndColumn: UInt64
    private let fileNumber: Int32
    private let line32: Int32
    /// The operator's column (bits 0-12), the name's (13-25), `-` (bit 26).
    private let columns: UInt32

    static let columnBits = 13
    static let columnMask = (1 << columnBits) - 1

    /// nil when a column or the value does not fit (then the parser keeps a `.binary`).
    init?(op: SourcePosition, name: SourcePosition, value: Int64, valueColumn: Int, subtract: Bool) {
        let limit = Self.columnMask
        guard op.column <= limit, name.column <= limit, valueColumn <= limit, op.column >= 0, name.column >= 0, valueColumn >= 0,
              value >= -(1 << 50), value < 1 << 50 else { return nil }
        valueAndColumn = UInt64(bitPattern: value << Self.columnBits) | UInt64(valueColumn)
        fileNumber = op.fileNumber
        line32 = op.line32
        columns = UInt32(op.column) | UInt32(name.column) << Self.columnBits | (subtract ? 1 << 26 : 0)
    }

    var value: Int64 { Int64(bitPattern: valueAndColumn) >> Self.columnBits }
    var subtract: Bool { columns & (1 << 26) != 0 }
    var op: String { subtract ? "-" : "+" }
    private func at(_ column: Int) -> SourcePosition { SourcePosition(fileNumber: fileNumber, line: Int(line32), column: column) }
    var position: SourcePosition { at(Int(columns) & Self.columnMask) }
    var namePosition: SourcePosition { at(Int(columns >> UInt32(Self.columnBits)) & Self.columnMask) }
    var valuePosition: SourcePosition { at(Int(valueAndColumn) & Self.columnMask) }
}

/// A script file's UTF-8 bytes, shared by every line parsed from it.
final class ScriptText: Sendable {
    let bytes: [UInt8]
    init(bytes: [UInt8]) { self.bytes = bytes }
}

/// A line's source text, kept as a range of its file's bytes: made into a String only
/// when a report or trace shows it, not once per line while parsing.
struct SourceLine: Sendable {
    let script: ScriptText
    let range: Range<Int>
    init(_ script: ScriptText, _ range: Range<Int>) {
        self.script = script
        self.range = range
    }
    var text: String { String(decoding: script.bytes[range], as: UTF8.self) }
}

/// An expression of a script. Only the recursive cases are boxed: a number or a name
/// costs no allocation.
public enum Expr: Sendable {
    case int(Int64, SourcePosition)
    /// A loop variable or bound name (constants are folded to `.int`).
    case name(Ref, SourcePosition)
    indirect case binary(String, Expr, Expr, SourcePosition)
    case string(String, SourcePosition)
    case bytes([UInt8], SourcePosition)
    /// `fill(BYTE)`: every byte equal (expected values only).
    indirect case fill(Expr, SourcePosition)
    /// Words joined by `|` (`write|longterm`), already canonical.
    case words([String], SourcePosition)
    /// A flags argument's words with a bit per word (bit i: its `WordSet`'s word i), set
    /// when parsed: the runner tests bits (FOLL_*) instead of hashing each word per line.
    /// Only a parse's arguments hold it, and `Arguments[key]` shows it as its `.words`.
    case flagWords([String], mask: UInt64, SourcePosition)
    /// `NAME[i]`: page i of a GUP result.
    indirect case index(Ref, Expr, SourcePosition)
    /// `PROCESS@ADDRESS`: the page mapped there.
    indirect case at(Ref, Expr, SourcePosition)
    /// `NAME + N` or `NAME - N`, N folded to a constant (`a+3*PAGE`): the commonest
    /// address argument, kept unboxed (a `.binary` is an allocation per line, and its
    /// box was retained with every copy of the argument). Only a parse's arguments hold
    /// it, and `Arguments[key]` shows it as the `.binary` it stands for.
    case offset(Ref, OffsetPositions)

    /// The `.binary` an `.offset` stands for, the `.words` of `.flagWords`; any other
    /// expression as it is.
    var expanded: Expr {
        switch self {
        case .offset(let name, let at): .binary(at.op, .name(name, at.namePosition), .int(at.value, at.valuePosition), at.position)
        case .flagWords(let words, _, let position): .words(words, position)
        default: self
        }
    }

    /// The words of `.words` or `.flagWords` (nil: any other expression).
    var wordList: [String]? {
        switch self {
        case .words(let words, _), .flagWords(let words, _, _): words
        default: nil
        }
    }

    public var position: SourcePosition {
        switch self {
        case .int(_, let p), .name(_, let p), .binary(_, _, _, let p), .string(_, let p), .bytes(_, let p),
             .fill(_, let p), .words(_, let p), .flagWords(_, _, let p), .index(_, _, let p), .at(_, _, let p): p
        case .offset(_, let at): at.position
        }
    }
}

/// Every argument value of one parse, in one array: a line's arguments are a run of it,
/// so parsing a line allocates no array of its own (a profile showed the per-line
/// array's allocation, fill and free as ~600 instructions a line), and dropping a parsed
/// scenario frees one array instead of one per line. Appended to only while its parser
/// runs, read only after: hence `@unchecked Sendable`.
final class ArgumentStore: @unchecked Sendable {
    // Unchecked exclusivity: a class property's dynamic checks cost ~650 instructions a line.
    @exclusivity(unchecked) fileprivate(set) var values: [Expr] = []
    /// Room for `count` more values (a parse reserves by its line count: no regrowth).
    func reserve(_ count: Int) { values.reserveCapacity(values.count + count) }
}

/// An operation's or query's arguments, by parameter: positional ones then keywords, in
/// the signature's order, as a run of their parse's `ArgumentStore`. The values are not
/// optionals: copying an `Expr?` went through the runtime's generic Optional value
/// witness (a profile of the runner showed some 150 instructions per copy); `present`
/// has a bit per parameter given.
public struct Arguments: Sendable {
    /// The signature, for its parameters' keys. Unowned and unretained: every signature
    /// lives in the vocabulary's static tables (`Scenarios.operationList`, `queryList`)
    /// for the whole process, and a retain and release per copy of a line were a
    /// measurable part of dispatching it.
    unowned(unsafe) let signature: Signature
    let store: ArgumentStore
    /// Where the values start in `store`.
    let start: Int
    private(set) var present: UInt64 = 0

    /// Room for `signature`'s parameters at the end of `store` (the parser).
    init(_ signature: Signature, in store: ArgumentStore) {
        self.signature = signature
        self.store = store
        start = store.values.count
        for _ in 0..<signature.parameterKeys.count { store.values.append(.int(0, SourcePosition(fileNumber: -1, line: 0, column: 0))) }
    }

    /// Parameter `slot` was given.
    @inline(__always)
    func has(_ slot: Int) -> Bool { present & (1 << UInt64(slot)) != 0 }

    /// Sets parameter `slot` (the parser).
    mutating func set(_ slot: Int, _ value: Expr) {
        store.values[start + slot] = value
        present |= 1 << UInt64(slot)
    }

    /// Parameter `key`'s value, if given (an `.offset` shown as its `.binary`).
    public subscript(key: StaticString) -> Expr? { stored(key)?.expanded }

    /// Parameter `key`'s value as stored (`.offset` unboxed): what the runner reads.
    @inline(__always)
    func stored(_ key: StaticString) -> Expr? {
        guard let i = slot(key) else { return nil }
        return store.values[start + i]
    }

    /// The slot of parameter `key`, if given: its length and first 8 bytes compared as
    /// integers (a literal's bytes read in place), no String made or compared.
    @inline(__always)
    func slot(_ key: StaticString) -> Int? {
        let count = key.utf8CodeUnitCount
        let head = ParameterKey.head(key.utf8Start, count)
        let heads = signature.keyHeads
        for i in heads.indices where heads[i].count == count && heads[i].head == head {
            guard count <= 8 || signature.parameterKeys[i].name == key.description else { continue }
            return has(i) ? i : nil
        }
        return nil
    }
}

/// A parameter's name as the runner looks it up: its length and first 8 bytes packed.
struct ParameterKey: Sendable {
    let name: String
    let count: Int
    let head: UInt64

    init(_ name: String) {
        self.name = name
        let utf8 = Array(name.utf8)
        count = utf8.count
        head = utf8.withUnsafeBufferPointer { Self.head($0.baseAddress ?? UnsafePointer(bitPattern: 1)!, $0.count) }
    }

    @inline(__always)
    static func head(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> UInt64 {
        var head: UInt64 = 0
        for i in 0..<min(count, 8) { head |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        return head
    }
}

/// One operation line: `[NAME =] op ARG... [key=ARG...]`.
public struct Operation: Sendable {
    /// The operation, resolved when parsed: what the runner switches on.
    public let kind: OperationKind
    /// Unretained, as `Arguments.signature`: the vocabulary's tables keep it.
    public unowned(unsafe) let signature: Signature
    public let bind: Ref?
    public let arguments: Arguments
    public let position: SourcePosition
    let line: SourceLine
    /// The line as written (blanks trimmed).
    public var source: String { line.text }
}

/// An expectation: `expect QUERY (== | != | has | lacks) VALUE`, where VALUE may be
/// given per design (`mainline:1025 others:2`).
public struct Expectation: Sendable {
    public enum Comparison: String, Sendable { case equal = "==", notEqual = "!=", has, lacks }
    /// The query, resolved when parsed.
    public let kind: QueryKind
    /// Unretained, as `Arguments.signature`: the vocabulary's tables keep it.
    public unowned(unsafe) let query: Signature
    public let result: Scenarios.QueryResult
    public let arguments: Arguments
    public let comparison: Comparison
    public let byDesign: [Design: Expr]
    public let others: Expr?
    public let position: SourcePosition
    let line: SourceLine
    /// The line as written (blanks trimmed).
    public var source: String { line.text }

    /// The expected value for `design` (nil: the expectation does not apply to it).
    public func expected(for design: Design) -> Expr? { byDesign[design] ?? others }
}

public enum Statement: Sendable {
    case operation(Operation)
    case expectation(Expectation)
    /// `for NAME in FROM..<TO` ... `end`.
    indirect case loop(variable: Ref, from: Expr, to: Expr, body: [Statement], position: SourcePosition)
}

/// The machine a scenario runs on (one per design): the `machine` line.
public struct MachineSpec: Sendable, Equatable {
    public var ramBytes: UInt64 = 128 << 20
    public var nodes = 1
    public var thp: THPMode = .madvise
    /// /sys/kernel/mm/transparent_hugepage/use_zero_page (the kernel's default: 1).
    public var useZeroPage = true
    public var swapSlots = 0
    public var arch: Arch = .x86_64
    /// How vmalloc pages mapped to user space are kept alive (seed 004's options); nil:
    /// the design's default (page refcounts, scamem on the memdesc designs).
    public var vmalloc: VmallocTracking?
    /// CONFIG_DEVICE_PRIVATE=y in the arch's default kernel config (the HMM devices'
    /// private memory needs it; the default configs leave it off).
    public var devicePrivate = false
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
    /// How many run-time names (`Ref` slots) the statements use.
    let slotCount: Int

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
