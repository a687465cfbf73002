// `pagelab flags` as text: page->flags drawn as a labelled bar, then the kernel's numbers.
import PageLayout

public enum FlagsText {
    /// The whole text report of one budget. `baseline` is the same configuration without
    /// the "what if" flags (nil when none were added); `structPageSize` gives the size of
    /// struct page for a budget's layout inputs, when known. The first line names the
    /// configuration, as `source` says it.
    /// `kernel` says which kernel version's tables apply and why (`kernel 6.1 (6.1.170,
    /// from the header of FILE)`); without it the line names the version alone.
    public static func render(_ budget: FlagsBudget, baseline: FlagsBudget? = nil, source: String,
                              structPageSize: ((FlagsBudget) -> Int)? = nil, kernel: String? = nil) -> String {
        var out = "Kernel configuration: \(source)\n"
        let config = budget.config
        out += "  \(config.arch), BITS_PER_LONG \(budget.bitsPerLong), \(config.memoryModel.rawValue)"
        if config.memoryModel != .flatmem {
            out += ", SECTION_SIZE_BITS \(config.sectionSizeBits), MAX_PHYSMEM_BITS \(config.maxPhysmemBits)"
        }
        out += "\n  \(kernel ?? "kernel \(config.kernel)"): its enum pageflags and page-flags-layout.h\n\n"
        out += bar(budget)
        out += "\n"
        out += numbers(budget, structPageSize: structPageSize)
        out += "\n"
        out += flagList(budget)
        if let baseline {
            out += "\nWhat if \(budget.addedFlags.joined(separator: ", ")) were added to enum pageflags:\n"
            for line in changes(budget, since: baseline, structPageSize: structPageSize) { out += "  - \(line)\n" }
        }
        return out
    }

    /// What the "what if" flags change, one line each, the size of struct page last (the
    /// text and the JSON `changes` list the same lines).
    public static func changes(_ budget: FlagsBudget, since baseline: FlagsBudget,
                               structPageSize: ((FlagsBudget) -> Int)?) -> [String] {
        var lines = budget.changes(since: baseline)
        if let structPageSize {
            lines.append("sizeof(struct page) \(structPageSize(baseline)) -> \(structPageSize(budget)) bytes")
        }
        return lines
    }

    /// page->flags as one character per bit, high bit left, with a bit ruler above, the
    /// field names below where they fit, and a legend with each field's width, bits and
    /// PGSHIFT.
    public static func bar(_ budget: FlagsBudget) -> String {
        let bits = budget.bitsPerLong
        let segments = FlagsSegment.segments(of: budget)
        let indent = "  "
        var out = "page->flags, \(bits) bits, high bit left:\n"
        // Ruler: bit numbers at the top bit and every multiple of 8.
        var numbers = [Character](repeating: " ", count: bits + 2)
        var ticks = [Character](repeating: " ", count: bits)
        for bit in stride(from: bits - 1, through: 0, by: -1) where bit == bits - 1 || bit % 8 == 0 {
            let column = bits - 1 - bit
            ticks[column] = "|"
            for (offset, digit) in String(bit).enumerated() where column + offset < numbers.count {
                numbers[column + offset] = digit
            }
        }
        out += indent + String(numbers).trimmingTrailingSpaces() + "\n"
        out += indent + String(ticks).trimmingTrailingSpaces() + "\n"
        out += indent + String(segments.flatMap { Array(repeating: $0.glyph, count: $0.width) }) + "\n"
        // Labels centred in the segments wide enough for them.
        var labels = [Character](repeating: " ", count: bits)
        for segment in segments {
            let text = segment.label
            guard segment.width >= text.count else { continue }
            let start = bits - 1 - segment.high + (segment.width - text.count) / 2
            for (offset, character) in text.enumerated() { labels[start + offset] = character }
        }
        out += indent + String(labels).trimmingTrailingSpaces() + "\n\n"
        var legend = TextTable(["bar", "field", "width", "bits", "PGSHIFT"],
                               alignments: [.left, .left, .right, .right, .right])
        for segment in segments {
            var shift = ""
            if case .field(let name) = segment.kind, let field = budget.field(name) {
                shift = String(field.pgshift)
            }
            let range = segment.width == 1 ? "\(segment.low)" : "\(segment.high)-\(segment.low)"
            legend.append([String(segment.glyph), segment.label, String(segment.width), range, shift])
        }
        out += legend.render(indent: indent)
        return out
    }

