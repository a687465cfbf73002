// `pagelab run`: the bundled library by name, files by path, exit statuses 0/1/2.
import Foundation
import Testing

@Suite struct RunCommandTests {
    static func script(_ text: String) throws -> String {
        let url = try CLI.temporaryDirectory().appendingPathComponent("s.pls")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    @Test func listPrintsOneScenarioPerLineNameFirst() throws {
        let result = try CLI.run(["run", "--list"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count >= 14)
        #expect(lines.contains { $0.hasPrefix("seed-002-put-page-where-unpin-was-meant ") })
    }

    @Test func aBundledScenarioRunsByNameAndPasses() throws {
        let result = try CLI.run(["run", "seed-002-put-page-where-unpin-was-meant", "--format", "jsonl"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        let rows = result.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        // Eight designs, five expectations each.
        #expect(rows.count == 8 * 5)
        #expect(rows.allSatisfy { $0["passed"] as? Bool == true })
    }

    @Test func aFailingExpectationExitsOne() throws {
        let path = try Self.script("p = process\na = mmap p PAGE\nwrite p a \"x\"\nexpect refcount(p@a) == 2\n")
        let result = try CLI.run(["run", path, "--designs", "mainline"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("✗ 1"))
        #expect(result.stdout.contains("mainline: expected 2, got 1"))
    }

    @Test func aBadScriptExitsTwoWithAPosition() throws {
        let path = try Self.script("p = process\nmmap p\n")
        let result = try CLI.run(["run", path])
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.hasPrefix("\(path):2:7: error: 'mmap' needs LEN"))
    }

    @Test func traceShowsEachLine() throws {
        let path = try Self.script("p = process\na = mmap p PAGE\nwrite p a \"x\"\n")
        let result = try CLI.run(["run", path, "--designs", "proxy", "--trace"])
        #expect(result.status == 0, "stderr: \(result.stderr)")
        #expect(result.stdout.contains("== s on proxy"))
        #expect(result.stdout.contains("write p a \"x\""))
        #expect(result.stdout.contains("refcount 1  mapcount 1"))
    }
}
