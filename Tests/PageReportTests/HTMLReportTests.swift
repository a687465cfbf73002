import PageReport
import Testing

@Suite struct HTMLReportTests {
    @Test func rendersSectionsWithContentsEscapedAndSVGInlined() {
        let svg = "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"><rect/></svg>"
        let html = HTMLReport.render(
            title: "PageLab <report>", intro: "for x86_64-defconfig",
            sections: [ReportSection(id: "flags", title: "page->flags", summary: "34 bits & more\n\nsecond",
                                     text: "a < b", svgs: [svg], images: [(file: "memmap.png", caption: "memmap")])])
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<title>PageLab &lt;report&gt;</title>"))
        #expect(html.contains("<a href=\"#flags\">page-&gt;flags</a>"))
        #expect(html.contains("<p>34 bits &amp; more</p>\n<p>second</p>"))
        #expect(html.contains("<figure><svg xmlns=\"http://www.w3.org/2000/svg\"><rect/></svg></figure>"))
        #expect(!html.contains("<?xml"))
        #expect(html.contains("<img src=\"memmap.png\" alt=\"memmap\">"))
        #expect(html.contains("<pre>a &lt; b</pre>"))
        #expect(html.hasSuffix("</html>\n"))
    }
}
