import PageReport
import Testing

@Suite struct FormattingTests {
    @Test func bytesUseBinaryUnits() {
        #expect(Units.bytes(512) == "512 B")
        #expect(Units.bytes(1536) == "1.50 KiB")
        #expect(Units.bytes(64 << 20) == "64.0 MiB")
        #expect(Units.bytes(Int64(16) << 30) == "16.0 GiB")
        #expect(Units.bytes(Int64(300) << 30) == "300 GiB")
    }

    @Test func percentAndDuration() {
        #expect(Units.percent(64, of: 4096) == "1.56 %")
        #expect(Units.percent(1, of: 0) == "-")
        #expect(Units.duration(seconds: 15e-9) == "15.0 ns")
        #expect(Units.duration(seconds: 0.0125) == "12.5 ms")
        #expect(Units.format(-0.004, decimals: 2) == "0.00")
        #expect(Units.format(-1.25, decimals: 1) == "-1.3")
    }

    @Test func tableAlignsColumns() {
        var table = TextTable(["design", "bytes"])
        table.append(["mainline", "64"])
        table.append(["memdesc8", "8"])
        #expect(table.render() == """
            design    bytes
            --------  -----
            mainline     64
            memdesc8      8

            """)
    }

    @Test func htmlEscaping() {
        #expect(HTML.escape("<a href=\"x\">&'") == "&lt;a href=&quot;x&quot;&gt;&amp;&#39;")
    }
}
