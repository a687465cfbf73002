// `pagelab census --format svg`: total bytes per design, one bar each, split into
// memmap, descriptors and page_ext.
import PageCensus

public enum CensusSVG {
    static let memmapColor = "#4e79a7", descriptorColor = "#f28e2b", pageExtColor = "#59a14f"

    public static func render(_ census: Census, costs: [DesignCensusCost]) -> String {
        let rowHeight = 28, labelWidth = 250, barWidth = 560, top = 56
        let width = labelWidth + barWidth + 200
        let height = top + rowHeight * costs.count + 50
        let largest = max(1, costs.map(\.totalBytes).max() ?? 1)
        func x(_ bytes: Int) -> Int { bytes * barWidth / largest }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"sans-serif\" font-size=\"13\">\n"
        svg += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        let title = "Descriptor memory per design on \(census.info.machine.isEmpty ? "this census" : census.info.machine) (Linux \(census.info.kernelRelease)), RAM \(Units.bytes(census.ramPages * census.pageSize))"
        svg += "<text x=\"10\" y=\"22\" font-size=\"15\" font-weight=\"bold\">\(HTML.escape(title))</text>\n"
        var legendX = 10
        for (name, color) in [("memmap", memmapColor), ("descriptors", descriptorColor), ("page_ext", pageExtColor)] {
            svg += "<rect x=\"\(legendX)\" y=\"32\" width=\"12\" height=\"12\" fill=\"\(color)\"/><text x=\"\(legendX + 16)\" y=\"43\">\(name)</text>\n"
            legendX += 120
        }
        for (row, c) in costs.enumerated() {
            let y = top + row * rowHeight
            svg += "<text x=\"\(labelWidth - 8)\" y=\"\(y + 17)\" text-anchor=\"end\">\(HTML.escape(c.design.rawValue)) (\(c.structPageSize) B)</text>\n"
            var at = labelWidth
            for (bytes, color, part) in [(c.memmapBytes, memmapColor, "memmap"), (c.descriptorBytes, descriptorColor, "descriptors"),
                                         (c.pageExtBytes, pageExtColor, "page_ext")] where bytes > 0 {
                let w = max(1, x(bytes))
                svg += "<rect x=\"\(at)\" y=\"\(y + 4)\" width=\"\(w)\" height=\"\(rowHeight - 8)\" fill=\"\(color)\"><title>\(part): \(Units.bytes(bytes))</title></rect>\n"
                at += w
            }
            svg += "<text x=\"\(at + 6)\" y=\"\(y + 17)\">\(Units.bytes(c.totalBytes)) (\(Units.format(c.percentOfRAM, decimals: 2)) %)</text>\n"
        }
        svg += "</svg>\n"
        return svg
    }
}
