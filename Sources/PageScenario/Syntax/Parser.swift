// The scenario parser: a whole script, its includes and loops, checked against the
// vocabulary before anything runs. Any problem is a ScriptError at FILE:LINE:COLUMN.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PageLayout
import PageModel

/// Parses scenarios. `load` reads an included file (a path relative to the including
/// file's directory); it returns nil for a file that cannot be read.
public struct ScenarioParser {
    /// What a name stands for while parsing.
    enum Symbol: Equatable {
        case constant(Int64)
        /// A loop variable or an address bound by mmap/mremap: an integer known when run.
        case integer
        case process, file, pins, device, migration
    }

    /// A name's symbol and, for a run-time name, its `Ref` slot (-1 for a constant):
    /// one dictionary lookup per name gives both.
    struct Binding {
        let symbol: Symbol
        var slot = -1
        /// A run-time name's `SourceNames` number (its `Ref`'s).
        var nameNumber: Int32 = -1
    }

    public typealias Loader = @Sendable (_ path: String) -> String?

    static let maxIncludeDepth = 8
    static let maxLines = 100_000
    static let maxLoopDepth = 8
    static let maxRAM: Int64 = 4 << 30
    static let knownOperations = Scenarios.operations.keys.sorted().joined(separator: ", ")
    static let knownQueries = Scenarios.queries.keys.sorted().joined(separator: ", ")
    static let knownDesigns = Design.allCases.map(\.rawValue).joined(separator: ", ")
    /// The operations (and their aliases) and the queries, as the parser looks them up
    /// (one cheap hash a line).
    static let operationTable = NameTable<(kind: OperationKind, signature: Signature)>(
        Scenarios.operationList.map { ($0.signature.name, ($0.kind, $0.signature)) }
            + Scenarios.aliases.compactMap { alias in Scenarios.operationList.first { $0.kind == alias.1 }.map { (alias.0, ($0.kind, $0.signature)) } })
    static let queryTable = NameTable<(kind: QueryKind, signature: Signature, result: Scenarios.QueryResult)>(
        Scenarios.queryList.map { ($0.signature.name, ($0.kind, $0.signature, $0.result)) })

    /// The statement keywords, the operations (aliases included), the queries and the
    /// predefined constants are numbered first in every parser's `Interner`, keywords
    /// first: a name token's number below `keywords.count` is a keyword. (An operation
    /// and a query may share a name, `file`: one number, an entry in both tables.)
    static let keywords = Keyword.allCases.map { "\($0)" }
    enum Keyword: Int32, CaseIterable { case scenario, designs, machine, const, include, `for`, end, expect }
    static let constants: [(String, Int64)] = [("PAGE", 4096), ("HPAGE", 2 << 20)]
    /// The operations' keyword parameters (`flags`, `prot`, ...), numbered in `seed` too:
    /// a `key=` is found by its token's number, no String made or compared.
    static let keywordParameters = Set(Scenarios.operationList.flatMap { $0.signature.keywords.map(\.name) }).sorted()
    static let seed = Interner(seed: keywords + operationTable.names.map(\.0) + queryTable.names.map(\.0) + constants.map(\.0) + keywordParameters)
    /// Every operation's keyword parameters' `seed` numbers, in its signature's order, one
    /// run per operation (`operationByID`'s `keywordIDs`).
    static let keywordIDTable: [Int32] = {
        var interner = seed
        return operationTable.names.flatMap { entry in
            entry.1.signature.keywords.map { keyword in
                let utf8 = Array(keyword.name.utf8)
                return Int32(interner.intern(utf8, 0..<utf8.count))
            }
        }
    }()
    /// By `Interner` number: each operation's, query's and constant's entry (an
    /// operation's with where its keywords' numbers start in `keywordIDTable`).
    static let operationByID: [(kind: OperationKind, signature: Signature, keywordIDs: Int)?] = {
        var start = 0
        return byID(operationTable.names.map { entry in
            defer { start += entry.1.signature.keywords.count }
            return (entry.0, (entry.1.kind, entry.1.signature, start))
        })
    }()
    static let queryByID = byID(queryTable.names)
    static let constantByID = byID(constants.map { ($0.0, $0.1) })

