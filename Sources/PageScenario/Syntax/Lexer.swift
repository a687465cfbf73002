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
    /// A name's number in the parser's `Interner`, a punctuation's `Lexer.code` (-1 for
    /// other tokens).
    var id: Int32 = -1
}

/// Splits one line into tokens; `#` starts a comment. Lines are bounded by the caller.
/// It reads the script's UTF-8 bytes (a scenario's words are ASCII): no Character or
/// Unicode.Scalar work on the hot path, and no String made but for strings and a name's
/// first occurrence (`Interner`).
enum Lexer {
    static let maxLineLength = 4096

    /// The punctuation at `bytes[i]` (the longest where one is a prefix of another: `..<`
    /// `==` `!=` `=` `:` `,` `|` `[` `]` `(` `)` `+` `-` `*` `@`) and its length. A switch on
    /// the byte: no table walked per character, and the texts are literals (no allocation).
    static func punct(_ bytes: [UInt8], _ i: Int, _ end: Int) -> (String, Int)? {
        let next: UInt8 = i + 1 < end ? bytes[i + 1] : 0
        switch bytes[i] {
        case UInt8(ascii: "."): return next == UInt8(ascii: ".") && i + 2 < end && bytes[i + 2] == UInt8(ascii: "<") ? ("..<", 3) : nil
        case UInt8(ascii: "="): return next == UInt8(ascii: "=") ? ("==", 2) : ("=", 1)
        case UInt8(ascii: "!"): return next == UInt8(ascii: "=") ? ("!=", 2) : nil
        case UInt8(ascii: ":"): return (":", 1)
        case UInt8(ascii: ","): return (",", 1)
        case UInt8(ascii: "|"): return ("|", 1)
        case UInt8(ascii: "["): return ("[", 1)
        case UInt8(ascii: "]"): return ("]", 1)
        case UInt8(ascii: "("): return ("(", 1)
        case UInt8(ascii: ")"): return (")", 1)
        case UInt8(ascii: "+"): return ("+", 1)
        case UInt8(ascii: "-"): return ("-", 1)
        case UInt8(ascii: "*"): return ("*", 1)
        case UInt8(ascii: "@"): return ("@", 1)
        default: return nil
        }
    }

