import Foundation
import Testing

@Suite struct CompareCommandTests {
    static let designs = ["mainline", "dma-pinned-field", "lru-pinned", "lru-pinned-rearranged", "page-ext", "proxy",
                          "memdesc32", "memdesc8"]

    @Test func everyDesignReadsBackEveryByteInJSON() throws {
        let result = try CLI.run(["compare", "--ram", "256M", "--format", "json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stderr.isEmpty)   // no progress when standard error is not a terminal
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["workload"] as? String == "basic")
        #expect(object["ram_bytes"] as? Int == 256 << 20)
        #expect(object["nodes"] as? Int == 2)
        let rows = try #require(object["designs"] as? [[String: Any]])
        #expect(rows.compactMap { $0["design"] as? String } == Self.designs)
        for row in rows {
            for key in ["faults", "cow_copies", "swap_outs", "swap_ins", "migrations", "peak_pages_in_use", "peak_descriptors",
                        "memmap_bytes", "descriptor_bytes", "page_table_bytes", "data_errors", "diagnostics", "seconds",
                        "leaked_pages", "bytes_verified", "failures", "first_diagnostics", "struct_page_size"] {
                #expect(row[key] != nil, "missing \(key)")
            }
            let design = row["design"] as? String ?? "?"
            #expect(row["data_errors"] as? Int == 0, "\(design): \(row["failures"] ?? "")")
            #expect((row["failures"] as? [String])?.isEmpty == true, "\(design)")
            #expect(row["diagnostics"] as? Int == 0, "\(design): \(row["first_diagnostics"] ?? "")")
            #expect(row["leaked_pages"] as? Int == 0, "\(design)")
            for key in ["faults", "cow_copies", "swap_outs", "swap_ins", "migrations", "peak_pages_in_use", "page_table_bytes"] {
                #expect((row[key] as? Int ?? 0) > 0, "\(design): \(key)")
            }
            #expect((row["seconds"] as? Double ?? 0) > 0)
            let structPage = try #require(row["struct_page_size"] as? Int)
            #expect(row["memmap_bytes"] as? Int == 65536 * structPage)   // 256 MiB = 65536 pfns
        }
        // The workload is the same on every design: the same events, the same pages.
        for key in ["faults", "cow_copies", "swap_outs", "swap_ins", "migrations", "peak_pages_in_use", "bytes_verified"] {
            #expect(Set(rows.compactMap { $0[key] as? Int }).count == 1, "\(key) differs between designs")
        }
        let memdesc8 = try #require(rows.last)
        #expect((memdesc8["peak_descriptors"] as? Int ?? 0) > 0 && (memdesc8["descriptor_bytes"] as? Int ?? 0) > 0)
        #expect(rows.first?["peak_descriptors"] as? Int == 0)
    }

    @Test func textHasOneRowPerDesignWithUnits() throws {
        let result = try CLI.run(["compare", "--designs", "memdesc8, mainline", "--ram", "256M"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.first == "workload basic on 256 MiB RAM, 2 nodes, x86_64, one machine per design")
        #expect(lines.filter { $0.hasPrefix("  memdesc8 ") }.count == 2)
        #expect(lines.filter { $0.hasPrefix("  mainline ") }.count == 2)
        #expect(!result.stdout.contains("dma-pinned-field"))
        #expect(result.stdout.contains(" MiB") && result.stdout.contains(" KiB") && result.stdout.contains(" 8 B"))
        #expect(result.stdout.contains("every byte written read back as written on every design"))
        #expect(lines.allSatisfy { !$0.hasSuffix(" ") })
    }

    @Test(arguments: [
        ["compare", "--designs", "nonesuch"],
        ["compare", "--designs", "mainline,mainline"],
        ["compare", "--designs", ""],
        ["compare", "--designs", "mainline,"],
        ["compare", "--workload", "nope"],
        ["compare", "--workload", "pins", "--ram", "128M"],
        ["compare", "--ram", "lots"],
        ["compare", "--ram", "128M"],
        ["compare", "--ram", "200M"],
        ["compare", "--format", "svg"],
        ["compare", "--bogus"],
    ])
    func badInputExitsTwoWithOneLine(arguments: [String]) throws {
        try CLI.runBadInput(arguments)
    }
}

@Suite struct ComparePinsCommandTests {
    @Test func pinsWorkloadJSONHasThePinKeys() throws {
        let result = try CLI.run(["compare", "--workload", "pins", "--ram", "256M", "--format", "json"])
        // The lru-pinned designs lose a pin to an isolator's putback: a false negative,
        // which fails their rows and the run (exit status 1).
        #expect(result.status == 1, "stderr: \(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["workload"] as? String == "pins")
        let rows = try #require(object["designs"] as? [[String: Any]])
        #expect(rows.compactMap { $0["design"] as? String } == CompareCommandTests.designs)
        for row in rows {
            let design = row["design"] as? String ?? "?"
            for key in ["struct_page_bytes", "bytes_per_page", "descriptor_bytes", "page_ext_bytes", "proxy_bytes", "proxy_bytes_live",
                        "pins_acquired", "pins_released", "false_positives", "false_negatives", "exact_tracking", "corruptions",
                        "data_errors", "ns_per_pin_fast", "timed_pages", "longterm_pages", "fork_pinned_copies",
                        "reclaim_kept_pinned", "migration_refused_pinned", "moved_out_of_movable", "device_pages_pinned",
                        "device_pins_refused", "refused_grabs", "faults", "bytes_verified", "failures", "seconds"] {
                #expect(row[key] != nil, "\(design): missing \(key)")
            }
            #expect(row["data_errors"] as? Int == 0, "\(design): \(row["failures"] ?? "")")
            #expect(row["false_negatives"] as? Int == (design.hasPrefix("lru-pinned") ? 1 : 0), "\(design)")
            #expect(row["pins_acquired"] as? Int == row["pins_released"] as? Int, "\(design)")
            #expect((row["pins_acquired"] as? Int ?? 0) > 0, "\(design)")
            #expect((row["ns_per_pin_fast"] as? Double ?? 0) > 0, "\(design)")
            #expect((row["bytes_per_page"] as? Double ?? 0) >= Double(row["struct_page_bytes"] as? Int ?? 0), "\(design)")
            #expect(row["exact_tracking"] as? Bool == (design != "mainline"))
            #expect(((row["false_positives"] as? Int ?? 0) > 0) == (design == "mainline"), "\(design)")
            #expect(((row["corruptions"] as? Int ?? 0) > 0) == (design == "lru-pinned"), "\(design)")
            #expect(((row["proxy_bytes"] as? Int ?? 0) > 0) == (design == "proxy"), "\(design)")
        }
        #expect(rows.first?["struct_page_bytes"] as? Int == 64)
        #expect(rows.first { $0["design"] as? String == "memdesc8" }?["struct_page_bytes"] as? Int == 8)
    }

    @Test func pinsTextIsTheHeadlineTable() throws {
        let result = try CLI.run(["compare", "--workload", "pins", "--designs", "mainline,lru-pinned", "--ram", "256M"])
        #expect(result.status == 1, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.first == "workload pins on 256 MiB RAM, 2 nodes, x86_64, one machine per design")
        #expect(lines.contains { $0.hasPrefix("  design ") && $0.contains("bytes/page") && $0.contains("false +") && $0.hasSuffix("ns/pin") })
        #expect(lines.contains { $0.hasPrefix("  bytes/page: memmap + descriptors + page_ext") })
        #expect(lines.filter { $0.hasPrefix("  mainline ") }.count == 2)
        #expect(lines.contains { $0.hasPrefix("  mainline ") && $0.contains(" 64 B ") && $0.contains("(bias)") && $0.hasSuffix(" ns") })
        #expect(result.stdout.contains("every pin released"))
        #expect(lines.contains("FALSE NEGATIVES: folio_maybe_dma_pinned() said no for pinned folios on lru-pinned (pagelab compare exits with status 1)"))
        #expect(lines.allSatisfy { !$0.hasSuffix(" ") })
        let alone = try CLI.run(["compare", "--workload", "pins", "--designs", "mainline", "--ram", "256M"])
        #expect(alone.status == 0, "stderr: \(alone.stderr)")
        #expect(!alone.stdout.contains("FALSE NEGATIVES"))
    }
}