    /// `entries` by the number `seed` gives each name.
    static func byID<Value>(_ entries: [(String, Value)]) -> [Value?] {
        var interner = seed
        var table = [Value?](repeating: nil, count: seed.count)
        for (name, value) in entries {
            let utf8 = Array(name.utf8)
            table[interner.intern(utf8, 0..<utf8.count)] = value
        }
        return table
    }

    let load: Loader
    /// The names (an `Interner` seeded with `seed`) and the strings' and bytes' contents
    /// of every file parsed, by number.
    let lexicon = Lexicon(interner: Self.seed)
    /// A line's tokens, the buffer reused for every line (an include's lines too: the
    /// including line is done with its tokens when it includes).
    let tokens = TokenBuffer()
    /// Every line's argument values.
    let arguments = ArgumentStore()
    /// What each name stands for, by its `Interner` number.
    var symbols = Symbols()
    var summary = ""
    var designs: [Design]? = nil
    var machine = MachineSpec()
    var machineSeen = false
    var operationsSeen = false
    var includeStack: [String] = []
    /// Run-time names' slots given so far (`Ref`).
    var slotCount = 0
    var lineCount = 0

    public init(load: @escaping Loader) {
        self.load = load
        for (id, value) in Self.constantByID.enumerated() { if let value { symbols[id] = Binding(symbol: .constant(value)) } }
    }

    /// Bindings by name number: an array, grown as names appear.
    struct Symbols {
        private var table: [Binding?] = []
        subscript(id: Int) -> Binding? {
            get { id >= 0 && id < table.count ? table[id] : nil }
            set {
                guard id >= 0 else { return }
                while table.count <= id { table.append(nil) }
                table[id] = newValue
            }
        }
    }

    /// Parses `text` as the scenario `name` read from `path`.
    public static func parse(_ text: String, name: String, path: String, load: @escaping Loader) throws(ScriptError) -> Scenario {
        var parser = ScenarioParser(load: load)
        parser.includeStack = [path]
        var blocks: [(variable: Ref, from: Expr, to: Expr, body: [Statement], position: SourcePosition, shadowed: Binding?)] = []
        var top: [Statement] = []
        try parser.parseFile(text, path: path, top: &top, blocks: &blocks)
        if let open = blocks.last { throw ScriptError(open.position, "'for' without 'end'") }
        return Scenario(name: name, summary: parser.summary, designs: parser.designs ?? Design.allCases,
                        machine: parser.machine, statements: top, path: path, slotCount: parser.slotCount)
    }

