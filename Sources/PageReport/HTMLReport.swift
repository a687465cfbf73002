// The HTML report of `pagelab report`: one self-contained page, its pictures beside it.

/// One section of the report: what a module found, as prose, a preformatted text block
/// (the same text the command prints), inline SVG diagrams and linked pictures.
public struct ReportSection: Sendable {
    public var id: String
    public var title: String
    /// Prose above the figures; plain text, escaped when rendered.
    public var summary: String
    /// The section's text output, shown preformatted.
    public var text: String
    /// Standalone SVG documents, inlined.
    public var svgs: [String]
    /// Pictures written beside index.html: (file name, caption).
    public var images: [(file: String, caption: String)]

    public init(id: String, title: String, summary: String, text: String = "",
                svgs: [String] = [], images: [(file: String, caption: String)] = []) {
        self.id = id
        self.title = title
        self.summary = summary
        self.text = text
        self.svgs = svgs
        self.images = images
    }
}

public enum HTMLReport {
    /// Renders the sections as one HTML5 document with a table of contents.
    public static func render(title: String, intro: String, sections: [ReportSection]) -> String {
        var html = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>\(HTML.escape(title))</title>
            <style>
            body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
            pre { background: #f6f6f4; padding: 0.75rem; overflow-x: auto; font-size: 0.85rem; line-height: 1.25; }
            section { margin-top: 2.5rem; border-top: 1px solid #ddd; }
            figure { margin: 1rem 0; overflow-x: auto; }
            figcaption { font-size: 0.85rem; color: #555; }
            img { image-rendering: pixelated; max-width: 100%; border: 1px solid #ccc; }
            </style>
            </head>
            <body>
            <h1>\(HTML.escape(title))</h1>
            <p>\(HTML.escape(intro))</p>
            <nav><ul>

            """
        for section in sections {
            html += "<li><a href=\"#\(HTML.escape(section.id))\">\(HTML.escape(section.title))</a></li>\n"
        }
        html += "</ul></nav>\n"
        for section in sections {
            html += "<section id=\"\(HTML.escape(section.id))\">\n<h2>\(HTML.escape(section.title))</h2>\n"
            for paragraph in section.summary.split(separator: "\n\n") {
                html += "<p>\(HTML.escape(String(paragraph)))</p>\n"
            }
            for svg in section.svgs {
                html += "<figure>\(inlineSVG(svg))</figure>\n"
            }
            for image in section.images {
                html += "<figure><img src=\"\(HTML.escape(image.file))\" alt=\"\(HTML.escape(image.caption))\">"
                html += "<figcaption>\(HTML.escape(image.caption))</figcaption></figure>\n"
            }
            if !section.text.isEmpty {
                html += "<pre>\(HTML.escape(section.text))</pre>\n"
            }
            html += "</section>\n"
        }
        html += "</body>\n</html>\n"
        return html
    }

    /// A standalone SVG document minus its XML declaration, ready to inline in HTML.
    static func inlineSVG(_ svg: String) -> String {
        guard svg.hasPrefix("<?xml"), let end = svg.range(of: "?>") else { return svg }
        return String(svg[end.upperBound...]).trimmingPrefix(while: \.isWhitespace)
    }
}

extension String {
    fileprivate func trimmingPrefix(while predicate: (Character) -> Bool) -> String {
        String(drop(while: predicate))
    }
}
