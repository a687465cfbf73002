// A position in one line's tokens, with the helpers the parser reads them by.

struct Cursor {
    let tokens: [Token]
    let file: String
    let line: Int
    let source: SourceLine
    var index = 0

    init(tokens: [Token], file: String, line: Int, source: SourceLine) {
        self.tokens = tokens
        self.file = file
        self.line = line
        self.source = source
    }

    var atEnd: Bool { index >= tokens.count }
    var peek: Token? { atEnd ? nil : tokens[index] }
    /// The column just past the last token (where a missing argument would go).
    var endColumn: Int { (tokens.last?.column ?? 0) + 1 }
    /// `key=` at the cursor.
    var isKeyword: Bool {
        guard index + 1 < tokens.count, case .name = tokens[index].kind else { return false }
        return isPunct(index + 1, "=")
    }

    /// Token `at` is the punctuation `punct`: compared by its code (first byte and
    /// length), not as a String.
    func isPunct(_ at: Int, _ punct: StaticString) -> Bool {
        guard at < tokens.count, case .punct = tokens[at].kind else { return false }
        return tokens[at].id == Lexer.code(punct.utf8Start.pointee, punct.utf8CodeUnitCount)
    }

    func position(_ at: Int) -> SourcePosition {
        SourcePosition(file: file, line: line, column: at < tokens.count ? tokens[at].column : endColumn)
    }

    func error(at tokenIndex: Int, _ message: String) -> ScriptError { ScriptError(position(tokenIndex), message) }
    func error(column: Int, _ message: String) -> ScriptError {
        ScriptError(SourcePosition(file: file, line: line, column: column), message)
    }

    mutating func take(_ punct: StaticString) -> Bool {
        guard isPunct(index, punct) else { return false }
        index += 1
        return true
    }

    mutating func takeName(_ word: String) -> Bool {
        guard index < tokens.count, case .name(let n) = tokens[index].kind, n == word else { return false }
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
        guard let token = peek, case .name(let name) = token.kind else { throw error(at: index, "expected \(what())\(found)") }
        index += 1
        return (name, token.column)
    }

    /// A name and its `Interner` number.
    mutating func nameID(_ what: @autoclosure () -> String) throws(ScriptError) -> (name: String, column: Int, id: Int) {
        guard let token = peek, case .name(let name) = token.kind else { throw error(at: index, "expected \(what())\(found)") }
        index += 1
        return (name, token.column, Int(token.id))
    }

    mutating func string(_ what: @autoclosure () -> String) throws(ScriptError) -> String {
        guard let token = peek, case .string(let text) = token.kind else { throw error(at: index, "expected \(what())\(found)") }
        index += 1
        return text
    }

    func end() throws(ScriptError) {
        guard atEnd else { throw error(at: index, "unexpected \(describe(tokens[index])) at the end of the line") }
    }

    private var found: String { peek.map { ", found \(describe($0))" } ?? ", found the end of the line" }

    private func describe(_ token: Token) -> String {
        switch token.kind {
        case .name(let n): "'\(n)'"
        case .int(let v): "\(v)"
        case .string: "a string"
        case .bytes: "bytes"
        case .punct(let p): "'\(p)'"
        }
    }
}
