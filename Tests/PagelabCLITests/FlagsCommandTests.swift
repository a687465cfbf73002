import Deflate
import Foundation
import Testing

/// `pagelab flags` end to end: the numbers, the JSON keys of the README, and every kind of
/// bad input (one line on standard error, exit status 2).
@Suite struct FlagsCommandTests {
    static let procConfig = "/proc/config.gz"
    static var procConfigReadable: Bool { FileManager.default.isReadableFile(atPath: procConfig) }

    /// The JSON object `pagelab flags` prints for `arguments`.
    func json(_ arguments: [String]) throws -> [String: Any] {
        let result = try CLI.run(["flags", "--format", "json"] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        return try #require(object as? [String: Any])
    }

    func writeFile(_ bytes: [UInt8], in directory: URL, name: String) throws -> String {
        let url = directory.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    /// Runs a command that must fail on bad input: status 2, nothing on standard output,
    /// one line on standard error that contains `mention`.
    func expectBadInput(_ arguments: [String], mentions mention: String,
                        sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try CLI.run(arguments)
        #expect(result.status == 2, sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.hasPrefix("pagelab: error: "), sourceLocation: sourceLocation)
        #expect(result.stderr.contains(mention), "\(result.stderr)", sourceLocation: sourceLocation)
    }

    // MARK: Results

    @Test func jsonHasEveryDocumentedKey() throws {
        let object = try json(["--preset", "x86_64-defconfig"])
        for key in ["bits_per_long", "nr_pageflags", "max_nr_zones", "zones_width", "sections_width",
                    "nodes_shift", "nodes_width", "kasan_tag_width", "last_cpupid_shift",
                    "last_cpupid_width", "lru_gen_width", "lru_refs_width", "nr_non_pageflag_bits",
                    "unused_bits", "free_bits", "node_not_in_page_flags", "last_cpupid_not_in_page_flags",
                    "struct_page_size", "error", "source", "flags", "fields", "added_flags", "baseline", "changes"] {
            #expect(object[key] != nil, "missing key \(key)")
        }
        #expect(object["source"] as? String == "preset x86_64-defconfig")
        #expect(object["bits_per_long"] as? Int == 64)
        #expect(object["nr_pageflags"] as? Int == 22)
        #expect(object["zones_width"] as? Int == 2)
        #expect(object["nodes_width"] as? Int == 6)
        #expect(object["unused_bits"] as? Int == 34)
        #expect(object["struct_page_size"] as? Int == 64)
        #expect(object["error"] is NSNull)
        #expect(object["baseline"] is NSNull)
        #expect((object["flags"] as? [String: Int])?["PG_arch_2"] == 21)
        let fields = try #require(object["fields"] as? [[String: Any]])
        #expect(fields.map { $0["name"] as? String } == ["SECTIONS", "NODES", "ZONES", "LAST_CPUPID",
                                                        "KASAN_TAG", "LRU_GEN", "LRU_REFS"])
        #expect(fields[1]["pgoff"] as? Int == 58)
    }

    @Test func i386DefconfigHas8UnusedBits() throws {
        let object = try json(["--preset", "i386-defconfig"])
        #expect(object["bits_per_long"] as? Int == 32)
        #expect(object["unused_bits"] as? Int == 8)
        #expect(object["struct_page_size"] as? Int == 32)
    }

    @Test func whatIfShowsWhatMovesOut() throws {
        let object = try json(["--preset", "x86_64-distro", "--add-flag", "PG_dma_pinned",
                               "--add-flag", "PG_b", "--add-flag", "PG_c"])
        #expect(object["nr_pageflags"] as? Int == 28)
        #expect(object["last_cpupid_not_in_page_flags"] as? Bool == true)
        #expect(object["unused_bits"] as? Int == -3)
        #expect(object["free_bits"] as? Int == 18)
        #expect(object["added_flags"] as? [String] == ["PG_dma_pinned", "PG_b", "PG_c"])
        let baseline = try #require(object["baseline"] as? [String: Any])
        #expect(baseline["nr_pageflags"] as? Int == 25)
        #expect(baseline["last_cpupid_not_in_page_flags"] as? Bool == false)
        // int _last_cpupid after memcg_data: 64 + 4, padded to the 16-byte alignment.
        #expect(baseline["struct_page_size"] as? Int == 64)
        #expect(object["struct_page_size"] as? Int == 80)
        let changes = try #require(object["changes"] as? [String])
        #expect(changes.contains { $0.contains("int _last_cpupid") })
    }

