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
    /// (`0x9fbff` ends pfn 0x9f's RAM at 0x9f000, so pfn 0x9f is not RAM).
    public init(parsing text: String, pageShift: Int = 12) {
        var ranges: [Range<Int>] = []
        for line in text.split(separator: "\n") where !line.hasPrefix(" ") {
            let parts = line.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, parts[1].trimmingSpaces == "System RAM" else { continue }
            let bounds = parts[0].trimmingSpaces.split(separator: "-")
            guard bounds.count == 2, let start = Int(bounds[0], radix: 16), let end = Int(bounds[1], radix: 16),
                  end >= start else { continue }
            let pageSize = 1 << pageShift
            let first = (start + pageSize - 1) >> pageShift
            let last = (end + 1) >> pageShift
            if last > first { ranges.append(first..<last) }
        }
        self.init(ramRanges: ranges)
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