    mutating func parseFile(
        _ text: String, path: String, top: inout [Statement],
        blocks: inout [(variable: Ref, from: Expr, to: Expr, body: [Statement], position: SourcePosition, shadowed: Binding?)]
    ) throws(ScriptError) {
        // The script as UTF-8 bytes, split at '\n' (a '\r' before it is whitespace).
        let script = ScriptText(bytes: Array(text.utf8))
        let bytes = script.bytes
        let file = SourceNames.number(path)
        if top.isEmpty {
            // A statement per line at most: no regrowth while parsing a long script.
            // Counted by memchr (`lineEnd`): a loop over every byte was ~150 instructions a line.
            var lines = 1, at = 0
            while case let end = Self.lineEnd(bytes, from: at), end < bytes.count, lines < Self.maxLines {
                lines += 1
                at = end + 1
            }
            top.reserveCapacity(min(lines, Self.maxLines))
            arguments.reserve(min(lines, Self.maxLines) * 4)
        }
        var lineNumber = 0
        var lineStart = 0
        var cursor = Cursor(tokens: tokens, lexicon: lexicon, file: file, source: SourceLine(script, 0..<0))
        while lineStart <= bytes.count {
            let lineEnd = Self.lineEnd(bytes, from: lineStart)
            defer { lineStart = lineEnd + 1 }
            lineNumber += 1
            lineCount += 1
            if lineCount > Self.maxLines { throw ScriptError(SourcePosition(fileNumber: file, line: lineNumber, column: 1), "more than \(Self.maxLines) lines") }
            tokens.removeAll()
            try Lexer.tokens(bytes, lineStart..<lineEnd, file: file, lineNumber: lineNumber, interner: &lexicon.interner, into: tokens,
                             literals: &lexicon.literals)
            guard !tokens.isEmpty else { continue }
            cursor.startLine(lineNumber, source: SourceLine(script, Self.trimmed(bytes, lineStart..<lineEnd)))
            // Consumed: the statement moves into the list instead of being copied (a
            // copy retained every field of the line's operation).
            func append(_ statement: consuming Statement) {
                if blocks.isEmpty { top.append(statement) } else { blocks[blocks.count - 1].body.append(statement) }
            }
            guard tokens[0].kind == .name else { throw cursor.error(at: 0, "expected an operation, 'expect', 'const', 'for', 'end' or 'include'") }
            // Keywords are the interner's first numbers: the keyword by number, no String compared.
            switch Keyword(rawValue: tokens[0].id) {
            case .scenario:
                cursor.index = 1
                summary = try cursor.string("a \"summary\" after 'scenario'")
                try cursor.end()
            case .designs:
                guard !operationsSeen else { throw cursor.error(at: 0, "'designs' must come before the first operation") }
                cursor.index = 1
                var list: [Design] = []
                repeat {
                    let (word, column) = try cursor.name("a design name")
                    guard let design = Design(rawValue: word) else {
                        throw cursor.error(column: column, "unknown design '\(word)' (known: \(Self.knownDesigns))")
                    }
                    if !list.contains(design) { list.append(design) }
                } while cursor.take(",")
                try cursor.end()
                designs = list
            case .machine:
                guard !operationsSeen, !machineSeen else { throw cursor.error(at: 0, "'machine' must come once, before the first operation") }
                machineSeen = true
                cursor.index = 1
                try parseMachine(&cursor)
            case .const:
                cursor.index = 1
                let (name, column, id) = try cursor.nameID("a constant name")
                try checkFresh(name, id, column: column, cursor)
                try cursor.expect("=")
                let expr = try parseInt(&cursor)
                try cursor.end()
                symbols[id] = Binding(symbol: .constant(try constantValue(expr)))
            case .include:
                cursor.index = 1
                let file = try cursor.string("a \"file\" to include")
                try cursor.end()
                guard includeStack.count < Self.maxIncludeDepth else { throw cursor.error(at: 1, "includes nested more than \(Self.maxIncludeDepth) deep") }
                let resolved = Self.resolve(file, from: path)
                guard !includeStack.contains(resolved) else { throw cursor.error(at: 1, "'\(file)' includes itself") }
                guard let included = load(resolved) else { throw cursor.error(at: 1, "cannot read '\(file)' (looked for \(resolved))") }
                includeStack.append(resolved)
                let savedLines = lineCount
                try parseFile(included, path: resolved, top: &top, blocks: &blocks)
                _ = savedLines
                includeStack.removeLast()
            case .for:
                guard blocks.count < Self.maxLoopDepth else { throw cursor.error(at: 0, "loops nested more than \(Self.maxLoopDepth) deep") }
                cursor.index = 1
                let (name, column, id) = try cursor.nameID("a loop variable")
                if case .constant? = symbols[id]?.symbol { throw cursor.error(column: column, "'\(name)' is a constant") }
                try cursor.expectName("in")
                let from = try parseInt(&cursor)
                try cursor.expect("..<")
                let to = try parseInt(&cursor)
                try cursor.end()
                let shadowed = symbols[id]
                blocks.append((define(id, .integer), from, to, [], cursor.position(0), shadowed))
                operationsSeen = true
            case .end:
                cursor.index = 1
                try cursor.end()
                guard let block = blocks.popLast() else { throw cursor.error(at: 0, "'end' without 'for'") }
                let variable = Array(block.variable.name.utf8)
                symbols[lexicon.interner.intern(variable, 0..<variable.count)] = block.shadowed
                append(.loop(variable: block.variable, from: block.from, to: block.to, body: block.body, position: block.position))
            case .expect:
                operationsSeen = true
                cursor.index = 1
                append(.expectation(try parseExpectation(&cursor)))
            default:
                operationsSeen = true
                append(.operation(try parseOperation(&cursor)))
            }
        }
    }

    /// A path relative to the including file's directory (absolute paths stay).
    static func resolve(_ file: String, from path: String) -> String {
        if file.hasPrefix("/") { return file }
        guard let slash = path.lastIndex(of: "/") else { return file }
        return String(path[...slash]) + file
    }

