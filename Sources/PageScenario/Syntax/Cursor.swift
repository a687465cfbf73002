// A position in one line's tokens, with the helpers the parser reads them by.

struct Cursor {
    /// The line's tokens: the parser's buffer, unretained (the parser keeps it for the
    /// whole parse; a retain and release per line were measurable).
    unowned(unsafe) let tokens: TokenBuffer
    /// The parser's interned names and literals, unretained for the same reason (a
    /// name token's text, a string's bytes).
    unowned(unsafe) let lexicon: Lexicon
    let file: Int32
    private(set) var line = 0
    private(set) var source: SourceLine
    var index = 0

    /// One cursor serves every line of a file (`startLine`).
    init(tokens: TokenBuffer, lexicon: Lexicon, file: Int32, source: SourceLine) {
        self.tokens = tokens
        self.lexicon = lexicon
        self.file = file
        self.source = source
    }

    /// Points the cursor at the first token of line `line` (the tokens just lexed into
    /// `tokens`).
    @inline(__always)
    mutating func startLine(_ line: Int, source: SourceLine) {
        self.line = line
        self.source = source
        index = 0
    }

    /// A string or bytes token's contents (`Literals`).
    func literal(_ token: Token) -> [UInt8] { lexicon.literals.values[Int(token.id)] }

    // The small helpers below are inlined: each was a call per token (a profile showed
    // `take` and `position` as ~400 instructions a line).
    var atEnd: Bool { @inline(__always) get { index >= tokens.count } }
    var peek: Token? { @inline(__always) get { atEnd ? nil : tokens[index] } }
    /// The column just past the last token (where a missing argument would go).
    var endColumn: Int { (tokens.last?.column ?? 0) + 1 }
    /// `key=` at the cursor.
    var isKeyword: Bool {
        guard index + 1 < tokens.count, tokens[index].kind == .name else { return false }
        return isPunct(index + 1, "=")
    }

    /// A name token's text.
    func text(_ token: Token) -> String { lexicon.interner.names[Int(token.id)] }
    /// A string token's text.
    func string(_ token: Token) -> String { String(decoding: lexicon.literals.values[Int(token.id)], as: UTF8.self) }

    /// Token `at` is the punctuation `punct`: compared by its code (first byte and
    /// length), not as a String.
    @inline(__always)
    func isPunct(_ at: Int, _ punct: StaticString) -> Bool {
        guard at < tokens.count, tokens[at].kind == .punct else { return false }
        return tokens[at].id == Lexer.code(punct.utf8Start.pointee, punct.utf8CodeUnitCount)
    }

    @inline(__always)
    func position(_ at: Int) -> SourcePosition {
        SourcePosition(fileNumber: file, line: line, column: at < tokens.count ? tokens[at].column : endColumn)
    }

    func error(at tokenIndex: Int, _ message: String) -> ScriptError { ScriptError(position(tokenIndex), message) }
    func error(column: Int, _ message: String) -> ScriptError {
        ScriptError(SourcePosition(fileNumber: file, line: line, column: column), message)
    }

    @inline(__always)
    mutating func take(_ punct: StaticString) -> Bool {
        guard isPunct(index, punct) else { return false }
        index += 1
        return true
    }

    mutating func takeName(_ word: String) -> Bool {
        guard index < tokens.count, tokens[index].kind == .name, text(tokens[index]) == word else { return false }
        index += 1
        return true
    }

    mutating func expect(_ punct: StaticString) throws(ScriptError) {
        guard take(punct) else { throw error(at: index, "expected '\(punct)'\(found)") }
    }

    mutating func expectName(_ word: String) throws(ScriptError) {
        guard takeName(word) else { throw error(at: index, "expected '\(word)'\(found)") }
    }

    /// A name; `what` (built only for the error) says what was expected.
    mutating func name(_ what: @autoclosure () -> String) throws(ScriptError) -> (String, Int) {
        let (name, column, _) = try nameID(what())
        return (name, column)
    }

    /// A name token (its text is looked up only for a message).
    mutating func nameToken(_ what: @autoclosure () -> String) throws(ScriptError) -> Token {
        guard let token = peek, token.kind == .name else { throw error(at: index, "expected \(what())\(found)") }
        index += 1
        return token
    }

    /// A name and its `Interner` number.
    mutating func nameID(_ what: @autoclosure () -> String) throws(ScriptError) -> (name: String, column: Int, id: Int) {
        guard let token = peek, token.kind == .name else { throw error(at: index, "expected \(what())\(found)") }
        index += 1
        return (text(token), token.column, Int(token.id))
    }

    mutating func string(_ what: @autoclosure () -> String) throws(ScriptError) -> String {
        guard let token = peek, token.kind == .string else { throw error(at: index, "expected \(what())\(found)") }
        index += 1
        return string(token)
    }

    func end() throws(ScriptError) {
        guard atEnd else { throw error(at: index, "unexpected \(describe(tokens[index])) at the end of the line") }
    }

    private var found: String { peek.map { ", found \(describe($0))" } ?? ", found the end of the line" }

    private func describe(_ token: Token) -> String {
        switch token.kind {
        case .name: "'\(text(token))'"
        case .int: "\(token.value)"
        case .string: "a string"
        case .bytes: "bytes"
        case .punct: "'\(Lexer.punctText(token.id))'"
        }
    }
}
