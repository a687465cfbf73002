// The scenario language's tokens: one line at a time, every token with its column, so
// that every error can say FILE:LINE:COLUMN.

/// Where something is in a script: file, line and column, all 1-based. Plain integers
/// (the file by its `SourceNames` number): every parsed node carries one, and copying it
/// costs no reference counting.
public struct SourcePosition: Sendable, Hashable, CustomStringConvertible {
    let fileNumber: Int32
    let line32: Int32
    let column32: Int32
    public var file: String { SourceNames.name(fileNumber) }
    public var line: Int { Int(line32) }
    public var column: Int { Int(column32) }
    public init(file: String, line: Int, column: Int) {
        self.init(fileNumber: SourceNames.number(file), line: line, column: column)
    }
    init(fileNumber: Int32, line: Int, column: Int) {
        self.fileNumber = fileNumber
        line32 = Int32(clamping: line)
        column32 = Int32(clamping: column)
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

/// What a token is. Its text or value is not in the kind: a token is plain integers.
enum TokenKind: UInt8 {
    /// A name: letters, digits, `_`, and `-` followed by a letter (design names such as
    /// `dma-pinned-field` are one token; subtract names with spaces: `a - b`). Its text
    /// is the `Interner`'s name `id`.
    case name
    /// An integer (`value`), with an optional K/M/G/T suffix (powers of 1024).
    case int
    /// A string: its UTF-8 bytes are the parser's literal `id` (`Literals`).
    case string
    /// `x"de ad be ef"`: bytes in hex, the parser's literal `id`.
    case bytes
    /// Punctuation and operators: = == != : , | [ ] ( ) + - * @ ..< (`id`: `Lexer.code`).
    case punct
}

/// One token of a line: plain integers, so the token array is copied and emptied without
/// reference counting.
struct Token {
    let kind: TokenKind
    let column: Int
    /// A name's number in the parser's `Interner`, a punctuation's `Lexer.code`, a string's
    /// or bytes' number in the parser's `Literals` (-1 for an integer).
    var id: Int32 = -1
    /// An integer's value.
    var value: Int64 = 0
}

/// One line's tokens, in a buffer every line of a parse reuses. A class over raw memory
/// rather than a `[Token]`: an array's append and removeLast check its uniqueness per
/// token, and each line's `Cursor` retained and released it (a profile showed ~250
/// instructions a line for that); a `Cursor` holds this one unretained (`Cursor.tokens`),
/// its parser keeping it alive for the whole parse.
final class TokenBuffer {
    // A buffer is used by one parser on one thread: no dynamic exclusivity checks.
    @exclusivity(unchecked) private var base: UnsafeMutablePointer<Token>
    @exclusivity(unchecked) private var capacity: Int
    @exclusivity(unchecked) private(set) var count = 0

    init(capacity: Int = 32) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    deinit { base.deallocate() }

    var isEmpty: Bool { @inline(__always) get { count == 0 } }
    var last: Token? { count > 0 ? base[count - 1] : nil }

    /// Token `i`, for `i` in `0..<count` (callers check the index against `count`).
    @inline(__always)
    subscript(i: Int) -> Token { base[i] }

    /// Empties it for the next line (tokens are plain integers: nothing to deinitialize).
    @inline(__always)
    func removeAll() { count = 0 }

    @inline(__always)
    func append(_ token: Token) {
        if count == capacity { grow() }
        (base + count).initialize(to: token)
        count += 1
    }

    private func grow() {
        let bigger = UnsafeMutablePointer<Token>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: base, count: count)
        base.deallocate()
        base = bigger
        capacity *= 2
    }
}

/// Splits one line into tokens; `#` starts a comment. Lines are bounded by the caller.
/// It reads the script's UTF-8 bytes through a buffer pointer (a scenario's words are
/// ASCII): no Character or Unicode.Scalar work on the hot path, and no String made but
/// for a name's first occurrence (`Interner`).
enum Lexer {
    static let maxLineLength = 4096

    /// The length of the punctuation at `bytes[i]` (the longest where one is a prefix of
    /// another: `..<` `==` `!=` `=` `:` `,` `|` `[` `]` `(` `)` `+` `-` `*` `@`), 0 for none.
    /// A switch on the byte: no table walked per character.
    @inline(__always)
    static func punct(_ bytes: UnsafeBufferPointer<UInt8>, _ i: Int, _ end: Int) -> Int {
        let next: UInt8 = i + 1 < end ? bytes[i + 1] : 0
        switch bytes[i] {
        case UInt8(ascii: "."): return next == UInt8(ascii: ".") && i + 2 < end && bytes[i + 2] == UInt8(ascii: "<") ? 3 : 0
        case UInt8(ascii: "="): return next == UInt8(ascii: "=") ? 2 : 1
        case UInt8(ascii: "!"): return next == UInt8(ascii: "=") ? 2 : 0
        case UInt8(ascii: ":"), UInt8(ascii: ","), UInt8(ascii: "|"), UInt8(ascii: "["), UInt8(ascii: "]"), UInt8(ascii: "("),
             UInt8(ascii: ")"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "*"), UInt8(ascii: "@"): return 1
        default: return 0
        }
    }

