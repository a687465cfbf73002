// The scenario language's tokens: one line at a time, every token with its column, so
// that every error can say FILE:LINE:COLUMN.

/// Where something is in a script: file, line and column, all 1-based.
public struct SourcePosition: Sendable, Hashable, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let column: Int
    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }
    public var description: String { "\(file):\(line):\(column)" }
}

/// A bad script: `FILE:LINE:COLUMN: error: message`, found before anything runs.
public struct ScriptError: Error, Sendable, Equatable, CustomStringConvertible {
    public let position: SourcePosition
    public let message: String
    public init(_ position: SourcePosition, _ message: String) {
        self.position = position
        self.message = message
    }
    public var description: String { "\(position): error: \(message)" }
}

/// One token of a line.
enum TokenKind: Equatable {
    /// A name: letters, digits, `_`, and `-` followed by a letter (design names such as
    /// `dma-pinned-field` are one token; subtract names with spaces: `a - b`).
    case name(String)
    /// An integer, with an optional K/M/G/T suffix (powers of 1024).
    case int(Int64)
    case string(String)
    /// `x"de ad be ef"`: bytes in hex.
    case bytes([UInt8])
    /// Punctuation and operators: = == != : , | [ ] ( ) + - * @ ..<
    case punct(String)
}

struct Token: Equatable {
    let kind: TokenKind
    let column: Int
}

/// Splits one line into tokens; `#` starts a comment. Lines are bounded by the caller.
enum Lexer {
    static let maxLineLength = 4096

    static func tokens(_ line: Substring, file: String, lineNumber: Int) throws(ScriptError) -> [Token] {
        let chars = Array(line.unicodeScalars)
        var tokens: [Token] = []
        var i = 0
        func error(_ column: Int, _ message: String) -> ScriptError {
            ScriptError(SourcePosition(file: file, line: lineNumber, column: column + 1), message)
        }
        guard chars.count <= maxLineLength else { throw error(maxLineLength, "line longer than \(maxLineLength) characters") }
        while i < chars.count {
            let c = chars[i]
            let start = i
            if c == " " || c == "\t" || c == "\r" { i += 1; continue }
            if c == "#" { break }
            if isLetter(c) || c == "_" {
                if c == "x", i + 1 < chars.count, chars[i + 1] == "\"" {
                    i += 2
                    var hex: [UInt8] = []
                    var pending: UInt8? = nil
                    while i < chars.count, chars[i] != "\"" {
                        let h = chars[i]
                        i += 1
                        if h == " " || h == "_" { continue }
                        guard let v = hexValue(h) else { throw error(i - 1, "expected a hex digit in x\"...\", found '\(h)'") }
                        if let p = pending { hex.append(p << 4 | v); pending = nil } else { pending = v }
                    }
                    guard i < chars.count else { throw error(start, "unterminated x\"...\" bytes") }
                    guard pending == nil else { throw error(i, "x\"...\" needs an even number of hex digits") }
                    i += 1
                    tokens.append(Token(kind: .bytes(hex), column: start + 1))
                    continue
                }
                while i < chars.count, isLetter(chars[i]) || isDigit(chars[i]) || chars[i] == "_" ||
                    (chars[i] == "-" && i + 1 < chars.count && isLetter(chars[i + 1])) { i += 1 }
                tokens.append(Token(kind: .name(String(String.UnicodeScalarView(chars[start..<i]))), column: start + 1))
                continue
            }
            if isDigit(c) {
                var value: Int64 = 0
                var radix: Int64 = 10
                if c == "0", i + 1 < chars.count, chars[i + 1] == "x" || chars[i + 1] == "X" {
                    radix = 16
                    i += 2
                    guard i < chars.count, hexValue(chars[i]) != nil else { throw error(i, "expected hex digits after 0x") }
                }
                while i < chars.count {
                    let d: UInt8?
                    if chars[i] == "_" { i += 1; continue }
                    d = radix == 16 ? hexValue(chars[i]) : (isDigit(chars[i]) ? UInt8(chars[i].value - 48) : nil)
                    guard let d else { break }
                    let (m, o1) = value.multipliedReportingOverflow(by: radix)
                    let (s, o2) = m.addingReportingOverflow(Int64(d))
                    guard !o1, !o2 else { throw error(start, "number too large") }
                    value = s
                    i += 1
                }
                if i < chars.count, let shift = suffixShift(chars[i]) {
                    guard value <= Int64.max >> shift else { throw error(start, "number too large") }
                    value <<= shift
                    i += 1
                }
                if i < chars.count, isLetter(chars[i]) { throw error(i, "unexpected '\(chars[i])' after a number (sizes take K, M, G or T)") }
                tokens.append(Token(kind: .int(value), column: start + 1))
                continue
            }
            if c == "\"" {
                i += 1
                var text = String.UnicodeScalarView()
                while i < chars.count, chars[i] != "\"" {
                    if chars[i] == "\\", i + 1 < chars.count {
                        i += 1
                        switch chars[i] {
                        case "n": text.append("\n")
                        case "t": text.append("\t")
                        case "\\", "\"": text.append(chars[i])
                        default: throw error(i, "unknown escape '\\\(chars[i])' (known: \\n \\t \\\\ \\\")")
                        }
                    } else {
                        text.append(chars[i])
                    }
                    i += 1
                }
                guard i < chars.count else { throw error(start, "unterminated string") }
                i += 1
                tokens.append(Token(kind: .string(String(text)), column: start + 1))
                continue
            }
            for op in ["..<", "==", "!=", "=", ":", ",", "|", "[", "]", "(", ")", "+", "-", "*", "@"] {
                let scalars = Array(op.unicodeScalars)
                if i + scalars.count <= chars.count, Array(chars[i..<i + scalars.count]) == scalars {
                    tokens.append(Token(kind: .punct(op), column: start + 1))
                    i += scalars.count
                    break
                }
            }
            if i == start { throw error(start, "unexpected character '\(c)'") }
        }
        return tokens
    }

    private static func isLetter(_ c: Unicode.Scalar) -> Bool { (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") }
    private static func isDigit(_ c: Unicode.Scalar) -> Bool { c >= "0" && c <= "9" }
    private static func hexValue(_ c: Unicode.Scalar) -> UInt8? {
        switch c {
        case "0"..."9": UInt8(c.value - 48)
        case "a"..."f": UInt8(c.value - 87)
        case "A"..."F": UInt8(c.value - 55)
        default: nil
        }
    }
    private static func suffixShift(_ c: Unicode.Scalar) -> Int64? {
        switch c {
        case "K": 10
        case "M": 20
        case "G": 30
        case "T": 40
        default: nil
        }
    }
}
