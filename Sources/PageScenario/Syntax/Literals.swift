// A script's strings' and bytes' contents (`"text"`, `x"01"`), each distinct one kept
// once for the whole parse: a token refers to its literal by number, and every line that
// writes the same bytes shares one array. A profile showed each line's `x"01"` array
// (grown byte by byte, then freed with its line's statement) as two allocations a line.

struct Literals {
    /// The distinct contents seen, by their bytes.
    private var interner = Interner(seed: [])
    /// Each literal's bytes, by number.
    private(set) var values: [[UInt8]] = []
    /// The literal being lexed.
    private var scratch: [UInt8] = []

    /// Starts a literal.
    mutating func begin() {
        // Emptied from the end: removeAll(keepingCapacity:) goes through the generic
        // replaceSubrange.
        while !scratch.isEmpty { scratch.removeLast() }
    }

    /// Adds a byte to the literal being lexed.
    mutating func append(_ byte: UInt8) { scratch.append(byte) }

    /// The number of the literal just lexed, kept if new.
    mutating func intern() -> Int32 {
        let id = scratch.withUnsafeBufferPointer { interner.intern($0) }
        if id == values.count { values.append(Array(scratch)) }
        return Int32(id)
    }
}
