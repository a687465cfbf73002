import Foundation
import Testing

@Suite struct CensusCommandTests {
    /// The snapshot bundled with PageCensus (a real census of a 24 GiB machine).
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/PageCensus/Resources/example-census.pglb").path
    static let liveReadable = access("/proc/kpageflags", R_OK) == 0

    @Test func textFromSnapshot() throws {
        let result = try CLI.run(["census", "--from", Self.example])
        #expect(result.status == 0)
        #expect(result.stdout.contains("Pages by kind"))
        #expect(result.stdout.contains("memdesc8"))
        #expect(result.stderr.isEmpty)   // no progress when piped
    }

    @Test func jsonKeys() throws {
        let result = try CLI.run(["census", "--from", Self.example, "--format", "json"])
        #expect(result.status == 0)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        for key in ["kernel", "pfns", "pfns_with_memmap", "kinds", "folio_orders", "buddy_blocks", "buddyinfo", "descriptors", "designs", "seconds"] {
            #expect(object[key] != nil, "\(key)")
        }
        let kinds = try #require(object["kinds"] as? [String: [String: Int]])
        for key in ["pages", "bytes", "heads", "tails"] { #expect(kinds["page_cache"]?[key] != nil) }
        let designs = try #require(object["designs"] as? [[String: Any]])
        #expect(designs.count == 8)
        for key in ["design", "struct_page_size", "memmap_bytes", "descriptor_bytes", "page_ext_bytes", "total_bytes",
                    "percent_of_ram", "in_use_bytes_per_page"] {
            #expect(designs[0][key] != nil, "\(key)")
        }
        #expect(designs[0]["design"] as? String == "mainline")
        #expect(designs[0]["memmap_bytes"] as? Int == 64 * (object["pfns_with_memmap"] as? Int ?? 0))
    }

    @Test func descriptorSizeOverride() throws {
        let result = try CLI.run(["census", "--from", Self.example, "--format", "json", "--descriptor-size", "folio=128"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("\"folio\" : 128"))
        let bad = try CLI.run(["census", "--from", Self.example, "--descriptor-size", "page=8"])
        #expect(bad.status == 2)
        #expect(bad.stderr.hasPrefix("pagelab: error: --descriptor-size 'page=8'"))
    }

    @Test func pageTypesTable() throws {
        let result = try CLI.run(["census", "--from", Self.example, "--page-types"])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.first == "             flags\tpage-count       MB  symbolic-flags\t\t\tlong-symbolic-flags")
        #expect(lines.last?.hasPrefix("             total\t") == true)
    }

    @Test func fleetOfTwo() throws {
        // A second machine: a census of a fake /proc saved as a snapshot (the same file
        // twice is refused: a fleet counts each machine once).
        let dir = try CLI.oneSectionProc()
        defer { try? FileManager.default.removeItem(at: dir) }
        let second = dir.appendingPathComponent("second.pglb").path
        #expect(try CLI.run(["census", "--proc", dir.path, "--save", second]).status == 0)
        let result = try CLI.run(["census", "--from", Self.example, "--from", second])
        #expect(result.status == 0)
        #expect(result.stdout.contains("fleet of 2 machines"))
        #expect(result.stdout.contains("Machines"))
    }