    @Test func buildErrorIsAFindingNotAFailure() throws {
        let object = try json(["--preset", "i386-pae", "--add-flag", "PG_a", "--add-flag", "PG_b"])
        #expect(object["error"] as? String == "Not enough bits in page flags")
        let text = try CLI.run(["flags", "--preset", "i386-pae", "--add-flag", "PG_a", "--add-flag", "PG_b"])
        #expect(text.status == 0)
        #expect(text.stdout.contains("#error \"Not enough bits in page flags\""))
        let distro = try CLI.run(["flags", "--preset", "x86_64-distro", "--add-flag", "PG_a", "--add-flag", "PG_b",
                                  "--add-flag", "PG_c"])
        #expect(distro.stdout.contains("  - sizeof(struct page) 64 -> 80 bytes\n"))
    }

    @Test func textDrawsTheBarAndNamesTheSource() throws {
        let result = try CLI.run(["flags", "--preset", "x86_64-defconfig"])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.first == "Kernel configuration: preset x86_64-defconfig")
        // NODES (6) ZONES (2) unused (34) flags (22), one character per bit.
        let bar = String(repeating: "N", count: 6) + "ZZ" + String(repeating: ".", count: 34)
            + String(repeating: "F", count: 22)
        #expect(lines.contains { $0 == "  " + bar })
        #expect(result.stdout.contains("NR_UNUSED_PAGEFLAG_BITS           34"))
    }

    @Test func defaultSaysWhichConfigurationItUsed() throws {
        let result = try CLI.run(["flags"])
        #expect(result.status == 0)
        let first = result.stdout.split(separator: "\n").first.map(String.init) ?? ""
        if Self.procConfigReadable {
            #expect(first == "Kernel configuration: /proc/config.gz (the running kernel's, the default)")
        } else {
            #expect(first.hasPrefix("Kernel configuration: preset x86_64-defconfig (the default"))
        }
    }

    @Test func gzipAndPlainFilesAgree() throws {
        let directory = try CLI.temporaryDirectory()
        let text = Array("CONFIG_X86_64=y\nCONFIG_64BIT=y\nCONFIG_SMP=y\nCONFIG_NR_CPUS=64\nCONFIG_NUMA=y\nCONFIG_NODES_SHIFT=6\nCONFIG_SPARSEMEM=y\nCONFIG_SPARSEMEM_VMEMMAP=y\nCONFIG_ZONE_DMA=y\nCONFIG_ZONE_DMA32=y\nCONFIG_ARCH_USES_PG_ARCH_2=y\n".utf8)
        let plain = try writeFile(text, in: directory, name: "config")
        let gzipped = try writeFile(Zlib.compress(text, format: .gzip), in: directory, name: "config.gz")
        let a = try json(["--kconfig", plain]), b = try json(["--kconfig", gzipped])
        #expect(a["unused_bits"] as? Int == 34 && b["unused_bits"] as? Int == 34)
        #expect(b["source"] as? String == gzipped)
    }

    /// `pagelab flags --kconfig /proc/config.gz` must agree with the kernel's own headers.
    /// On this project's build machine (Linux/x86 6.18.44, worked by hand in
    /// FlagsBudgetTests.liveConfigMatchesTheKernelHeaders): NR_PAGEFLAGS 24, MAX_NR_ZONES 5,
    /// ZONES_WIDTH 3, NODES 10, LAST_CPUPID 16 in page->flags, 11 unused bits. Elsewhere: the
    /// running kernel built, so there is no #error.
    @Test(.enabled(if: FlagsCommandTests.procConfigReadable, "/proc/config.gz is not readable here"))
    func liveKernelConfiguration() throws {
        let object = try json(["--kconfig", Self.procConfig])
        #expect(object["error"] is NSNull)
        let head = (try? Zlib.decompress(Array(FileManager.default.contents(atPath: Self.procConfig) ?? Data())))
            .map { String(decoding: $0.prefix(200), as: UTF8.self) } ?? ""
        if head.contains("# Linux/x86 6.18.44 Kernel Configuration") {
            #expect(object["nr_pageflags"] as? Int == 24)
            #expect(object["max_nr_zones"] as? Int == 5)
            #expect(object["zones_width"] as? Int == 3)
            #expect(object["nodes_width"] as? Int == 10)
            #expect(object["last_cpupid_width"] as? Int == 16)
            #expect(object["nr_non_pageflag_bits"] as? Int == 29)
            #expect(object["unused_bits"] as? Int == 11)
        }
    }

    // MARK: Bad input

    @Test func missingFile() throws {
        try expectBadInput(["flags", "--kconfig", "/nonexistent/config"],
                           mentions: "cannot read '/nonexistent/config': no such file")
    }

    @Test func directory() throws {
        let directory = try CLI.temporaryDirectory()
        try expectBadInput(["flags", "--kconfig", directory.path], mentions: "it is a directory")
    }

    @Test(.enabled(if: getuid() != 0, "root may read a file without read permission"))
    func unreadableFile() throws {
        let path = try writeFile(Array("CONFIG_X86_64=y\n".utf8), in: try CLI.temporaryDirectory(), name: "config")
        chmod(path, 0)
        try expectBadInput(["flags", "--kconfig", path], mentions: "permission denied")
    }

    @Test func notAKernelConfiguration() throws {
        let directory = try CLI.temporaryDirectory()
        let prose = try writeFile(Array("# notes\n\n# nothing here\n".utf8), in: directory, name: "notes")
        try expectBadInput(["flags", "--kconfig", prose], mentions: "no CONFIG_ option in it")
        let yaml = try writeFile(Array("name: x\nCONFIG_X86_64=y\n".utf8), in: directory, name: "yaml")
        try expectBadInput(["flags", "--kconfig", yaml], mentions: "line 1 is not a kconfig line")
        let junk = try writeFile([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 0xff], in: directory, name: "elf")
        try expectBadInput(["flags", "--kconfig", junk], mentions: "binary data")
        let riscv = try writeFile(Array("CONFIG_RISCV=y\n".utf8), in: directory, name: "riscv")
        try expectBadInput(["flags", "--kconfig", riscv], mentions: "no architecture PageLab knows")
    }

    @Test func corruptGzip() throws {
        let directory = try CLI.temporaryDirectory()
        let whole = Zlib.compress(Array("CONFIG_X86_64=y\n".utf8), format: .gzip)
        let truncated = try writeFile(Array(whole.prefix(whole.count / 2)), in: directory, name: "config.gz")
        try expectBadInput(["flags", "--kconfig", truncated], mentions: "corrupt gzip data")
        let garbage = try writeFile([0x1f, 0x8b] + Array(repeating: 0x55, count: 40), in: directory, name: "bad.gz")
        try expectBadInput(["flags", "--kconfig", garbage], mentions: "corrupt gzip data")
    }

    @Test func unknownPreset() throws {
        try expectBadInput(["flags", "--preset", "vax-defconfig"], mentions: "unknown preset 'vax-defconfig'")
    }

    @Test func badFlagNames() throws {
        try expectBadInput(["flags", "--preset", "x86_64-defconfig", "--add-flag", "DmaPinned"],
                           mentions: "bad page flag name 'DmaPinned'")
        try expectBadInput(["flags", "--preset", "x86_64-defconfig", "--add-flag", "PG_locked"],
                           mentions: "enum pageflags already has it")
    }

    @Test func conflictingOptions() throws {
        try expectBadInput(["flags", "--preset", "x86_64-defconfig", "--kconfig", "/proc/config.gz"],
                           mentions: "not both")
        try expectBadInput(["flags", "--preset", "x86_64-defconfig", "--format", "svg"], mentions: "--format svg")
    }
}
