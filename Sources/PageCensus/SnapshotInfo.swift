import PageLayout

// What a census records about the machine besides its pfns.

/// The kernel and machine a census was taken on, and the /proc text files read with it.
public struct SnapshotInfo: Sendable, Equatable {
    /// `uname -r`, e.g. "6.18.44-fc-v595".
    public var kernelRelease: String
    /// The whole /proc/version line.
    public var kernelVersion: String
    /// The machine's name (`uname -n`), to tell machines apart in a fleet view.
    public var machine: String
    /// `uname -m`, e.g. "x86_64".
    public var arch: String
    /// PAGE_SIZE in bytes.
    public var pageSize: Int
    /// PAGES_PER_SECTION (SPARSEMEM: 1 << (SECTION_SIZE_BITS - PAGE_SHIFT)).
    public var pagesPerSection: Int
    /// Seconds since the epoch when the census was taken.
    public var createdAt: Int
    /// The /proc files read with the census, by name ("iomem", "zoneinfo", "buddyinfo",
    /// "vmstat", "meminfo", "config.gz"), as raw bytes.
    public var files: [String: [UInt8]]

    public init(kernelRelease: String, kernelVersion: String = "", machine: String = "", arch: String = "x86_64",
                pageSize: Int = 4096, pagesPerSection: Int = 1 << 15, createdAt: Int = 0, files: [String: [UInt8]] = [:]) {
        self.kernelRelease = kernelRelease
        self.kernelVersion = kernelVersion
        self.machine = machine
        self.arch = arch
        self.pageSize = pageSize
        self.pagesPerSection = pagesPerSection
        self.createdAt = createdAt
        self.files = files
    }

    /// PageLayout's architecture for `uname -m` (nil for one PageLab does not lay out).
    public var layoutArch: Arch? { Self.layoutArch(uname: arch) }

    public static func layoutArch(uname machine: String) -> Arch? {
        switch machine {
        case "x86_64", "amd64": .x86_64
        case "aarch64", "arm64": .arm64
        case "i386", "i486", "i586", "i686": .i386
        case _ where machine.hasPrefix("armv"): .arm
        default: nil
        }
    }

    public func text(_ name: String) -> String? {
        files[name].map { String(decoding: $0, as: UTF8.self) }
    }

    /// The /proc text files a census reads besides the three pfn files.
    public static let procFiles = ["iomem", "zoneinfo", "buddyinfo", "vmstat", "meminfo", "config.gz"]
    /// Files kept when they can be read, left out without an error when they cannot:
    /// /proc/vmallocinfo is root's only (0400, mm/vmalloc.c proc_vmalloc_init()).
    public static let optionalProcFiles = ["vmallocinfo"]
}
