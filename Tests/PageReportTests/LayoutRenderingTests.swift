// The layout table and SVG renderers.
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import PageLayout
@testable import PageReport
import Testing

@Suite struct LayoutRenderingTests {
    let config = LayoutConfig(arch: .x86_64)

    @Test func unionArmsGetColumnsOfTheirOwnAndNeverOverlapInOne() {
        let page = Layouts.structPage(config, design: .lruPinned)
        let columns = LayoutSVG.columns(for: page)
        for (i, a) in page.fields.enumerated() {
            for (j, b) in page.fields.enumerated() where i < j && columns[i] == columns[j] {
                #expect(!a.overlaps(offset: b.offset, size: b.size), "\(a.name) and \(b.name)")
            }
        }
        let column = Dictionary(zip(page.fields.map(\.name), columns), uniquingKeysWith: { a, _ in a })
        // Aliases are side by side: the pin words and pgmap are in different columns.
        #expect(column["dma_pinned_flags"] != column["_unused_pgmap_compound_head"])
        #expect(column["flags"] == 0 && column["_refcount"] == 0)
    }

    @Test func svgIsWellFormedAndInlinable() {
        let layouts = Layouts.all(config, design: .memdesc8)
        let standalone = LayoutSVG.render(layouts, wordSize: 8, title: "memdesc8 <&>")
        #expect(XMLParser(data: Data(standalone.utf8)).parse())
        #expect(standalone.contains("memdesc8 &lt;&amp;&gt;"))
        let inline = LayoutSVG.render(layouts, wordSize: 8, standalone: false)
        #expect(inline.hasPrefix("<svg "))
        #expect(inline.contains("id=\"struct-scamem\""))
    }

    @Test func labelsAreCutToFit() {
        #expect(LayoutSVG.fitted("_refcount", width: 100) == "_refcount")
        #expect(LayoutSVG.fitted("_unused_pgmap_compound_head", width: 48) == "_unused~")
        #expect(LayoutSVG.fitted("x", width: 6) == "x")
        #expect(LayoutSVG.fitted("x", width: 4) == "")
        #expect(LayoutSVG.fitted("long", width: 6) == "")
    }

    @Test func tableShowsHolesAndPadding() {
        let i386 = Layouts.structPage(LayoutConfig(arch: .i386))
        let text = LayoutTable.render(i386)
        #expect(text.contains("size: 40, align: 8"))
        #expect(text.contains("padding: 4 bytes"))
        let paddingRow = text.split(separator: "\n").first { $0.contains("/* padding */") }
        #expect(paddingRow?.split(separator: " ").prefix(2) == ["36", "4"])
    }
}
