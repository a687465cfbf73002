// The kernel versions PageLab models: mainline v6.19 and the LTS/distribution versions
// people run (5.15, 6.1, 6.6, 6.12, 6.18). Each version's `enum pageflags`,
// page-flags-layout.h rules and struct page come from that version's own source; the
// tables cite it (see PageFlagsHistory.swift, StructPageHistory.swift).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A kernel version as `major.minor` (a stable point release such as 6.1.192 has the
/// descriptors of its 6.1 series: page flags and struct members change only between
/// series).
public struct KernelVersion: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public let major: Int
    public let minor: Int

    public init(_ major: Int, _ minor: Int) {
        self.major = major
        self.minor = minor
    }

    public static let v5_15 = KernelVersion(5, 15)
    public static let v6_1 = KernelVersion(6, 1)
    public static let v6_6 = KernelVersion(6, 6)
    public static let v6_12 = KernelVersion(6, 12)
    public static let v6_18 = KernelVersion(6, 18)
    public static let v6_19 = KernelVersion(6, 19)

    /// The versions PageLab has tables for, oldest first. v6.19 is the model's own.
    public static let known: [KernelVersion] = [.v5_15, .v6_1, .v6_6, .v6_12, .v6_18, .v6_19]
    /// The version the model (PageModel, the designs, the presets) is written for.
    public static let reference = KernelVersion.v6_19

    public var description: String { "\(major).\(minor)" }

    public static func < (lhs: KernelVersion, rhs: KernelVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }

    /// `major.minor` of a release string: "6.1", "6.1.192", "6.18.44-fc-v1272",
    /// "6.19.0-rc3". Nil when it does not start with two dot-separated numbers.
    public init?(release: String) {
        let digitsAndDots = release.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        let parts = digitsAndDots.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].count <= 3, parts[1].count <= 3,
              let major = Int(parts[0]), let minor = Int(parts[1]) else { return nil }
        self.init(major, minor)
    }

    /// The version a `--kernel` argument names, which must be one PageLab knows.
    /// Throws `.unknownName` naming the known versions.
    public static func named(_ text: String) throws(LayoutError) -> KernelVersion {
        guard let version = KernelVersion(release: text), known.contains(version) else {
            throw .unknownName(kind: "kernel version", name: text, known: known.map(\.description))
        }
        return version
    }

    /// The release named by a kconfig header line, `# Linux/x86 6.18.44 Kernel
    /// Configuration` (scripts/kconfig/confdata.c, conf_write_heading()), as written:
    /// "6.18.44". Nil for any other line.
    public static func release(fromHeader line: Substring) -> String? {
        let words = line.split(separator: " ")
        guard words.count == 5, words[0] == "#", words[1].hasPrefix("Linux/"),
              words[3] == "Kernel", words[4] == "Configuration",
              KernelVersion(release: String(words[2])) != nil else { return nil }
        return String(words[2])
    }

    /// The running kernel's release (`uname -r`), or nil when it cannot be read.
    public static func runningRelease() -> String? {
        var names = utsname()
        guard uname(&names) == 0 else { return nil }
        let release = withUnsafeBytes(of: &names.release) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
        return release.isEmpty ? nil : release
    }
}