    mutating func parseMachine(_ cursor: inout Cursor) throws(ScriptError) {
        while !cursor.atEnd {
            let (key, column) = try cursor.name("a machine setting (ram=, nodes=, thp=, use_zero_page=, swap=, arch=, vmalloc=, device_private=)")
            try cursor.expect("=")
            switch key {
            case "ram":
                let value = try constantValue(try parseInt(&cursor))
                guard value > 0, value <= Self.maxRAM else { throw cursor.error(column: column, "ram must be positive and at most 4G (the model boots every struct page)") }
                machine.ramBytes = UInt64(value)
            case "nodes":
                let value = try constantValue(try parseInt(&cursor))
                guard (1...64).contains(value) else { throw cursor.error(column: column, "nodes must be 1 to 64") }
                machine.nodes = Int(value)
            case "swap":
                let value = try constantValue(try parseInt(&cursor))
                guard (0...(1 << 24)).contains(value) else { throw cursor.error(column: column, "swap must be 0 to 16777216 slots") }
                machine.swapSlots = Int(value)
            case "thp":
                let word = try parseWord(&cursor, .thp)
                machine.thp = THPMode(rawValue: word) ?? .madvise
            case "use_zero_page":
                let value = try constantValue(try parseInt(&cursor))
                guard value == 0 || value == 1 else { throw cursor.error(column: column, "use_zero_page must be 0 or 1") }
                machine.useZeroPage = value == 1
            case "arch":
                let (word, archColumn) = try cursor.name("an architecture")
                guard let arch = Arch(rawValue: word) else {
                    throw cursor.error(column: archColumn, "unknown arch '\(word)' (known: \(Arch.allCases.map(\.rawValue).joined(separator: ", ")))")
                }
                machine.arch = arch
            case "device_private":
                if case .words(let value, _) = try parseBool(&cursor) { machine.devicePrivate = value.first == "true" }
            case "vmalloc":
                machine.vmalloc = VmallocTracking(rawValue: try parseWord(&cursor, .vmallocTracking))
            default:
                throw cursor.error(column: column, "unknown machine setting '\(key)' (known: ram, nodes, thp, use_zero_page, swap, arch, vmalloc, device_private)")
            }
        }
    }

    mutating func parseOperation(_ cursor: inout Cursor) throws(ScriptError) -> Operation {
        // The bound name's token (its text is made only for a message).
        var bind: Token? = nil
        if cursor.tokens.count > 1, cursor.isPunct(1, "="), cursor.tokens[0].kind == .name {
            bind = cursor.tokens[0]
            cursor.index = 2
        }
        // The name's text is made only for a message.
        let token = try cursor.nameToken("an operation")
        let id = Int(token.id)
        guard id >= 0, id < Self.operationByID.count, let (kind, signature, keywordIDs) = Self.operationByID[id] else {
            throw cursor.error(column: token.column, "unknown operation '\(cursor.text(token))' (known: \(Self.knownOperations))")
        }
        let arguments = try parseArguments(&cursor, signature, keywordIDs: keywordIDs)
        var bound: Ref? = nil
        if let bind {
            let column = bind.column, id = Int(bind.id)
            var name: String { cursor.text(bind) }
            guard let result = signature.result else { throw cursor.error(column: column, "'\(signature.name)' yields nothing to bind to '\(name)'") }
            if case .constant? = symbols[id]?.symbol { throw cursor.error(column: column, "'\(name)' is a constant") }
            let symbol: Symbol = switch result {
            case .process: .process
            case .file: .file
            case .pins: .pins
            case .device: .device
            case .migration: .migration
            default: .integer
            }
            bound = define(id, symbol)
        }
        return Operation(kind: kind, signature: signature, bind: bound, arguments: arguments, position: cursor.position(0), line: cursor.source)
    }

