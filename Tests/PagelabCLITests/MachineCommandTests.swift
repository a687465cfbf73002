import Foundation
import Testing

@Suite struct MachineCommandTests {
    @Test func textReportShowsZonesBuddyinfoAndCosts() throws {
        let result = try CLI.run(["machine", "--ram", "256M"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("design mainline (struct page 64 B)"))
        #expect(result.stdout.contains("Node 0, zone DMA "))
        #expect(result.stdout.contains("memmap (65536 pfns × 64 B)"))
        #expect(result.stdout.contains("self-check: passed"))
        #expect(result.stderr.isEmpty)
    }

    @Test func jsonHasTheDocumentedKeys() throws {
        let result = try CLI.run(["machine", "--ram", "256M", "--nodes", "2", "--design", "memdesc8", "--format", "json"])
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        for key in ["pfns", "memmap_bytes", "descriptor_bytes", "page_ext_bytes", "struct_page_size", "init_seconds",
                    "peak_rss_bytes", "zones", "buddyinfo", "bad_pages"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(object["pfns"] as? Int == 65536)
        #expect(object["struct_page_size"] as? Int == 8)
        #expect(object["memmap_bytes"] as? Int == 65536 * 8)
        #expect(object["bad_pages"] as? Int == 0)
        let zones = try #require(object["zones"] as? [[String: Any]])
        #expect(zones.count == 10)
        #expect(Set(zones.compactMap { $0["name"] as? String }) == ["DMA", "DMA32", "Normal", "Movable", "Device"])
        for zone in zones { for key in ["name", "spanned", "present", "managed", "free"] { #expect(zone[key] != nil) } }
        let buddy = try #require(object["buddyinfo"] as? [[String: Any]])
        #expect(buddy.allSatisfy { ($0["counts"] as? [Int])?.count == 11 })
    }

    @Test func thirtyTwoBitMachine() throws {
        let result = try CLI.run(["machine", "--ram", "768M", "--arch", "i386", "--format", "json"])
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["struct_page_size"] as? Int == 32)   // i386-defconfig: no MEMCG
    }

    @Test(arguments: [
        ["machine", "--ram", "0"],
        ["machine", "--ram", "200M"],
        ["machine", "--ram", "256M", "--nodes", "0"],
        ["machine", "--ram", "256M", "--design", "memdesc8", "--arch", "i386"],
        ["machine", "--ram", "lots"],
        ["machine", "--ram", "256M", "--design", "nonesuch"],
        ["machine", "--ram", "256M", "--arch", "vax"],
        ["machine", "--ram", "256M", "--format", "svg"],
        ["machine", "--ram", "8G", "--arch", "i386"],
        ["machine"],
        ["machine", "--ram", "64T"],
        ["machine", "--ram", "1G", "--arch", "i386"],
        ["machine", "--ram", "256M", "--arch", "i386", "--nodes", "2"],
    ])
    func badMachinesExitTwoWithOneLine(arguments: [String]) throws {
        try CLI.runBadInput(arguments)
    }
}
