import Foundation
import PageCensus
import Testing

/// `census --format jsonl` at fleet scale: 1,000 generated host snapshots, their rows
/// aggregated by DuckDB, and the totals checked against `pagelab census --from` over the
/// same files (issue 18). DuckDB is PyPI's `duckdb`, which `.ci/run` installs.
@Suite(.serialized) struct FleetJSONLTests {
    static let hosts = 1000
    static let releases = ["5.15.135", "6.1.170", "6.6.57", "6.12.63", "6.18.44-fc", "6.19.0"]
    static let pagesPerSection = 4096

    static var duckdbImportable: Bool {
        guard let result = try? Self.python("import duckdb") else { return false }
        return result.status == 0
    }

    static func python(_ script: String) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script]
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    /// Host `index`: 1-4 sections of 4096 pfns (16-64 MiB), a kernel release of the six
    /// PageLab knows, and a mix of kinds drawn per 64-pfn block by a seeded generator:
    /// anonymous pages, page-cache folios of order 2, slab pages, page tables, free buddy
    /// runs and reserved memory, in proportions that differ from host to host.
    static func snapshot(_ index: Int) -> [UInt8] {
        typealias F = KernelPageFlags
        var seed = UInt64(index) &* 0x9E37_79B9_7F4A_7C15 &+ 1
        func next() -> Int {
            seed ^= seed << 13; seed ^= seed >> 7; seed ^= seed << 17
            return Int(seed % 100)
        }
        let pfns = (1 + index % 4) * pagesPerSection
        let anonShare = 10 + index % 40, cacheShare = 10 + (index / 3) % 30
        var flags: [UInt64] = [], counts: [UInt64] = []
        flags.reserveCapacity(pfns)
        let file: F = [.uptodate, .lru]
        let folio: [UInt64] = [file.union(.compoundHead).rawValue] + Array(repeating: file.union(.compoundTail).rawValue, count: 3)
        while flags.count < pfns {
            // One 64-pfn block of one kind; page-cache blocks are 16 order-2 folios (head,
            // then three tails, the 6.9+ encoding).
            let draw = next()
            let block: [UInt64], count: UInt64
            switch draw {
            case ..<anonShare: (block, count) = (Array(repeating: F([.anon, .swapbacked, .lru, .mmap]).rawValue, count: 64), 1)
            case ..<(anonShare + cacheShare): (block, count) = (Array([[UInt64]](repeating: folio, count: 16).joined()), 1)
            case ..<(anonShare + cacheShare + 8): (block, count) = (Array(repeating: F.slab.rawValue, count: 64), 0)
            case ..<(anonShare + cacheShare + 10): (block, count) = (Array(repeating: F.pgtable.rawValue, count: 64), 1)
            case ..<(anonShare + cacheShare + 12): (block, count) = (Array(repeating: F.reserved.rawValue, count: 64), 1)
            default: (block, count) = (Array(repeating: F.buddy.rawValue, count: 64), 0)
            }
            flags += block
            counts += repeatElement(count, count: 64)
        }
        let end = String(pfns * 4096 - 1, radix: 16)
        let info = SnapshotInfo(kernelRelease: releases[index % releases.count], kernelVersion: "Linux version generated",
                                machine: "host-\(index)", pagesPerSection: pagesPerSection, createdAt: 1_700_000_000 + index,
                                files: ["iomem": Array("00000000-\(end) : System RAM\n".utf8)])
        var writer = SnapshotWriter(info: info)
        writer.append(flags: flags, counts: counts, cgroups: [UInt64](repeating: 0, count: pfns), count: pfns)
        return writer.finished()
    }

    @Test(.enabled(if: FleetJSONLTests.duckdbImportable, "python3 cannot import duckdb (PyPI's duckdb; .ci/run installs it)"))
    func duckdbTotalsEqualCensusFrom() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pagelab-fleet-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { if ProcessInfo.processInfo.environment["PAGELAB_KEEP_FLEET"] == nil { try? FileManager.default.removeItem(at: directory) } }
        var paths: [String] = []
        for index in 0..<Self.hosts {
            let url = directory.appendingPathComponent("host-\(index).pglb")
            try Data(Self.snapshot(index)).write(to: url)
            paths.append(url.path)
        }
        let rowsURL = directory.appendingPathComponent("rows.jsonl")
        let jsonl = try CLI.run(["census", "--format", "jsonl", "--output", rowsURL.path, "--from", directory.path])
        #expect(jsonl.status == 0, "\(jsonl.stderr.prefix(300))")

        // The README's fleet queries.
        let script = """
            import duckdb, json
            con = duckdb.connect()
            con.execute("CREATE VIEW r AS SELECT * FROM read_json_auto('\(rowsURL.path)', format='newline_delimited')")
            designs = dict(con.execute(\"\"\"SELECT design, sum(total_bytes) FROM r WHERE "row" = 'design' GROUP BY design\"\"\").fetchall())
            memmap = dict(con.execute(\"\"\"SELECT design, sum(memmap_bytes) FROM r WHERE "row" = 'design' GROUP BY design\"\"\").fetchall())
            by_version = {f"{v}/{d}": t for v, d, t in con.execute(\"\"\"SELECT kernel_version, design, sum(total_bytes) FROM r WHERE "row" = 'design' GROUP BY ALL\"\"\").fetchall()}
            kinds = dict(con.execute(\"\"\"SELECT kind, sum(pages) FROM r WHERE "row" = 'pages' GROUP BY kind\"\"\").fetchall())
            hosts = con.execute(\"\"\"SELECT count(DISTINCT host) FROM r\"\"\").fetchone()[0]
            print(json.dumps({"designs": {k: int(v) for k, v in designs.items()}, "memmap": {k: int(v) for k, v in memmap.items()},
                              "by_version": {k: int(v) for k, v in by_version.items()}, "kinds": {k: int(v) for k, v in kinds.items()}, "hosts": hosts}))
            """
        let duck = try Self.python(script)
        #expect(duck.status == 0, "\(duck.stderr.suffix(500))")
        let sums = try #require(try JSONSerialization.jsonObject(with: Data(duck.stdout.utf8)) as? [String: Any])
        #expect(sums["hosts"] as? Int == Self.hosts)

        // `pagelab census --from` over the same files: its fleet totals.
        let fleet = try censusJSON([directory.path])
        let designs = try #require(sums["designs"] as? [String: Int])
        let memmap = try #require(sums["memmap"] as? [String: Int])
        let fleetDesigns = try #require(fleet["designs"] as? [[String: Any]])
        #expect(fleetDesigns.count == designs.count && !designs.isEmpty)
        for row in fleetDesigns {
            let name = try #require(row["design"] as? String)
            #expect(designs[name] == row["total_bytes"] as? Int, "\(name)")
            #expect(memmap[name] == row["memmap_bytes"] as? Int, "\(name)")
        }
        let kinds = try #require(sums["kinds"] as? [String: Int])
        let fleetKinds = try #require(fleet["kinds"] as? [String: [String: Any]])
        for (kind, stats) in fleetKinds where (stats["pages"] as? Int ?? 0) != 0 {
            #expect(kinds[kind] == stats["pages"] as? Int, "\(kind)")
        }
        // Per kernel version: the 6.1 hosts alone through `census --from`.
        let byVersion = try #require(sums["by_version"] as? [String: Int])
        let v61 = paths.enumerated().filter { Self.releases[$0.offset % Self.releases.count].hasPrefix("6.1.") }.map(\.element)
        let fleet61 = try #require(try censusJSON(v61)["designs"] as? [[String: Any]])
        for row in fleet61 {
            let name = try #require(row["design"] as? String)
            #expect(byVersion["6.1/\(name)"] == row["total_bytes"] as? Int, "6.1 \(name)")
        }
    }

    func censusJSON(_ paths: [String]) throws -> [String: Any] {
        let result = try CLI.run(["census", "--format", "json"] + paths.flatMap { ["--from", $0] })
        #expect(result.status == 0, "\(result.stderr.prefix(300))")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
    }

    /// Every row is one JSON object with the documented keys; the pages of each kind sum to
    /// the census's count of that kind.
    @Test func rowsOfOneHost() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pagelab-jsonl-\(getpid()).pglb")
        try Data(Self.snapshot(7)).write(to: url)
        let result = try CLI.run(["census", "--from", url.path, "--format", "jsonl"])
        #expect(result.status == 0)
        let rows = try result.stdout.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        let designRows = rows.filter { $0["row"] as? String == "design" }
        #expect(designRows.count == 8)
        for row in designRows {
            for key in ["source", "host", "kernel", "kernel_version", "design", "struct_page_size", "memmap_bytes",
                        "descriptor_bytes", "page_ext_bytes", "total_bytes", "in_use_bytes", "not_in_use_bytes", "ram_pages", "pfns"] {
                #expect(row[key] != nil, "missing \(key)")
            }
        }
        // host 7: 4 sections, release 6.1.170 (7 % 6 == 1)
        #expect(designRows.first?["kernel_version"] as? String == "6.1")
        #expect(designRows.first?["pfns"] as? Int == 4 * Self.pagesPerSection)
        let pages = rows.filter { $0["row"] as? String == "pages" }.reduce(0) { $0 + ($1["pages"] as? Int ?? 0) }
        #expect(pages == 4 * Self.pagesPerSection)
        let cache = rows.filter { $0["kind"] as? String == "page_cache" && $0["order"] as? Int == 2 }
        #expect(cache.count == 1 && (cache.first?["pages"] as? Int ?? 0) == 4 * (cache.first?["folios"] as? Int ?? -1))
    }
}
