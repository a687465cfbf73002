// `pagelab compare --workload vmalloc`: one row per design and vmalloc tracking option,
// each naming its design, option and placement. Counts derived from the drivers'
// sequences (Tests/PageModelTests/Vmalloc/VmallocWorkloadTests.swift): 17 + 3 + 18 + 256
// user PTEs map pages when the drivers vfree() them; three O_DIRECT requests pin 256 pages.
import Foundation
import Testing

@Suite struct CompareVmallocCommandTests {
    @Test func rowsNameDesignOptionAndPlacementInJSON() throws {
        let result = try CLI.run(["compare", "--workload", "vmalloc", "--designs", "mainline,memdesc8", "--ram", "256M", "--format", "json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["workload"] as? String == "vmalloc")
        let rows = try #require(object["designs"] as? [[String: Any]])
        let named = rows.map { "\($0["design"] as? String ?? "?") \($0["option"] as? String ?? "?") \($0["placement"] as? String ?? "?")" }
        #expect(named.first == "mainline page-refcount -")
        #expect(named.filter { $0.hasPrefix("mainline ") }.count == 1)
        // Every other option on memdesc8 (an option added later joins these rows).
        for row in ["memdesc8 untracked -", "memdesc8 scamem memdesc-pointer", "memdesc8 scamem vma-private",
                    "memdesc8 scamem memdesc-node-zone", "memdesc8 vm-struct -", "memdesc8 vmalloc-memdesc -"] {
            #expect(named.contains(row), "missing \(row)")
        }
        #expect(!named.contains("memdesc8 page-refcount -"))
        for row in rows {
            for key in ["vmalloc_bytes", "descriptor_bytes", "scamem_bytes", "pins", "references", "use_after_free", "data_errors",
                        "bytes_verified", "ns_per_gup_page", "gup_refused"] {
                #expect(row.keys.contains(key), "missing \(key)")
            }
            let untracked = row["option"] as? String == "untracked"
            #expect(row["use_after_free"] as? Int == (untracked ? 17 + 3 + 18 + 256 : 0))
            #expect(row["pins"] as? Int == (untracked ? 0 : 3 * 256))
            #expect(row["leaked_pages"] as? Int == 0)
            // The VMA placements (ScamemPlacement): unpin_user_pages() has only the page, so
            // the videobuf2 buffer's pins are never put and its 256 pages stay allocated.
            let vmaPlaced = ["vma-private", "memdesc-node-zone"].contains(row["placement"] as? String ?? "")
            #expect(row["stranded_pages"] as? Int == (vmaPlaced ? 256 : 0))
            #expect(((row["unreachable_without_vma"] as? Int ?? 0) > 0) == vmaPlaced)
            if untracked { #expect(row["ns_per_gup_page"] is NSNull) } else { #expect(row["data_errors"] as? Int == 0) }
        }
    }

    @Test func textTableHasOneRowPerOption() throws {
        let result = try CLI.run(["compare", "--workload", "vmalloc", "--designs", "memdesc32", "--ram", "256M"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.filter { $0.hasPrefix("  memdesc32 ") }.count >= 3)
        #expect(result.stdout.contains("use-after-free (the seed's warning for untracked pages): memdesc32 untracked"))
        #expect(lines.allSatisfy { !$0.hasSuffix(" ") })
    }
}
