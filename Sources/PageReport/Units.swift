// Units for people: binary byte sizes, percentages, durations.

public enum Units {
    /// `1536` → "1.5 KiB"; exact bytes below 1 KiB. Binary units, as the kernel prints them.
    public static func bytes(_ count: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var value = Double(count)
        var unit = 0
        while abs(value) >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(count) B" }
        return "\(format(value, decimals: value < 10 ? 2 : value < 100 ? 1 : 0)) \(units[unit])"
    }

    public static func bytes(_ count: Int) -> String { bytes(Int64(count)) }

    /// `part / whole` as a percentage with the given decimals: "1.56 %".
    public static func percent(_ part: Double, of whole: Double, decimals: Int = 2) -> String {
        guard whole != 0 else { return "-" }
        return "\(format(100 * part / whole, decimals: decimals)) %"
    }

    /// Seconds as "812 ns", "3.4 µs", "12.5 ms" or "2.31 s".
    public static func duration(seconds: Double) -> String {
        switch abs(seconds) {
        case ..<1e-6: "\(format(seconds * 1e9, decimals: 1)) ns"
        case ..<1e-3: "\(format(seconds * 1e6, decimals: 1)) µs"
        case ..<1: "\(format(seconds * 1e3, decimals: 1)) ms"
        default: "\(format(seconds, decimals: 2)) s"
        }
    }

    /// Fixed-point formatting without Foundation's locale machinery.
    public static func format(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return "\(value)" }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        let integer = Int64(scaled / scale)
        var text = (value < 0 && scaled != 0 ? "-" : "") + String(integer)
        if decimals > 0 {
            let fraction = Int64(scaled) - integer * Int64(scale)
            let digits = String(fraction)
            text += "." + String(repeating: "0", count: decimals - digits.count) + digits
        }
        return text
    }
}
