// `pagelab bench`: its arguments, bad input (exit status 2) and the JSON's shape. The
// timings themselves are the host's and are not asserted (no timed tests).
import Foundation
import Testing

@Suite struct BenchCommandTests {
    /// Runs `pagelab bench ARGS --format json` and returns the parsed object.
    static func json(_ arguments: [String]) throws -> [String: Any] {
        let result = try CLI.run(["bench"] + arguments + ["--format", "json"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    @Test(arguments: ["pin", "fault", "fork", "munmap", "device-migrate", "move-pages", "hmm-fault"])
    func eachBenchReportsEveryChosenDesignInJSON(bench: String) throws {
        let object = try Self.json([bench, "--designs", "mainline,memdesc8", "--mib", "2", "--rounds", "3"])
        #expect(object["bench"] as? String == bench)
        #expect(object["mib"] as? Int == 2)
        #expect(object["rounds"] as? Int == 3)
        #expect(object["thp"] as? Bool == false)
        #expect(object["pages"] as? Int == 512)   // 2 MiB of 4 KiB pages
        let rows = try #require(object["designs"] as? [[String: Any]])
        #expect(rows.compactMap { $0["design"] as? String } == ["mainline", "memdesc8"])
        for row in rows {
            let minimum = try #require(row["ns_per_page_min"] as? Double)
            let median = try #require(row["ns_per_page_median"] as? Double)
            let rate = try #require(row["pages_per_second"] as? Double)
            let rounds = try #require(row["ns_per_page"] as? [Double])
            #expect(rounds.count == 3)
            #expect(minimum > 0 && minimum <= median)
            #expect(rounds.min() == minimum)
            #expect(rate > 0)
        }
    }

    @Test func allDesignsAndTHPPins() throws {
        let object = try Self.json(["pin", "--designs", "all", "--mib", "4", "--rounds", "1", "--thp"])
        #expect(object["thp"] as? Bool == true)
        let rows = try #require(object["designs"] as? [[String: Any]])
        #expect(rows.compactMap { $0["design"] as? String } == CompareCommandTests.designs)
    }

    /// The device benches with THPs: each round moves every THP whole there and back
    /// (or finds every page), else the bench fails (a figure that is not per page).
    @Test(arguments: ["device-migrate", "move-pages", "hmm-fault"])
    func deviceBenchesWithTHPs(bench: String) throws {
        let object = try Self.json([bench, "--designs", "mainline,memdesc8", "--mib", "4", "--rounds", "2", "--thp"])
        #expect(object["bench"] as? String == bench)
        #expect(object["thp"] as? Bool == true)
        #expect(object["pages"] as? Int == 1024)   // 4 MiB of 4 KiB pages
        let rows = try #require(object["designs"] as? [[String: Any]])
        #expect(rows.compactMap { $0["design"] as? String } == ["mainline", "memdesc8"])
        #expect(rows.allSatisfy { ($0["ns_per_page"] as? [Double])?.count == 2 })
    }

    @Test func textNamesEachDesignOnItsOwnLine() throws {
        let result = try CLI.run(["bench", "munmap", "--designs", "proxy", "--mib", "1", "--rounds", "2"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("munmap: 1 MiB = 256 pages, 2 rounds") == true)
        #expect(lines.contains { $0.hasPrefix("proxy ") })
    }

    @Test(arguments: [
        (["bench"], "Missing expected argument"),
        (["bench", "walk"], "unknown bench 'walk'"),
        (["bench", "pin", "--designs", "nosuch"], "nosuch"),
        (["bench", "pin", "--mib", "0"], "--mib 0 is out of range"),
        (["bench", "pin", "--mib", "5000"], "--mib 5000 is out of range"),
        (["bench", "pin", "--mib", "-3"], "--mib"),
        (["bench", "pin", "--mib", "lots"], "lots"),
        (["bench", "pin", "--rounds", "0"], "--rounds 0 is out of range"),
        (["bench", "pin", "--rounds", "1001"], "--rounds 1001 is out of range"),
        (["bench", "pin", "--thp", "--mib", "3"], "--thp needs whole 2 MiB PMDs"),
        (["bench", "pin", "--format", "svg"], "--format svg is not available here"),
        (["bench", "pin", "--rounds", "2", "--rounds", "3"], "--rounds is given more than once"),
    ])
    func badInputExitsTwoWithOneLine(arguments: [String], message: String) throws {
        let result = try CLI.run(arguments)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("pagelab: error: "), "\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
    }
}
