// The census's vmalloc view and the vmalloc compare table, rendered.
import Foundation
import PageCensus
import PageLayout
import PageModel
import Testing
@testable import PageReport

@Suite struct VmallocRenderingTests {
    static let vmallocinfo = """
        0x00000000aaaaaaaa-0x00000000bbbbbbbb   69632 perf_mmap+0x1a0/0x5c0 pages=16 vmalloc user N0=16
        0x000000002e24c3dc-0x00000000edca58ed   20480 kernel_clone+0xb8/0x400 pages=4 vmalloc N0=4
        0x0000000000000001-0x0000000000000002 bad

        """

    func census(vmallocinfo: String?) -> Census {
        var census = Census(info: SnapshotInfo(kernelRelease: "t"))
        census.vmalloc = vmallocinfo.map(VmallocInfoFile.parse)
        return census
    }

    @Test func censusTextAndJSONShowTheVmallocView() throws {
        let census = census(vmallocinfo: Self.vmallocinfo)
        let text = CensusVmallocText.render(census)
        #expect(text.contains("2 areas, 20 pages (80.0 KiB)"))
        #expect(text.contains("1 user (VM_USERMAP) areas of 16 pages: scamem would take 144 B in place of their 128 B pages[] arrays"))
        #expect(text.contains("warning: vmallocinfo line 3: "))
        #expect(text.split(separator: "\n").contains { $0.hasPrefix("  perf_mmap ") })
        let json = try #require(try JSONSerialization.jsonObject(with: Data(JSONOutput.string(CensusJSON(census, costs: [], seconds: 0)).utf8)) as? [String: Any])
        let vmalloc = try #require(json["vmalloc"] as? [String: Any])
        #expect(vmalloc["user_pages"] as? Int == 16)
        #expect(vmalloc["scamem_bytes"] as? Int == 144)
        let callers = try #require(vmalloc["callers"] as? [[String: Any]])
        #expect(callers.first?["name"] as? String == "perf_mmap")
        #expect((vmalloc["warnings"] as? [String])?.count == 1)
    }

    @Test func aCensusWithoutVmallocinfoSaysSo() throws {
        let census = census(vmallocinfo: nil)
        #expect(CensusVmallocText.render(census).contains("/proc/vmallocinfo was not read"))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(JSONOutput.string(CensusJSON(census, costs: [], seconds: 0)).utf8)) as? [String: Any])
        #expect(json["vmalloc"] == nil)
    }
}
