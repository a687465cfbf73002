// The parser's table of names (symbols, operations, queries): open addressing on an
// FNV-1a hash of the name's UTF-8 bytes. Dictionary<String, _> hashes every lookup with
// SipHash through Hasher (seed, combine, finalize): a profile of the parser showed that
// and the bucket search as a tenth of its time, for names a few bytes long.

struct NameTable<Value> {
    /// Names and values; a name once entered keeps its place (setting nil leaves the key
    /// with no value, so no probe chain is ever broken and no tombstone is needed).
    private var slots: [(key: String, value: Value?)?]
    private var used = 0

    init(capacity: Int = 64) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: nil, count: size)
    }

    init(_ pairs: [(String, Value)]) {
        self.init(capacity: pairs.count)
        for (key, value) in pairs { self[key] = value }
        names = pairs
    }

    /// The names and values it was made with, in order.
    private(set) var names: [(String, Value)] = []

    /// FNV-1a (64-bit) of the UTF-8 bytes.
    private static func hash(_ name: String) -> Int {
        var name = name
        return name.withUTF8 { fnv1a($0) }
    }

    /// The slot holding `name`, or the empty one where it would go.
    private func find(_ name: String) -> Int {
        let mask = slots.count - 1
        var i = Self.hash(name) & mask
        while let slot = slots[i], slot.key != name { i = (i + 1) & mask }
        return i
    }

    subscript(name: String) -> Value? {
        get { slots[find(name)]?.value }
        set {
            let i = find(name)
            if slots[i] != nil {
                slots[i]!.value = newValue
                return
            }
            guard let newValue else { return }
            slots[i] = (name, newValue)
            used += 1
            if used * 2 > slots.count { grow() }
        }
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: nil, count: old.count * 2)
        used = 0
        for case let (key, value?)? in old { self[key] = value }
    }
}

extension NameTable: Sendable where Value: Sendable {}
