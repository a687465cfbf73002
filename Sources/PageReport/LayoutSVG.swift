// Descriptor layouts as SVG: each struct as rows of bytes, one row per word, with its
// union arms side by side so that aliasing can be seen. A pure function of the layouts,
// used by `pagelab layout --format svg` and inlined by the HTML report.
import PageLayout

public enum LayoutSVG {
    /// Pixels of one byte cell and one word row.
    static let byteWidth = 14
    static let rowHeight = 18
    static let columnGap = 6
    static let leftMargin = 48
    static let titleHeight = 26
    static let legendRowHeight = 16
    static let structGap = 24

    /// One SVG document with every struct stacked vertically. `wordSize` is
    /// sizeof(long) of the configuration the layouts were computed for (one row per
    /// word). With `standalone`, the XML declaration is included (for a .svg file);
    /// without it, the `<svg>` element can be inlined in HTML.
    public static func render(_ layouts: [StructLayout], wordSize: Int, title: String? = nil,
                              standalone: Bool = true) -> String {
        let word = max(1, wordSize)
        var body = ""
        var y = 8
        var width = 320
        if let title {
            body += text(x: 8, y: y + 14, title, size: 15, weight: "bold")
            y += titleHeight
        }
        for layout in layouts {
            let drawn = structGroup(layout, word: word, top: y)
            body += drawn.svg
            y += drawn.height + structGap
            width = max(width, drawn.width + 16)
        }
        let height = y
        var svg = standalone ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" : ""
        svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" "
        svg += "viewBox=\"0 0 \(width) \(height)\" font-family=\"monospace\" font-size=\"10\">\n"
        svg += "<rect x=\"0\" y=\"0\" width=\"\(width)\" height=\"\(height)\" fill=\"#ffffff\"/>\n"
        svg += body
        svg += "</svg>\n"
        return svg
    }

    /// Assigns each member a column so that no two members in one column share a byte:
    /// members outside unions and the first arm of each union land in column 0, other
    /// arms to the right, each arm kept in one column where it fits.
    static func columns(for layout: StructLayout) -> [Int] {
        var occupied: [[LayoutField]] = []
        var preferred: [String: Int] = [:]
        var result: [Int] = []
        for field in layout.fields {
            let key = field.armPath.joined(separator: "/")
            func fits(_ column: Int) -> Bool {
                column < occupied.count
                    ? !occupied[column].contains { $0.overlaps(offset: field.offset, size: max(field.size, 1)) && !sameBitfieldUnit($0, field) }
                    : true
            }
            var column = preferred[key].flatMap { fits($0) ? $0 : nil } ?? 0
            while !fits(column) { column += 1 }
            if column >= occupied.count { occupied.append(contentsOf: Array(repeating: [], count: column - occupied.count + 1)) }
            occupied[column].append(field)
            if preferred[key] == nil { preferred[key] = column }
            result.append(column)
        }
        return result
    }

    private static func sameBitfieldUnit(_ a: LayoutField, _ b: LayoutField) -> Bool {
        a.bitWidth != nil && b.bitWidth != nil && a.offset == b.offset && a.armPath == b.armPath
    }

    private static func structGroup(_ layout: StructLayout, word: Int, top: Int) -> (svg: String, width: Int, height: Int) {
        let columnOf = columns(for: layout)
        let columnCount = max(1, (columnOf.max() ?? 0) + 1)
        let columnWidth = word * byteWidth
        let rows = max(1, (layout.size + word - 1) / word)
        let gridTop = top + titleHeight
        let gridWidth = columnCount * columnWidth + (columnCount - 1) * columnGap
        var svg = "<g class=\"struct\" id=\"struct-\(HTML.escape(layout.name))\">\n"
        svg += text(x: 8, y: top + 16, "struct \(layout.name): \(layout.size) bytes, align \(layout.align)"
                    + (layout.note.map { " (\($0))" } ?? ""), size: 12, weight: "bold")
        // Row labels (byte offset of each word) and the empty byte grid of each column.
        for row in 0..<rows {
            let y = gridTop + row * rowHeight
            svg += text(x: leftMargin - 6, y: y + 13, String(row * word), anchor: "end", fill: "#555555")
            for column in 0..<columnCount {
                let x = leftMargin + column * (columnWidth + columnGap)
                svg += "<rect x=\"\(x)\" y=\"\(y)\" width=\"\(columnWidth)\" height=\"\(rowHeight)\" fill=\"none\" stroke=\"#dddddd\"/>\n"
            }
        }
        let arms = layout.arms
        for (index, field) in layout.fields.enumerated() {
            let x0 = leftMargin + columnOf[index] * (columnWidth + columnGap)
            let fill = color(for: field.arm, in: arms)
            svg += fieldShape(field, word: word, x0: x0, gridTop: gridTop, fill: fill)
        }
        for hole in layout.holes {
            let fakeField = LayoutField(name: hole.isTailPadding ? "padding" : "hole", offset: hole.offset,
                                        size: hole.size, type: "", kind: .padding)
            svg += fieldShape(fakeField, word: word, x0: leftMargin, gridTop: gridTop, fill: "none", dashed: true)
        }
        // Legend: one swatch per union arm.
        var legendY = gridTop + rows * rowHeight + 8
        var legendX = leftMargin
        for arm in [nil] + arms.map(Optional.some) {
            let label = arm ?? "(no union)"
            let swatchWidth = 14 + label.count * 6 + 16
            if legendX + swatchWidth > max(gridWidth + leftMargin, 420) {
                legendX = leftMargin
                legendY += legendRowHeight
            }
            svg += "<rect x=\"\(legendX)\" y=\"\(legendY)\" width=\"10\" height=\"10\" fill=\"\(color(for: arm, in: arms))\" stroke=\"#333333\"/>\n"
            svg += text(x: legendX + 14, y: legendY + 9, label)
            legendX += swatchWidth
        }
        svg += "</g>\n"
        let height = legendY + legendRowHeight - top
        return (svg, max(leftMargin + gridWidth, 420) + 8, height)
    }