    /// Positional arguments in order, then `key=value` ones; `keywordIDs`: where the
    /// signature's keywords' numbers start in `keywordIDTable`.
    mutating func parseArguments(_ cursor: inout Cursor, _ signature: Signature, keywordIDs: Int) throws(ScriptError) -> Arguments {
        var arguments = Arguments(signature, in: self.arguments)
        let positional = signature.positional.count
        for slot in 0..<positional {
            if cursor.atEnd || cursor.isKeyword {
                let param = signature.positional[slot]
                throw cursor.error(at: cursor.index, "'\(signature.name)' needs \(param.name.uppercased()) (\(param.kind.description)); usage: \(signature.usage)")
            }
            arguments.set(slot, try parseArgument(&cursor, signature.parameterKinds[slot]))
        }
        while !cursor.atEnd {
            guard cursor.isKeyword else { throw cursor.error(at: cursor.index, "unexpected argument; usage: \(signature.usage)") }
            let token = try cursor.nameToken("a keyword")
            let column = token.column
            var key: String { cursor.text(token) }
            let keywordCount = signature.keywords.count
            var k = 0
            while k < keywordCount, Self.keywordIDTable[keywordIDs + k] != token.id { k += 1 }
            guard k < keywordCount else {
                throw cursor.error(column: column, "'\(signature.name)' has no '\(key)=' (usage: \(signature.usage))")
            }
            // Keywords' slots follow the positional ones (`Signature.parameterNames`).
            let slot = signature.positional.count + k
            guard !arguments.has(slot) else { throw cursor.error(column: column, "'\(key)=' given twice") }
            try cursor.expect("=")
            arguments.set(slot, try parseArgument(&cursor, signature.parameterKinds[slot]))
        }
        return arguments
    }

    mutating func parseArgument(_ cursor: inout Cursor, _ kind: ArgumentKind) throws(ScriptError) -> Expr {
        let position = cursor.position(cursor.index)
        switch kind {
        case .int: return try parseInt(&cursor, compact: true)
        case .bool: return try parseBool(&cursor)
        case .process, .file, .pins, .device, .migration:
            let token = try cursor.nameToken(kind.description)
            return .name(try requireSymbol(token, kind, cursor), position)
        case .page:
            let token = try cursor.nameToken(kind.description)
            if cursor.take("@") {
                let process = try requireSymbol(token, .process, cursor)
                return .at(process, try parseInt(&cursor), position)
            }
            let pins = try requireSymbol(token, .pins, cursor)
            if cursor.take("[") {
                let index = try parseInt(&cursor)
                try cursor.expect("]")
                return .index(pins, index, position)
            }
            return .index(pins, .int(0, position), position)
        case .data:
            guard let token = cursor.peek else { throw cursor.error(at: cursor.index, "expected \(kind.description)") }
            cursor.index += 1
            guard token.kind == .string || token.kind == .bytes else { throw cursor.error(column: token.column, "expected \(kind.description)") }
            return .bytes(cursor.literal(token), position)
        case .text: return .string(try cursor.string(kind.description), position)
        case .word(let set): return .words(set.singles[try parseWordIndex(&cursor, set)], position)
        case .flags(let set):
            // Bit i: the set's word i (every flags set has fewer than 64 words).
            let first = try parseWordIndex(&cursor, set)
            var mask: UInt64 = 1 << UInt64(first)
            guard cursor.take("|") else { return .flagWords(set.singles[first], mask: mask, position) }
            var words = [set.words[first]]
            repeat {
                let index = try parseWordIndex(&cursor, set)
                words.append(set.words[index])
                mask |= 1 << UInt64(index)
            } while cursor.take("|")
            return .flagWords(words, mask: mask, position)
        }
    }

    func parseBool(_ cursor: inout Cursor) throws(ScriptError) -> Expr {
        let position = cursor.position(cursor.index)
        let (word, column) = try cursor.name("true or false")
        guard word == "true" || word == "false" else { throw cursor.error(column: column, "expected true or false, found '\(word)'") }
        return .words(word == "true" ? Self.trueWords : Self.falseWords, position)
    }

    /// The lists a bool argument is, shared: no array allocated per argument.
    static let trueWords = ["true"], falseWords = ["false"]

    func parseWord(_ cursor: inout Cursor, _ set: WordSet) throws(ScriptError) -> String {
        set.words[try parseWordIndex(&cursor, set)]
    }

    /// The next word's index in `set.words`.
    func parseWordIndex(_ cursor: inout Cursor, _ set: WordSet) throws(ScriptError) -> Int {
        let (word, column) = try cursor.name("one of \(set.words.joined(separator: ", "))")
        guard let index = set.index(word) else {
            throw cursor.error(column: column, "unknown \(set.name) '\(word)' (known: \(set.words.joined(separator: ", ")))")
        }
        return index
    }

