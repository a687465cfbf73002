import Foundation
import Testing
import TestSupport

/// `--kernel` end to end on `flags` and `layout`: the Debian 6.1 configuration of issue 18,
/// the override warning, and unknown versions (one line, exit status 2).
@Suite struct KernelOptionTests {
    static let debian61 = KernelConfigFixtures.debian61

    func debianFile() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pagelab-debian61-\(getpid()).config")
        try Data(Self.debian61.utf8).write(to: url)
        return url.path
    }

    func object(_ stdout: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
    }

    /// 25 flags and no unused bit: NR_PAGEFLAGS 25 is what Debian's own generated
    /// include/generated/bounds.h of that kernel says.
    @Test func debian61FromItsHeader() throws {
        let path = try debianFile()
        let result = try CLI.run(["flags", "--kconfig", path, "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.isEmpty)
        let json = try object(result.stdout)
        #expect(json["kernel"] as? String == "6.1")
        #expect(json["nr_pageflags"] as? Int == 25)
        #expect(json["unused_bits"] as? Int == 0)
        let text = try CLI.run(["flags", "--kconfig", path])
        #expect(text.stdout.contains("kernel 6.1 (6.1.170, from the header of"))
        #expect(text.stdout.contains("PG_uncached"))
    }

    /// `--kernel` against the header: honoured, one line on standard error naming both.
    @Test func overrideIsHonouredWithOneLine() throws {
        let result = try CLI.run(["flags", "--kconfig", try debianFile(), "--kernel", "6.19", "--format", "json"])
        #expect(result.status == 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].contains("6.1.170") && lines[0].contains("6.19"))
        let json = try object(result.stdout)
        #expect(json["kernel"] as? String == "6.19" && json["nr_pageflags"] as? Int == 23 && json["unused_bits"] as? Int == 2)
    }

    @Test func unknownKernelIsBadInput() throws {
        for command in [["flags", "--preset", "x86_64-defconfig"], ["layout"], ["layout", "--preset", "x86_64-defconfig"]] {
            let result = try CLI.run(command + ["--kernel", "6.8"])
            #expect(result.status == 2)
            #expect(result.stdout.isEmpty)
            #expect(result.stderr.split(separator: "\n").count == 1)
            #expect(result.stderr.contains("6.8") && result.stderr.contains("5.15, 6.1, 6.6, 6.12, 6.18, 6.19"))
        }
    }

    /// `layout --kernel 6.12`: 6.12's struct page (`index`, `pgmap`, `unsigned long flags`)
    /// in the JSON, and the version named.
    @Test func layoutOfAnOlderKernel() throws {
        let result = try CLI.run(["layout", "--kernel", "6.12", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try object(result.stdout)
        #expect(json["kernel"] as? String == "6.12")
        let structs = try #require(json["structs"] as? [[String: Any]])
        let page = try #require(structs.first)
        let fields = try #require(page["fields"] as? [[String: Any]])
        let names = fields.compactMap { $0["name"] as? String }
        #expect(names.contains("index") && names.contains("pgmap") && !names.contains("__folio_index"))
        #expect(page["size"] as? Int == 64)
        let text = try CLI.run(["layout", "--kernel", "5.15"])
        #expect(text.stdout.contains("kernel 5.15 (--kernel)") && text.stdout.contains("compound_mapcount"))
    }
}

extension KernelOptionTests {
    /// `machine --kernel`: 6.18 runs (v6.19's descriptors and flags); a 32-bit 6.1 machine
    /// is refused in one line that points to the commands that take it; an unknown version
    /// is one line naming the known ones.
    @Test func machineKernel() throws {
        let ok = try CLI.run(["machine", "--ram", "256M", "--kernel", "6.18"])
        #expect(ok.status == 0, "\(ok.stderr)")
        for arguments in [["--kernel", "6.1", "--arch", "i386"], ["--kernel", "7.3"]] {
            let bad = try CLI.run(["machine", "--ram", "256M"] + arguments)
            #expect(bad.status == 2 && bad.stdout.isEmpty && bad.stderr.split(separator: "\n").count == 1)
        }
        #expect(try CLI.run(["machine", "--ram", "256M", "--kernel", "6.1", "--arch", "i386"]).stderr.contains("flags, layout and census"))
        #expect(try CLI.run(["machine", "--ram", "256M", "--kernel", "7.3"]).stderr.contains("5.15, 6.1, 6.6, 6.12, 6.18, 6.19"))
    }

    /// `census --kernel 5.15` costs mainline with 5.15's struct page and says so; an
    /// unknown version is one line, exit 2.
    @Test func censusKernel() throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/PageCensus/Resources/example-census.pglb").path
        let result = try CLI.run(["census", "--from", example, "--kernel", "5.15"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("sizeof(struct page): 64 bytes, Linux 5.15's layout"))
        #expect(result.stdout.contains("designs: each costed on Linux 5.15's struct page"))
        let rows = try CLI.run(["census", "--from", example, "--kernel", "6.1", "--format", "jsonl"])
        #expect(rows.stdout.split(separator: "\n").allSatisfy { $0.contains("\"kernel_version\":\"6.1\"") })
        let json = try CLI.run(["census", "--from", example, "--kernel", "6.6", "--format", "json"])
        #expect(json.status == 0 && json.stdout.contains("\"designs_kernel\" : \"6.6\""))
        let bad = try CLI.run(["census", "--from", example, "--kernel", "4.19"])
        #expect(bad.status == 2 && bad.stderr.contains("4.19"))
    }
}