    /// The kernel's macros and their values, with what they mean.
    public static func numbers(_ budget: FlagsBudget, structPageSize: ((FlagsBudget) -> Int)? = nil) -> String {
        var table = TextTable(["macro", "value", "note"], alignments: [.left, .right, .left])
        func yesNo(_ value: Bool) -> String { value ? "yes" : "no" }
        table.append(["BITS_PER_LONG", String(budget.bitsPerLong), ""])
        table.append(["NR_PAGEFLAGS", String(budget.nrPageflags),
                      budget.addedFlags.isEmpty ? "enum pageflags" : "with \(budget.addedFlags.count) added"])
        table.append(["MAX_NR_ZONES", String(budget.maxNrZones), budget.zones.map(\.rawValue).joined(separator: " ")])
        table.append(["ZONES_WIDTH", String(budget.zonesWidth), ""])
        table.append(["SECTIONS_WIDTH", String(budget.sectionsWidth),
                      budget.sectionsShift > 0 ? "SECTIONS_SHIFT \(budget.sectionsShift)"
                        + (budget.sectionsWidth == 0 ? ", not kept with vmemmap" : "") : "no sparsemem"])
        table.append(["NODES_SHIFT", String(budget.nodesShift), "MAX_NUMNODES \(1 << budget.nodesShift)"])
        table.append(["NODES_WIDTH", String(budget.nodesWidth), ""])
        table.append(["KASAN_TAG_WIDTH", String(budget.kasanTagWidth), ""])
        table.append(["LAST_CPUPID_SHIFT", String(budget.lastCpupidShift),
                      budget.lastCpupidShift > 0 ? "8 pid bits + NR_CPUS_BITS \(budget.nrCpusBits)" : "no NUMA_BALANCING"])
        table.append(["LAST_CPUPID_WIDTH", String(budget.lastCpupidWidth), ""])
        table.append(["LRU_GEN_WIDTH", String(budget.lruGenWidth), budget.lruGenWidth > 0 ? "" : "no LRU_GEN"])
        table.append(["LRU_REFS_WIDTH", String(budget.lruRefsWidth),
                      budget.lruRefsWidth < budget.lruRefsWanted ? "clamped from \(budget.lruRefsWanted)" : ""])
        table.append(["NR_NON_PAGEFLAG_BITS", String(budget.nrNonPageflagBits), "counts LAST_CPUPID_SHIFT"])
        let defined = PageFlagsLayoutRules(budget.config.kernel).definesUnusedBits
        table.append(["NR_UNUSED_PAGEFLAG_BITS", String(budget.unusedBits),
                      defined ? "as the kernel computes it" : "as 6.18 computes it; \(budget.config.kernel) has no such macro"])
        table.append(["(bits really free)", String(budget.freeBits), ""])
        table.append(["NODE_NOT_IN_PAGE_FLAGS", yesNo(budget.nodeNotInPageFlags),
                      budget.nodeNotInPageFlags ? "node from section_to_node_table[]" : ""])
        table.append(["LAST_CPUPID_NOT_IN_PAGE_FLAGS", yesNo(budget.lastCpupidNotInPageFlags),
                      budget.lastCpupidNotInPageFlags ? "int _last_cpupid in struct page" : ""])
        if let structPageSize {
            table.append(["sizeof(struct page)", String(structPageSize(budget)), "bytes"])
        }
        table.append(["build", budget.error == nil ? "ok" : "#error", budget.error.map { "\"\($0)\"" } ?? ""])
        return table.render(indent: "  ")
    }

    /// `enum pageflags` with bit numbers, wrapped.
    public static func flagList(_ budget: FlagsBudget) -> String {
        var out = "enum pageflags (\(budget.nrPageflags)):\n"
        var line = " "
        for flag in budget.flags {
            let item = " \(flag.name)=\(flag.bit)" + (flag.added ? "(+)" : "")
            if line.count + item.count > 88 {
                out += line + "\n"
                line = " "
            }
            line += item
        }
        return out + line + "\n"
    }
}

extension String {
    func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }
}