    /// The name token's name, checked to be defined as `kind`.
    func requireSymbol(_ token: Token, _ kind: ArgumentKind, _ cursor: Cursor) throws(ScriptError) -> Ref {
        let id = Int(token.id), column = token.column
        let want: Symbol = switch kind {
        case .process: .process
        case .file: .file
        case .device: .device
        case .migration: .migration
        default: .pins
        }
        guard let binding = symbols[id] else { throw cursor.error(column: column, "'\(cursor.text(token))' is not defined (expected \(kind.description))") }
        let symbol = binding.symbol
        guard symbol == want else { throw cursor.error(column: column, "'\(cursor.text(token))' is \(Self.describe(symbol)), expected \(kind.description)") }
        return Ref(nameNumber: binding.nameNumber, slot: binding.slot)
    }

    /// `name` now stands for `symbol` (a run-time name); its slot, kept when the name
    /// is bound again.
    mutating func define(_ id: Int, _ symbol: Symbol) -> Ref {
        var slot = symbols[id]?.slot ?? -1
        var nameNumber = symbols[id]?.nameNumber ?? -1
        if slot < 0 {
            slot = slotCount
            slotCount += 1
            nameNumber = SourceNames.number(lexicon.interner.names[id])
        }
        symbols[id] = Binding(symbol: symbol, slot: slot, nameNumber: nameNumber)
        return Ref(nameNumber: nameNumber, slot: slot)
    }

    func checkFresh(_ name: String, _ id: Int, column: Int, _ cursor: Cursor) throws(ScriptError) {
        if symbols[id] != nil { throw cursor.error(column: column, "'\(name)' is already defined") }
    }

    static func describe(_ symbol: Symbol) -> String {
        switch symbol {
        case .constant, .integer: "an integer"
        case .process: "a process"
        case .file: "a file"
        case .pins: "a GUP result"
        case .device: "a device"
        case .migration: "a migration"
        }
    }

    // MARK: Integer expressions: term (('+'|'-') term)*, term: unary ('*' unary)*.

    /// `compact`: `NAME ± constant` as a whole is an unboxed `.offset` (an operation's or
    /// query's argument: `Arguments` shows it as the `.binary`), not a boxed `.binary`.
    func parseInt(_ cursor: inout Cursor, compact: Bool = false) throws(ScriptError) -> Expr {
        var left = try parseTerm(&cursor)
        // The operator by its punctuation code, read once (not a `take` per operator).
        while let token = cursor.peek, token.kind == .punct {
            let op: Arithmetic = token.id == Self.plus ? .add : token.id == Self.minus ? .subtract : .multiply
            if op == .multiply { break }
            cursor.index += 1
            let position = cursor.position(cursor.index - 1)
            let right = try parseTerm(&cursor)
            if compact, case .name(let name, let namePosition) = left, case .int(let value, let valuePosition) = right, !isAdditive(cursor.peek),
               let at = OffsetPositions(op: position, name: namePosition, value: value, valueColumn: valuePosition.column, subtract: op == .subtract) {
                return .offset(name, at)
            }
            left = try Self.binary(op, left, right, position)
        }
        return left
    }

    /// `token` is `+` or `-`.
    @inline(__always)
    func isAdditive(_ token: Token?) -> Bool {
        guard let token, token.kind == .punct else { return false }
        return token.id == Self.plus || token.id == Self.minus
    }

    /// `+` and `-` by their punctuation codes (computed, so they fold to constants).
    static var plus: Int32 { @inline(__always) get { Lexer.code(UInt8(ascii: "+"), 1) } }
    static var minus: Int32 { @inline(__always) get { Lexer.code(UInt8(ascii: "-"), 1) } }

    @inline(__always)  // one call a level was ~400 instructions a line
    func parseTerm(_ cursor: inout Cursor) throws(ScriptError) -> Expr {
        var left = try parseUnary(&cursor)
        while cursor.take("*") {
            let position = cursor.position(cursor.index - 1)
            left = try Self.binary(.multiply, left, try parseUnary(&cursor), position)
        }
        return left
    }

