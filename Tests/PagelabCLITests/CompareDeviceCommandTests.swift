// `pagelab compare --workload device`: the JSON keys (the pins workload's where a count
// means the same) and the text table.
import Foundation
import Testing

@Suite struct CompareDeviceCommandTests {
    @Test func deviceWorkloadJSONHasTheDeviceKeys() throws {
        let result = try CLI.run(["compare", "--workload", "device", "--designs", "mainline,lru-pinned,memdesc8", "--ram", "256M",
                                  "--format", "json"])
        // lru-pinned corrupts the pgmap of the coherent pages it pins: its row fails.
        #expect(result.status == 1, "stderr: \(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["workload"] as? String == "device")
        let rows = try #require(object["designs"] as? [[String: Any]])
        #expect(rows.compactMap { $0["design"] as? String } == ["mainline", "lru-pinned", "memdesc8"])
        for row in rows {
            let design = row["design"] as? String ?? "?"
            for key in ["migrations_to_device", "migrations_to_system", "faults_to_ram", "device_pins", "device_pins_refused",
                        "longterm_moved_off_device", "evicted", "corruptions", "false_negatives", "data_errors", "bytes_verified",
                        "device_pages_leaked", "pins_acquired", "pins_released", "timed_pages",
                        // The pins workload's pin statistics, which mean the same here.
                        "false_positives", "refused_grabs", "unpins_of_unpinned", "puts_of_pinned_references"] {
                #expect(row[key] != nil, "\(design): missing \(key)")
            }
            #expect(row["false_negatives"] as? Int == 0, "\(design)")
            // The workload unpins exactly what it pinned and never put_page()s a pin.
            #expect(row["unpins_of_unpinned"] as? Int == 0, "\(design)")
            #expect(row["puts_of_pinned_references"] as? Int == 0, "\(design)")
            #expect(((row["corruptions"] as? Int ?? 0) > 0) == (design == "lru-pinned"), "\(design)")
            // Every design has device memory (memdesc8 keeps pgmap in its device folio
            // descriptor): no note, and pages moved to the device.
            #expect(row["device_note"] == nil, "\(design)")
            #expect((row["migrations_to_device"] as? Int ?? 0) > 0, "\(design)")
        }
        #expect((rows.first?["ns_per_migrated_page"] as? Double ?? 0) > 0)
    }

    @Test func deviceTextIsOneTable() throws {
        let result = try CLI.run(["compare", "--workload", "device", "--designs", "mainline", "--ram", "256M"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("  design ") && $0.contains("to device") && $0.contains("faults home") && $0.hasSuffix("ns/page") })
        #expect(lines.contains { $0.hasPrefix("  mainline ") && $0.hasSuffix(" ns") })
        #expect(lines.allSatisfy { !$0.hasSuffix(" ") })
    }
}
