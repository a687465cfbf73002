// `--format json`: stable keys, in the kernel's vocabulary, documented in the README.
import Foundation

public enum JSONOutput {
    /// Encodes `value` with sorted keys (so output is stable from run to run) and
    /// pretty printing, ending in a newline. Key names are spelled out by each type's
    /// CodingKeys in the kernel's own vocabulary (`nr_pageflags`, `unused_bits`, ...).
    public static func string<T: Encodable>(_ value: T) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        // Encoding PageLab's own value types cannot fail: they hold no floats that are
        // not finite and no non-string dictionary keys.
        guard let data = try? encoder.encode(value) else { return "null\n" }
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
