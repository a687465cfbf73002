// Aligned text tables for people (DESIGN.md, "Output conventions").

/// A table of rows under a header, printed with columns aligned: text columns to the
/// left, numeric columns to the right.
public struct TextTable: Sendable {
    public enum Alignment: Sendable { case left, right }

    public var header: [String]
    public var alignments: [Alignment]
    public private(set) var rows: [[String]] = []

    /// `alignments` defaults to left for the first column and right for the rest, the
    /// shape of nearly every table PageLab prints (a name, then figures).
    public init(_ header: [String], alignments: [Alignment]? = nil) {
        self.header = header
        self.alignments = alignments ?? header.indices.map { $0 == 0 ? .left : .right }
    }

    public mutating func append(_ row: [String]) {
        rows.append(row)
    }

    /// The table, one line per row, with a dashed rule under the header; no trailing
    /// spaces on any line.
    public func render(indent: String = "") -> String {
        let widths = header.indices.map { column in
            ([header] + rows).map { column < $0.count ? $0[column].count : 0 }.max() ?? 0
        }
        func line(_ cells: [String]) -> String {
            var text = indent
            for (column, width) in widths.enumerated() {
                let cell = column < cells.count ? cells[column] : ""
                let pad = String(repeating: " ", count: width - cell.count)
                if column > 0 { text += "  " }
                text += alignments[column] == .left ? cell + pad : pad + cell
            }
            while text.last == " " { text.removeLast() }
            return text
        }
        let rule = indent + widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")
        return ([line(header), rule] + rows.map(line)).joined(separator: "\n") + "\n"
    }
}