    /// A number, a constant or an integer name read in place (nearly every operand);
    /// anything else (`-x`, `(...)`, an error) by `parseOperand`.
    @inline(__always)
    func parseUnary(_ cursor: inout Cursor) throws(ScriptError) -> Expr {
        if let token = cursor.peek {
            let position = cursor.position(cursor.index)
            if token.kind == .int {
                cursor.index += 1
                return .int(token.value, position)
            }
            if token.kind == .name, let binding = symbols[Int(token.id)] {
                switch binding.symbol {
                case .constant(let v):
                    cursor.index += 1
                    return .int(v, position)
                case .integer:
                    cursor.index += 1
                    return .name(Ref(nameNumber: binding.nameNumber, slot: binding.slot), position)
                default: break
                }
            }
        }
        return try parseOperand(&cursor)
    }

    func parseOperand(_ cursor: inout Cursor) throws(ScriptError) -> Expr {
        let position = cursor.position(cursor.index)
        if cursor.take("-") { return try Self.binary(.subtract, .int(0, position), try parseUnary(&cursor), position) }
        if cursor.take("(") {
            let inner = try parseInt(&cursor)
            try cursor.expect(")")
            return inner
        }
        guard let token = cursor.peek else { throw cursor.error(at: cursor.index, "expected an integer") }
        switch token.kind {
        case .int:
            cursor.index += 1
            return .int(token.value, position)
        case .name:
            cursor.index += 1
            guard let binding = symbols[Int(token.id)] else { throw cursor.error(column: token.column, "'\(cursor.text(token))' is not defined (expected an integer)") }
            let symbol = binding.symbol
            switch symbol {
            case .constant(let v): return .int(v, position)
            case .integer: return .name(Ref(nameNumber: binding.nameNumber, slot: binding.slot), position)
            default: throw cursor.error(column: token.column, "'\(cursor.text(token))' is \(Self.describe(symbol)), expected an integer")
            }
        default:
            throw cursor.error(column: token.column, "expected an integer")
        }
    }

    /// `a op b`, computed now when both are constants (an overflow is then a bad script):
    /// `a+3*PAGE` leaves one addition for the run.
    static func binary(_ op: Arithmetic, _ a: Expr, _ b: Expr, _ position: SourcePosition) throws(ScriptError) -> Expr {
        // Folded without boxing the `.binary` first (an allocation per folded term).
        guard case .int(let left, _) = a, case .int(let right, _) = b else { return .binary(op.text, a, b, position) }
        let (value, overflow) = switch op {
        case .add: left.addingReportingOverflow(right)
        case .subtract: left.subtractingReportingOverflow(right)
        case .multiply: left.multipliedReportingOverflow(by: right)
        }
        guard !overflow else { throw ScriptError(position, Evaluator.overflow) }
        return .int(value, position)
    }

    /// An integer expression's operator while parsing: folding a constant switches on
    /// this, not on the `.binary`'s String (two String compares a term in a profile).
    enum Arithmetic {
        case add, subtract, multiply
        var text: String {
            switch self {
            case .add: "+"
            case .subtract: "-"
            case .multiply: "*"
            }
        }
    }

    /// The value of an expression of constants, with overflow checked.
    func constantValue(_ expr: Expr) throws(ScriptError) -> Int64 {
        switch Evaluator.constant(expr) {
        case .success(let v): return v
        case .failure(let e): throw e
        }
    }

    // MARK: expect

