import Foundation
import Testing

/// `--kernel` of the older versions end to end: SLAB and SLOB struct slab in `layout`,
/// an allocator the version lacks (one line, exit 2), and what `census --kernel` says
/// about /proc/kpageflags.
@Suite struct KernelVersionsCLITests {
    func configFile(_ name: String, _ allocator: String) throws -> String {
        let text = "# Linux/x86 6.1.170 Kernel Configuration\nCONFIG_X86_64=y\nCONFIG_64BIT=y\nCONFIG_MMU=y\nCONFIG_SPARSEMEM_VMEMMAP=y\nCONFIG_SPARSEMEM=y\nCONFIG_MEMCG=y\n\(allocator)\n"
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pagelab-\(name)-\(getpid()).config")
        try Data(text.utf8).write(to: url)
        return url.path
    }

    func object(_ stdout: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
    }

    func slab(_ arguments: [String]) throws -> [String: Int] {
        let result = try CLI.run(["layout"] + arguments + ["--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let structs = try #require(try object(result.stdout)["structs"] as? [[String: Any]])
        let slab = try #require(structs.first { $0["name"] as? String == "slab" })
        let fields = try #require(slab["fields"] as? [[String: Any]])
        var offsets: [String: Int] = [:]
        for field in fields { if let name = field["name"] as? String, let offset = field["offset"] as? Int { offsets[name] = offset } }
        return offsets
    }

    /// 5.15 with CONFIG_SLAB: s_mem at 40 (sharing counters' word) and `active` at 48 (the
    /// _mapcount union) of struct page (include/linux/mm_types.h of 5.15); 6.1 with SLOB:
    /// `long units` at 40 (mm/slab.h of 6.1).
    @Test func slabAndSlobLayouts() throws {
        let slab515 = try slab(["--kconfig", try configFile("slab", "CONFIG_SLAB=y"), "--kernel", "5.15"])
        #expect(slab515["s_mem"] == 40 && slab515["active"] == 48 && slab515["counters"] == nil)
        let slob61 = try slab(["--kconfig", try configFile("slob", "CONFIG_SLOB=y")])
        #expect(slob61["units"] == 40 && slob61["slab_cache"] == nil)
    }

    /// SLOB was removed in 6.4 and SLAB in 6.8: one line naming both, exit status 2 (after
    /// the line saying --kernel overrides the configuration's 6.1 header).
    @Test func allocatorTheVersionLacks() throws {
        let slob = try CLI.run(["layout", "--kconfig", try configFile("slob2", "CONFIG_SLOB=y"), "--kernel", "6.6"])
        #expect(slob.status == 2 && slob.stdout.isEmpty)
        let lines = slob.stderr.split(separator: "\n")
        #expect(lines.count == 2 && lines[0].contains("6.1.170"))
        #expect(lines.last?.contains("CONFIG_SLOB=y is not an option of Linux 6.6") == true && lines.last?.contains("6.4") == true)
        let slab = try CLI.run(["layout", "--kconfig", try configFile("slab2", "CONFIG_SLAB=y"), "--kernel", "6.12"])
        #expect(slab.status == 2 && slab.stderr.contains("6.8"))
    }

    /// `census --kernel` reports /proc/kpageflags as that version writes it: 6.6's rules
    /// name PG_mappedtodisk for bit 34, 6.12's PG_owner_2.
    @Test func censusKpageflags() throws {
        let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Sources/PageCensus/Resources/example-census.pglb").path
        let old = try CLI.run(["census", "--from", example, "--kernel", "6.6"])
        #expect(old.status == 0)
        #expect(old.stdout.contains("/proc/kpageflags as Linux 6.6 writes it") && old.stdout.contains("PG_mappedtodisk"))
        let new = try CLI.run(["census", "--from", example, "--kernel", "6.12", "--format", "json"])
        let section = try #require(try object(new.stdout)["kpageflags"] as? [String: Any])
        #expect(section["kernel"] as? String == "6.12")
        #expect((section["rules"] as? [String])?.contains { $0.contains("PG_owner_2") } == true)
        #expect(section["bits_not_written"] is [Any])
    }

    /// `machine --kernel 6.6` builds (JSON `kernel` says which layouts the memmap holds,
    /// the text ends with the line on what stays v6.19's); so do 6.1 and 5.15, whose line
    /// says where the mapcounts they lack are kept; a 32-bit 6.1 is one line, exit 2.
    @Test func machineOfAnOlderKernel() throws {
        let json = try CLI.run(["machine", "--ram", "256M", "--kernel", "6.6", "--format", "json"])
        #expect(json.status == 0, "\(json.stderr)")
        #expect(try object(json.stdout)["kernel"] as? String == "6.6")
        let text = try CLI.run(["machine", "--ram", "256M", "--kernel", "6.12"])
        #expect(text.stdout.contains("the code that ran is v6.19's"))
        for version in ["6.1", "5.15"] {
            let older = try CLI.run(["machine", "--ram", "256M", "--kernel", version, "--format", "json"])
            #expect(older.status == 0, "\(older.stderr)")
            #expect(try object(older.stdout)["kernel"] as? String == version)
            let line = try CLI.run(["machine", "--ram", "256M", "--kernel", version])
            #expect(line.stdout.contains("compound pages (large folios' mapcounts in page[1].index"))
        }
        let refused = try CLI.run(["machine", "--ram", "256M", "--kernel", "6.1", "--arch", "arm"])
        #expect(refused.status == 2 && refused.stderr.split(separator: "\n").count == 1 && refused.stderr.contains("64-bit"))
    }
}
