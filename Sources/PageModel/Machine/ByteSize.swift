// Sizes as people type them: 256M, 64G, 1T, 4096.

/// Parses a byte count with an optional binary suffix (K, M, G, T, P; KiB/MiB/... and
/// B accepted), as `pagelab machine --ram` takes it.
public enum ByteSize {
    public static func parse(_ text: String) throws(MachineError) -> UInt64 {
        var digits = Substring(text.uppercased().filter { $0 != " " })
        for suffix in ["IB", "B"] where digits.hasSuffix(suffix) {
            digits = digits.dropLast(suffix.count)
            break
        }
        var shift: UInt64 = 0
        let units = "KMGTP"
        if let last = digits.last, let index = units.firstIndex(of: last) {
            shift = 10 * UInt64(units.distance(from: units.startIndex, to: index) + 1)
            digits = digits.dropLast()
        }
        if digits.first == "-", digits.count > 1, digits.dropFirst().allSatisfy({ $0.isASCII && $0.isNumber }) {
            throw .sizeOutOfRange(text, reason: "a size cannot be negative")
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else { throw .badSize(text) }
        guard let value = UInt64(digits), value <= UInt64.max >> shift else {
            throw .sizeOutOfRange(text, reason: "too large (a size is at most 2^64 - 1 bytes)")
        }
        return value << shift
    }
}