    mutating func parseExpectation(_ cursor: inout Cursor) throws(ScriptError) -> Expectation {
        let (word, column, id) = try cursor.nameID("a query")
        guard id >= 0, id < Self.queryByID.count, let (kind, signature, result) = Self.queryByID[id] else {
            throw cursor.error(column: column, "unknown query '\(word)' (known: \(Self.knownQueries))")
        }
        var arguments = Arguments(signature, in: self.arguments)
        if !signature.positional.isEmpty || cursor.isPunct(cursor.index, "(") {
            try cursor.expect("(")
            for (i, param) in signature.positional.enumerated() {
                if i > 0 { try cursor.expect(",") }
                arguments.set(i, try parseArgument(&cursor, param.kind))
            }
            try cursor.expect(")")
        }
        let comparisonColumn = cursor.peek?.column ?? cursor.endColumn
        let comparison: Expectation.Comparison
        if cursor.take("==") { comparison = .equal }
        else if cursor.take("!=") { comparison = .notEqual }
        else if cursor.takeName("has") { comparison = .has }
        else if cursor.takeName("lacks") { comparison = .lacks }
        else { throw cursor.error(column: comparisonColumn, "expected ==, != (or has/lacks for flags) after the query") }
        if (comparison == .has || comparison == .lacks) != (result == .flags) {
            throw cursor.error(column: comparisonColumn, result == .flags ? "flags are compared with 'has' or 'lacks'" : "'has'/'lacks' compare flags only")
        }
        var byDesign: [Design: Expr] = [:]
        var others: Expr? = nil
        if cursor.tokens.count > cursor.index + 1, cursor.isPunct(cursor.index + 1, ":") {
            while !cursor.atEnd {
                let (name, column) = try cursor.name("a design name or 'others'")
                try cursor.expect(":")
                let value = try parseExpected(&cursor, result, kind)
                if name == "others" {
                    guard others == nil else { throw cursor.error(column: column, "'others' given twice") }
                    others = value
                } else {
                    guard let design = Design(rawValue: name) else {
                        throw cursor.error(column: column, "unknown design '\(name)' (known: \(Self.knownDesigns), others)")
                    }
                    guard byDesign[design] == nil else { throw cursor.error(column: column, "'\(name)' given twice") }
                    byDesign[design] = value
                }
            }
        } else {
            others = try parseExpected(&cursor, result, kind)
            try cursor.end()
        }
        return Expectation(kind: kind, query: signature, result: result, arguments: arguments, comparison: comparison,
                           byDesign: byDesign, others: others, position: cursor.position(0), line: cursor.source)
    }

    func parseExpected(_ cursor: inout Cursor, _ result: Scenarios.QueryResult, _ query: QueryKind) throws(ScriptError) -> Expr {
        let position = cursor.position(cursor.index)
        switch result {
        case .int: return try parseInt(&cursor)
        case .bool: return try parseBool(&cursor)
        case .word:
            let (word, column) = try cursor.name(query == .errno ? "ok, an errno name (EFAULT, ...), SIGSEGV or SIGBUS" : "a name")
            if query == .errno, !Evaluator.isErrnoWord(word) {
                throw cursor.error(column: column, "unknown errno '\(word)' (expected ok, an errno name such as EFAULT, SIGSEGV or SIGBUS)")
            }
            return .words([word], position)
        case .flags:
            var words = [try cursor.name("a page flag").0.lowercased()]
            while cursor.take("|") { words.append(try cursor.name("a page flag").0.lowercased()) }
            for (i, word) in words.enumerated() where !Evaluator.pageFlagNames.contains(word) {
                throw cursor.error(column: position.column, "unknown page flag '\(words[i])' (known: \(Evaluator.pageFlagNames.joined(separator: ", ")))")
            }
            return .words(words, position)
        case .bytes:
            guard let token = cursor.peek else { throw cursor.error(at: cursor.index, "expected \"text\", x\"hex\" or fill(BYTE)") }
            switch token.kind {
            case .string, .bytes:
                cursor.index += 1
                return .bytes(cursor.literal(token), position)
            case .name where cursor.text(token) == "fill":
                cursor.index += 1
                try cursor.expect("(")
                let byte = try parseInt(&cursor)
                try cursor.expect(")")
                return .fill(byte, position)
            default:
                throw cursor.error(column: token.column, "expected \"text\", x\"hex\" or fill(BYTE)")
            }
        }
    }
}

extension ScenarioParser {
    /// The index of the first '\n' at or after `start` (the count if none): memchr, not a
    /// bounds-checked loop per byte.
    static func lineEnd(_ bytes: [UInt8], from start: Int) -> Int {
        bytes.withUnsafeBufferPointer { buffer in
            guard start < buffer.count, let base = buffer.baseAddress,
                  let found = memchr(base + start, 0x0A, buffer.count - start) else { return buffer.count }
            return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        }
    }

    /// A line's range without leading blanks and trailing blanks or '\r' (the source that
    /// reports and traces show).
    static func trimmed(_ bytes: [UInt8], _ range: Range<Int>) -> Range<Int> {
        var start = range.lowerBound, end = range.upperBound
        while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
        while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 || bytes[end - 1] == 0x0D { end -= 1 }
        return start..<end
    }
}
