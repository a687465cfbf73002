// Parses /proc/iomem (kernel/resource.c, r_show()): the "System RAM" ranges. Holes in
// the physical address space read as 0 in /proc/kpageflags on recent kernels, not as
// KPF_NOPAGE, so RAM has to come from here.

/// The System RAM ranges of /proc/iomem, as half-open pfn ranges, sorted and merged.
public struct Iomem: Sendable, Equatable {
    public let ramRanges: [Range<Int>]

    public init(ramRanges: [Range<Int>]) {
        var merged: [Range<Int>] = []
        for range in ramRanges.sorted(by: { $0.lowerBound < $1.lowerBound }) where !range.isEmpty {
            if let last = merged.last, last.upperBound >= range.lowerBound {
                merged[merged.count - 1] = last.lowerBound..<max(last.upperBound, range.upperBound)
            } else {
                merged.append(range)
            }
        }
        self.ramRanges = merged
    }

    /// Top-level "System RAM" lines, `start-end : System RAM` with inclusive hex byte
    /// addresses, rounded inward to whole pages as `walk_system_ram_range()` does
    /// (`0x9fbff` ends pfn 0x9f's RAM at 0x9f000, so pfn 0x9f is not RAM). A malformed
    /// System RAM line, or one beyond MAX_PHYSMEM_BITS, is left out (`init(validating:)`
    /// says which one).
    public init(parsing text: String, pageShift: Int = 12) {
        var ranges: [Range<Int>] = []
        for line in text.split(separator: "\n") {
            if case .ram(let range)? = try? Self.ramRange(line, pageShift: pageShift) { ranges.append(range) }
        }
        self.init(ramRanges: ranges)
    }

    /// The same, but a System RAM line that is malformed (not two hex addresses, end
    /// before start) or reaches beyond 2^52 (`SnapshotInfo.maxPhysmemBits`) is an error
    /// naming its line.
    public init(validating text: String, pageShift: Int = 12) throws(InputProblem) {
        var ranges: [Range<Int>] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            do {
                if case .ram(let range)? = try Self.ramRange(line, pageShift: pageShift) { ranges.append(range) }
            } catch {
                throw InputProblem(file: "iomem", line: index + 1, reason: error.reason)
            }
        }
        self.init(ramRanges: ranges)
    }

    private enum Line { case ram(Range<Int>) }

    /// One line: nil when it is not a top-level System RAM line, `.ram` with its whole
    /// pages (possibly empty), or a problem for a System RAM line that cannot be right.
    private static func ramRange(_ line: Substring, pageShift: Int) throws(InputProblem) -> Line? {
        guard !line.hasPrefix(" ") else { return nil }
        let parts = line.split(separator: ":", maxSplits: 1)
        guard parts.count == 2, parts[1].trimmingSpaces == "System RAM" else { return nil }
        let bounds = parts[0].trimmingSpaces.split(separator: "-")
        let limit = UInt64(1) << UInt64(SnapshotInfo.maxPhysmemBits)
        guard bounds.count == 2, let start = UInt64(bounds[0], radix: 16), let end = UInt64(bounds[1], radix: 16), end >= start else {
            throw InputProblem(file: "iomem", line: nil, reason: "\(parts[0].trimmingSpaces) is not a range start-end of hex addresses")
        }
        guard end < limit else {
            throw InputProblem(file: "iomem", line: nil, reason: "System RAM ending at 0x\(String(end, radix: 16)) lies beyond MAX_PHYSMEM_BITS (\(SnapshotInfo.maxPhysmemBits))")
        }
        let pageSize = UInt64(1) << UInt64(pageShift)
        // Both below 2^52: no overflow.
        let first = Int((start + pageSize - 1) >> UInt64(pageShift))
        let last = Int((end + 1) >> UInt64(pageShift))
        return .ram(first..<max(first, last))
    }

    public var ramPages: Int { ramRanges.reduce(0) { $0 + $1.count } }

    /// Pfns that have a memmap: whole memory sections (SPARSEMEM, `PAGES_PER_SECTION`)
    /// that hold any RAM. Linux: `sparse_init()` allocates memmap per present section.
    public func memmapPages(pagesPerSection: Int) -> Int {
        var count = 0
        var lastSection = -1
        for range in ramRanges {
            let first = max(range.lowerBound / pagesPerSection, lastSection + 1)
            let last = (range.upperBound - 1) / pagesPerSection
            if last >= first { count += (last - first + 1) * pagesPerSection }
            lastSection = max(lastSection, last)
        }
        return count
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let c = s.first, c == " " || c == "\t" { s.removeFirst() }
        while let c = s.last, c == " " || c == "\t" { s.removeLast() }
        return s
    }
}