    @Test func svgAndPng() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let svg = try CLI.run(["census", "--from", Self.example, "--format", "svg"])
        #expect(svg.status == 0 && svg.stdout.hasPrefix("<svg"))
        let png = dir.appendingPathComponent("m.png").path
        let result = try CLI.run(["census", "--from", Self.example, "--format", "png", "--output", png])
        #expect(result.status == 0)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: png))
        #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])
    }

    @Test func badSnapshotsExitTwoNamingFileAndOffset() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = try Data(contentsOf: URL(fileURLWithPath: Self.example))
        var corrupt = good; corrupt[good.count / 2] ^= 0xff
        var version = good; version[8] = 2
        let cases: [(String, Data, String)] = [
            ("truncated.pglb", good.prefix(good.count / 3), "truncated"),
            ("corrupt.pglb", corrupt, "checksum mismatch"),
            ("version.pglb", version, "unsupported version 2"),
            ("empty.pglb", Data(), "truncated header"),
            ("text.pglb", Data("hello, world, this is no snapshot".utf8), "wrong magic"),
        ]
        for (name, data, reason) in cases {
            let path = dir.appendingPathComponent(name).path
            try data.write(to: URL(fileURLWithPath: path))
            let result = try CLI.run(["census", "--from", path])
            #expect(result.status == 2, "\(name)")
            #expect(result.stderr.contains(path) && result.stderr.contains("byte offset") && result.stderr.contains(reason), "\(result.stderr)")
            #expect(result.stdout.isEmpty)
        }
        let missing = try CLI.run(["census", "--from", dir.appendingPathComponent("none.pglb").path])
        #expect(missing.status == 2)
    }

    @Test func noKpageflagsIsOneLineExitTwoAndNothingWrittenOver() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let save = dir.appendingPathComponent("keep.pglb")
        try Data("previous".utf8).write(to: save)
        let result = try CLI.run(["census", "--proc", dir.path, "--save", save.path])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("pagelab: error: cannot read \(dir.path)/kpageflags"))
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(try Data(contentsOf: save) == Data("previous".utf8))
    }

    @Test func badUsage() throws {
        #expect(try CLI.run(["census", "--format", "html"]).status == 2)
        #expect(try CLI.run(["census", "--from", Self.example, "--save", "/tmp/x.pglb"]).status == 2)
        #expect(try CLI.run(["census", "--from", Self.example, "--raw"]).status == 2)
    }

    @Test(.enabled(if: liveReadable, "/proc/kpageflags is readable only by root on Linux"))
    func liveSaveThenLoad() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("live.pglb").path
        let live = try CLI.run(["census", "--save", path, "--format", "json"])
        #expect(live.status == 0)
        let loaded = try CLI.run(["census", "--from", path, "--format", "json"])
        #expect(loaded.status == 0)
        let a = try JSONSerialization.jsonObject(with: Data(live.stdout.utf8)) as? [String: Any]
        let b = try JSONSerialization.jsonObject(with: Data(loaded.stdout.utf8)) as? [String: Any]
        #expect(a?["pfns"] as? Int == b?["pfns"] as? Int)
        #expect((a?["kinds"] as? NSDictionary) == (b?["kinds"] as? NSDictionary))
    }

    @Test func procCopyFromAFakeProcDirectory() throws {
        // A /proc copy with 3 sections of flags: 2 free pages, one slab page, zeros.
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        var flags = [UInt64](repeating: 0, count: 3 * 32768)
        flags[0] = 1 << 10; flags[1] = 1 << 10; flags[2] = 1 << 7 | 1 << 12
        let bytes = flags.flatMap { value in (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        try Data(bytes).write(to: dir.appendingPathComponent("kpageflags"))
        try Data("00000000-17ffffff : System RAM\n".utf8).write(to: dir.appendingPathComponent("iomem"))
        let table = try CLI.run(["census", "--proc", dir.path, "--page-types"])
        #expect(table.status == 0)
        #expect(table.stdout.contains("0x0000000000000400\t         2        0  __________B_"))
        #expect(table.stdout.contains("0x0000000000001080\t         1        0  _______S____a_"))
        #expect(table.stdout.hasSuffix("             total\t     98304      384\n"))
        let json = try CLI.run(["census", "--proc", dir.path, "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let kinds = try #require(object["kinds"] as? [String: [String: Int]])
        #expect(kinds["free"]?["pages"] == 2)
        #expect(kinds["slab"]?["pages"] == 1)
        #expect(kinds["anon"]?["pages"] == 0)
        #expect(kinds["uninitialised"]?["pages"] == 2 * 32768)   // the two all-zero sections
        #expect(kinds["untyped"]?["pages"] == 32768 - 3)
    }
}
