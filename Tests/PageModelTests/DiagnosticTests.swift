import PageModel
import Testing

@Suite struct DiagnosticTests {
    @Test func descriptionNamesKindPfnAndReason() {
        let diagnostic = Diagnostic(kind: .badPage, pfn: 0x1234, reason: "nonzero mapcount")
        #expect(diagnostic.description == "bad_page pfn:0x1234: nonzero mapcount")
    }
}