    /// The member as one rectangle per run of rows it covers (a sub-word member is part
    /// of one row), labelled in its first rectangle, with a tooltip.
    private static func fieldShape(_ field: LayoutField, word: Int, x0: Int, gridTop: Int, fill: String,
                                   dashed: Bool = false) -> String {
        var segments: [(row: Int, first: Int, last: Int)] = []
        var byte = field.offset
        let end = max(field.end, field.offset + 1)
        while byte < end {
            let row = byte / word
            let rowEnd = min(end, (row + 1) * word)
            segments.append((row, byte % word, rowEnd - 1 - row * word))
            byte = rowEnd
        }
        // Merge full-width rows in sequence into one rectangle.
        var rects: [(x: Int, y: Int, w: Int, h: Int)] = []
        for segment in segments {
            var x = x0 + segment.first * byteWidth
            var w = (segment.last - segment.first + 1) * byteWidth
            let y = gridTop + segment.row * rowHeight
            if let bit = field.bitOffset, let width = field.bitWidth {
                // A bitfield covers its bits of the storage unit; on little-endian
                // targets bit 0 is in the unit's first (leftmost) byte.
                x += bit * byteWidth / 8
                w = max(2, width * byteWidth / 8)
            }
            if let last = rects.last, last.x == x, last.w == w, last.y + last.h == y, w == word * byteWidth {
                rects[rects.count - 1].h += rowHeight
            } else {
                rects.append((x, y, w, rowHeight))
            }
        }
        var title = "\(field.name) @\(field.offset), \(field.size) bytes"
        if !field.type.isEmpty { title += ", \(field.type)" }
        if !field.armPath.isEmpty { title += ", arm \(field.armPath.joined(separator: "/"))" }
        if let note = field.note { title += ": \(note)" }
        var svg = "<g><title>\(HTML.escape(title))</title>\n"
        let stroke = dashed ? " stroke-dasharray=\"3,2\"" : ""
        for rect in rects {
            svg += "<rect x=\"\(rect.x + 1)\" y=\"\(rect.y + 1)\" width=\"\(rect.w - 2)\" height=\"\(rect.h - 2)\" "
            svg += "fill=\"\(fill)\" stroke=\"#333333\"\(stroke) rx=\"2\"/>\n"
        }
        if let first = rects.first {
            let label = fitted(field.bitWidth.map { "\(field.name):\($0)" } ?? field.name, width: first.w - 4)
            if !label.isEmpty {
                svg += "<text x=\"\(first.x + 2)\" y=\"\(first.y + min(first.h, rowHeight) / 2 + 4)\">\(HTML.escape(label))</text>\n"
            }
        }
        svg += "</g>\n"
        return svg
    }

    /// The label cut to what fits in `width` pixels (6 per character at 10 px
    /// monospace), ending in "~" when cut; the tooltip keeps the full name.
    static func fitted(_ label: String, width: Int) -> String {
        let room = width / 6
        guard label.count > room else { return label }
        return room < 2 ? "" : String(label.prefix(room - 1)) + "~"
    }

    /// Fill colour of an arm: grey outside unions, then a fixed palette in arm order.
    static func color(for arm: String?, in arms: [String]) -> String {
        let palette = ["#8ecae6", "#ffb703", "#b5e48c", "#f4a261", "#cdb4db", "#90be6d", "#e9c46a",
                       "#a8dadc", "#ffafcc", "#bde0fe"]
        guard let arm, let index = arms.firstIndex(of: arm) else { return "#e0e0e0" }
        return palette[index % palette.count]
    }

    private static func text(x: Int, y: Int, _ content: String, size: Int? = nil, weight: String? = nil,
                             anchor: String? = nil, fill: String? = nil) -> String {
        var attributes = "x=\"\(x)\" y=\"\(y)\""
        if let size { attributes += " font-size=\"\(size)\"" }
        if let weight { attributes += " font-weight=\"\(weight)\"" }
        if let anchor { attributes += " text-anchor=\"\(anchor)\"" }
        if let fill { attributes += " fill=\"\(fill)\"" }
        return "<text \(attributes)>\(HTML.escape(content))</text>\n"
    }
}