    /// A punctuation's text, from its code (for messages).
    static func punctText(_ code: Int32) -> String {
        let first = Character(Unicode.Scalar(UInt8(code & 0xFF)))
        switch code >> 8 {
        case 3: return "..<"
        case 2: return "\(first)="
        default: return String(first)
        }
    }

    /// The tokens of `bytes[range]` (one line, without its newline), appended to `tokens`;
    /// strings' and bytes' contents interned in `literals`.
    static func tokens(_ script: [UInt8], _ range: Range<Int>, file: Int32, lineNumber: Int, interner: inout Interner,
                       into tokens: TokenBuffer, literals: inout Literals) throws(ScriptError) {
        try script.withUnsafeBufferPointer { (bytes) throws(ScriptError) in
            try scan(bytes, range, file: file, lineNumber: lineNumber, interner: &interner, into: tokens, literals: &literals)
        }
    }

    private static func scan(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, file: Int32, lineNumber: Int, interner: inout Interner,
                             into tokens: TokenBuffer, literals: inout Literals) throws(ScriptError) {
        let end = range.upperBound
        let lineStart = range.lowerBound
        // Columns count Unicode scalars. A multi-byte one can only be in a string (or be
        // an error): `continuations` counts the continuation bytes of the strings so far,
        // so a token's column is its byte offset less those.
        var continuations = 0
        /// The column of byte `i` (errors: counted from the line's start).
        func column(_ i: Int) -> Int {
            var n = 1
            for k in lineStart..<i where bytes[k] & 0xC0 != 0x80 { n += 1 }
            return n
        }
        func error(_ i: Int, _ message: String) -> ScriptError {
            ScriptError(SourcePosition(fileNumber: file, line: lineNumber, column: column(i)), message)
        }
        /// The character at `i`, for a message.
        func character(_ i: Int) -> String {
            var j = i + 1
            while j < end, bytes[j] & 0xC0 == 0x80 { j += 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[i..<j]), as: UTF8.self)
        }
        if range.count > maxLineLength, column(end) - 1 > maxLineLength {
            throw ScriptError(SourcePosition(fileNumber: file, line: lineNumber, column: maxLineLength + 1), "line longer than \(maxLineLength) characters")
        }
        var i = lineStart
        while i < end {
            let c = bytes[i]
            let start = i
            let startColumn = start - lineStart + 1 - continuations
            if c == 0x20 || c == 0x09 || c == 0x0D { i += 1; continue }
            if c == UInt8(ascii: "#") { break }
            if isLetter(c) || c == UInt8(ascii: "_") {
                if c == UInt8(ascii: "x"), i + 1 < end, bytes[i + 1] == UInt8(ascii: "\"") {
                    i += 2
                    literals.begin()
                    var pending: UInt8? = nil
                    while i < end, bytes[i] != UInt8(ascii: "\"") {
                        let h = bytes[i]
                        if h == 0x20 || h == UInt8(ascii: "_") { i += 1; continue }
                        guard let v = hexValue(h) else { throw error(i, "expected a hex digit in x\"...\", found '\(character(i))'") }
                        i += 1
                        if let p = pending { literals.append(p << 4 | v); pending = nil } else { pending = v }
                    }
                    guard i < end else { throw error(start, "unterminated x\"...\" bytes") }
                    guard pending == nil else { throw error(i, "x\"...\" needs an even number of hex digits") }
                    i += 1
                    tokens.append(Token(kind: .bytes, column: startColumn, id: literals.intern()))
                    continue
                }
                while i < end, isLetter(bytes[i]) || isDigit(bytes[i]) || bytes[i] == UInt8(ascii: "_") ||
                    (bytes[i] == UInt8(ascii: "-") && i + 1 < end && isLetter(bytes[i + 1])) { i += 1 }
                let id = interner.intern(UnsafeBufferPointer(rebasing: bytes[start..<i]))
                tokens.append(Token(kind: .name, column: startColumn, id: Int32(id)))
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
                tokens.append(Token(kind: .int, column: startColumn, value: value))
                continue
            }
            if c == UInt8(ascii: "\"") {
                i += 1
                literals.begin()
                while i < end, bytes[i] != UInt8(ascii: "\"") {
                    if bytes[i] == UInt8(ascii: "\\"), i + 1 < end {
                        i += 1
                        switch bytes[i] {
                        case UInt8(ascii: "n"): literals.append(0x0A)
                        case UInt8(ascii: "t"): literals.append(0x09)
                        case UInt8(ascii: "\\"), UInt8(ascii: "\""): literals.append(bytes[i])
                        default: throw error(i, "unknown escape '\\\(character(i))' (known: \\n \\t \\\\ \\\")")
                        }
                    } else {
                        if bytes[i] & 0xC0 == 0x80 { continuations += 1 }
                        literals.append(bytes[i])
                    }
                    i += 1
                }
                guard i < end else { throw error(start, "unterminated string") }
                i += 1
                tokens.append(Token(kind: .string, column: startColumn, id: literals.intern()))
                continue
            }
            let n = punct(bytes, i, end)
            guard n > 0 else { throw error(start, "unexpected character '\(character(start))'") }
            tokens.append(Token(kind: .punct, column: startColumn, id: Self.code(bytes[start], n)))
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