    /// The tokens of `bytes[range]` (one line, without its newline), appended to `tokens`.
    static func tokens(_ bytes: [UInt8], _ range: Range<Int>, file: String, lineNumber: Int, interner: inout Interner,
                       into tokens: inout [Token]) throws(ScriptError) {
        let end = range.upperBound
        let lineStart = range.lowerBound
        // Columns count Unicode scalars: bytes, unless the line has a multi-byte one.
        // A `let`: a `var` captured by `column` below was kept in a heap box.
        let ascii = !bytes[range].contains { $0 >= 0x80 }
        func column(_ i: Int) -> Int {
            if ascii { return i - lineStart + 1 }
            var n = 1
            for k in lineStart..<i where bytes[k] & 0xC0 != 0x80 { n += 1 }
            return n
        }
        func error(_ i: Int, _ message: String) -> ScriptError {
            ScriptError(SourcePosition(file: file, line: lineNumber, column: column(i)), message)
        }
        /// The character at `i`, for a message.
        func character(_ i: Int) -> String {
            var j = i + 1
            while j < end, bytes[j] & 0xC0 == 0x80 { j += 1 }
            return String(decoding: bytes[i..<j], as: UTF8.self)
        }
        if range.count > maxLineLength, (ascii ? range.count : column(end) - 1) > maxLineLength {
            throw ScriptError(SourcePosition(file: file, line: lineNumber, column: maxLineLength + 1), "line longer than \(maxLineLength) characters")
        }
        var i = lineStart
        while i < end {
            let c = bytes[i]
            let start = i
            if c == 0x20 || c == 0x09 || c == 0x0D { i += 1; continue }
            if c == UInt8(ascii: "#") { break }
            if isLetter(c) || c == UInt8(ascii: "_") {
                if c == UInt8(ascii: "x"), i + 1 < end, bytes[i + 1] == UInt8(ascii: "\"") {
                    i += 2
                    var hex: [UInt8] = []
                    var pending: UInt8? = nil
                    while i < end, bytes[i] != UInt8(ascii: "\"") {
                        let h = bytes[i]
                        if h == 0x20 || h == UInt8(ascii: "_") { i += 1; continue }
                        guard let v = hexValue(h) else { throw error(i, "expected a hex digit in x\"...\", found '\(character(i))'") }
                        i += 1
                        if let p = pending { hex.append(p << 4 | v); pending = nil } else { pending = v }
                    }
                    guard i < end else { throw error(start, "unterminated x\"...\" bytes") }
                    guard pending == nil else { throw error(i, "x\"...\" needs an even number of hex digits") }
                    i += 1
                    tokens.append(Token(kind: .bytes(hex), column: column(start)))
                    continue
                }
                while i < end, isLetter(bytes[i]) || isDigit(bytes[i]) || bytes[i] == UInt8(ascii: "_") ||
                    (bytes[i] == UInt8(ascii: "-") && i + 1 < end && isLetter(bytes[i + 1])) { i += 1 }
                let id = interner.intern(bytes, start..<i)
                tokens.append(Token(kind: .name(interner.names[id]), column: column(start), id: Int32(id)))
                continue
            }
            if isDigit(c) {
                var value: Int64 = 0
                var radix: Int64 = 10
                if c == UInt8(ascii: "0"), i + 1 < end, bytes[i + 1] | 0x20 == UInt8(ascii: "x") {
                    radix = 16
                    i += 2
                    guard i < end, hexValue(bytes[i]) != nil else { throw error(i, "expected hex digits after 0x") }
                }
                while i < end {
                    if bytes[i] == UInt8(ascii: "_") { i += 1; continue }
                    let d: UInt8? = radix == 16 ? hexValue(bytes[i]) : (isDigit(bytes[i]) ? bytes[i] - 48 : nil)
                    guard let d else { break }
                    let (m, o1) = value.multipliedReportingOverflow(by: radix)
                    let (s, o2) = m.addingReportingOverflow(Int64(d))
                    guard !o1, !o2 else { throw error(start, "number too large") }
                    value = s
                    i += 1
                }
                if i < end, let shift = suffixShift(bytes[i]) {
                    guard value <= Int64.max >> shift else { throw error(start, "number too large") }
                    value <<= shift
                    i += 1
                }
                if i < end, isLetter(bytes[i]) { throw error(i, "unexpected '\(character(i))' after a number (sizes take K, M, G or T)") }
                tokens.append(Token(kind: .int(value), column: column(start)))
                continue
            }
            if c == UInt8(ascii: "\"") {
                i += 1
                var text: [UInt8] = []
                while i < end, bytes[i] != UInt8(ascii: "\"") {
                    if bytes[i] == UInt8(ascii: "\\"), i + 1 < end {
                        i += 1
                        switch bytes[i] {
                        case UInt8(ascii: "n"): text.append(0x0A)
                        case UInt8(ascii: "t"): text.append(0x09)
                        case UInt8(ascii: "\\"), UInt8(ascii: "\""): text.append(bytes[i])
                        default: throw error(i, "unknown escape '\\\(character(i))' (known: \\n \\t \\\\ \\\")")
                        }
                    } else {
                        text.append(bytes[i])
                    }
                    i += 1
                }
                guard i < end else { throw error(start, "unterminated string") }
                i += 1
                tokens.append(Token(kind: .string(String(decoding: text, as: UTF8.self)), column: column(start)))
                continue
            }
            guard let (text, n) = punct(bytes, i, end) else { throw error(start, "unexpected character '\(character(start))'") }
            tokens.append(Token(kind: .punct(text), column: column(start), id: Self.code(bytes[start], n)))
            i += n
        }
    }

    /// A punctuation token's code in `Token.id`: its first byte and length, enough to
    /// tell every punctuation apart (`=` `==`, `.` only as `..<`).
    @inline(__always)
    static func code(_ first: UInt8, _ length: Int) -> Int32 { Int32(first) | Int32(length) << 8 }

    private static func isLetter(_ c: UInt8) -> Bool { (c | 0x20) >= UInt8(ascii: "a") && (c | 0x20) <= UInt8(ascii: "z") }
    private static func isDigit(_ c: UInt8) -> Bool { c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") }
    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - 48
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - 87
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - 55
        default: nil
        }
    }
    private static func suffixShift(_ c: UInt8) -> Int64? {
        switch c {
        case UInt8(ascii: "K"): 10
        case UInt8(ascii: "M"): 20
        case UInt8(ascii: "G"): 30
        case UInt8(ascii: "T"): 40
        default: nil
        }
    }
}
