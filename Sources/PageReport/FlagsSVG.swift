// page->flags as an SVG bar for the HTML report: one cell per bit, high bit left, fields
// coloured and labelled, bit numbers at every field boundary.
import PageLayout

public enum FlagsSVG {
    /// A self-contained SVG picture of `budget`'s page->flags.
    public static func render(_ budget: FlagsBudget, title: String? = nil) -> String {
        let bits = budget.bitsPerLong
        let cell = bits > 32 ? 14 : 24
        let left = 20, top = title == nil ? 24 : 48, barHeight = 44
        let width = left * 2 + bits * cell
        let height = top + barHeight + 56
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" "
            + "viewBox=\"0 0 \(width) \(height)\" font-family=\"monospace\" font-size=\"11\">\n"
        if let title {
            svg += "  <text x=\"\(left)\" y=\"20\" font-size=\"14\">\(HTML.escape(title))</text>\n"
        }
        for segment in FlagsSegment.segments(of: budget) {
            let x = left + (bits - 1 - segment.high) * cell
            let w = segment.width * cell
            svg += "  <g><title>\(HTML.escape(tooltip(segment, budget)))</title>\n"
            svg += "    <rect x=\"\(x)\" y=\"\(top)\" width=\"\(w)\" height=\"\(barHeight)\" "
                + "fill=\"\(colour(segment.kind))\" stroke=\"#333\"/>\n"
            // Thin ticks for each bit inside the segment.
            for bit in 1..<segment.width {
                let tx = x + bit * cell
                svg += "    <line x1=\"\(tx)\" y1=\"\(top + barHeight - 6)\" x2=\"\(tx)\" y2=\"\(top + barHeight)\" stroke=\"#666\"/>\n"
            }
            let label = segment.label
            if w >= label.count * 7 + 4 {
                svg += "    <text x=\"\(x + w / 2)\" y=\"\(top + barHeight / 2 + 4)\" text-anchor=\"middle\">\(HTML.escape(label))</text>\n"
            } else if w >= 10 {
                svg += "    <text x=\"\(x + w / 2)\" y=\"\(top + barHeight / 2 + 4)\" text-anchor=\"middle\">\(segment.glyph)</text>\n"
            }
            svg += "    <text x=\"\(x + w / 2)\" y=\"\(top + barHeight + 14)\" text-anchor=\"middle\" fill=\"#555\">\(segment.width)</text>\n"
            svg += "  </g>\n"
        }
        // Bit numbers at the segment boundaries.
        for segment in FlagsSegment.segments(of: budget) {
            let x = left + (bits - 1 - segment.high) * cell + cell / 2
            svg += "  <text x=\"\(x)\" y=\"\(top - 6)\" text-anchor=\"middle\" fill=\"#555\">\(segment.high)</text>\n"
        }
        svg += "  <text x=\"\(left + bits * cell - cell / 2)\" y=\"\(top - 6)\" text-anchor=\"middle\" fill=\"#555\">0</text>\n"
        let summary = "NR_PAGEFLAGS \(budget.nrPageflags), NR_UNUSED_PAGEFLAG_BITS \(budget.unusedBits), "
            + "free \(budget.freeBits)" + (budget.error.map { ", #error \"\($0)\"" } ?? "")
        svg += "  <text x=\"\(left)\" y=\"\(top + barHeight + 38)\">\(HTML.escape(summary))</text>\n"
        svg += "</svg>\n"
        return svg
    }

    private static func tooltip(_ segment: FlagsSegment, _ budget: FlagsBudget) -> String {
        let range = segment.width == 1 ? "bit \(segment.low)" : "bits \(segment.high)-\(segment.low)"
        switch segment.kind {
        case .flags, .addedFlags:
            let names = budget.flags.filter { $0.bit >= segment.low && $0.bit <= segment.high }.map(\.name)
            return "\(segment.label), \(range): " + names.joined(separator: " ")
        case .field(let name):
            let shift = budget.field(name)?.pgshift ?? 0
            return "\(name)_WIDTH \(segment.width), \(range), \(name)_PGSHIFT \(shift)"
        default:
            return "\(segment.label), \(range)"
        }
    }

    private static func colour(_ kind: FlagsSegment.Kind) -> String {
        switch kind {
        case .field("SECTIONS"): "#c9b3e6"
        case .field("NODES"): "#9ecae1"
        case .field("ZONES"): "#a1d99b"
        case .field("LAST_CPUPID"): "#fdae6b"
        case .field("KASAN_TAG"): "#fc9272"
        case .field("LRU_GEN"): "#fdd0a2"
        case .field("LRU_REFS"): "#fee6ce"
        case .field: "#dddddd"
        case .unused: "#ffffff"
        case .flags: "#d9d9d9"
        case .addedFlags: "#fb6a4a"
        case .overlap: "#a50f15"
        }
    }
}
