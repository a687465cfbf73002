import Foundation
import Testing

/// `pagelab layout --btf` and `--check` end to end: bad input is one line and exit 2.
@Suite struct LayoutBTFCommandTests {
    static var libbpfPresent: Bool {
        ["/usr/lib/x86_64-linux-gnu/libbpf.so.1", "/usr/lib/aarch64-linux-gnu/libbpf.so.1", "/usr/lib64/libbpf.so.1"]
            .contains { FileManager.default.fileExists(atPath: $0) }
    }
    static var btfReadable: Bool { libbpfPresent && FileManager.default.isReadableFile(atPath: "/sys/kernel/btf/vmlinux") }

    func expectBadInput(_ arguments: [String], mentions mention: String) throws {
        let result = try CLI.run(arguments)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        #expect(result.stderr.contains(mention), "\(result.stderr)")
    }

    @Test(.enabled(if: LayoutBTFCommandTests.libbpfPresent, "libbpf.so.1 is not installed"))
    func badBTFInputs() throws {
        // An ELF file without .BTF: the pagelab binary itself.
        try expectBadInput(["layout", "--btf", CLI.executable.path], mentions: "without a usable .BTF section")
        try expectBadInput(["layout", "--btf", "/nonexistent/vmlinux"], mentions: "no such file")
        let corrupt = FileManager.default.temporaryDirectory.appendingPathComponent("pagelab-\(getpid())-corrupt.btf")
        try Data([0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0xff, 0xff]).write(to: corrupt)
        try expectBadInput(["layout", "--btf", corrupt.path], mentions: "truncated or corrupt")
    }

    /// `--btf` shows the kernel's layout: options that choose a computed one are refused.
    @Test func btfWithComputedOptionsIsUsageError() throws {
        try expectBadInput(["layout", "--btf", "/sys/kernel/btf/vmlinux", "--arch", "i386"], mentions: "--btf shows the kernel's own layout")
        try expectBadInput(["layout", "--btf", "--design", "memdesc8"], mentions: "--btf shows the kernel's own layout")
    }

    /// A bare `--btf` reads the running kernel's BTF; the JSON has the four descriptors with
    /// struct page 64 bytes and `_refcount` at 52 (x86_64, include/linux/mm_types.h).
    @Test(.enabled(if: LayoutBTFCommandTests.btfReadable, "/sys/kernel/btf/vmlinux or libbpf is not available"))
    func runningKernelBTF() throws {
        let result = try CLI.run(["layout", "--btf", "--format", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        let structs = try #require(object["structs"] as? [[String: Any]])
        #expect(structs.compactMap { $0["name"] as? String } == ["page", "folio", "ptdesc", "slab"])
        #expect(structs[0]["size"] as? Int == 64)
        let fields = try #require(structs[0]["fields"] as? [[String: Any]])
        #expect(fields.first { $0["name"] as? String == "_refcount" }?["offset"] as? Int == 52)
        let svg = try CLI.run(["layout", "--btf", "/sys/kernel/btf/vmlinux", "--format", "svg"])
        #expect(svg.status == 0 && svg.stdout.contains("<svg") && svg.stdout.contains("_refcount"))
    }

    /// A vmlinux-like ELF: an executable with the running kernel's BTF added as its `.BTF`
    /// section (binutils' objcopy, as the kernel's link-vmlinux.sh adds it with pahole's
    /// output); libbpf reads the section and gives the same struct page.
    @Test(.enabled(if: LayoutBTFCommandTests.btfReadable && FileManager.default.isExecutableFile(atPath: "/usr/bin/objcopy"),
                   "/sys/kernel/btf/vmlinux, libbpf or objcopy is not available"))
    func elfWithBTFSection() throws {
        let elf = FileManager.default.temporaryDirectory.appendingPathComponent("pagelab-\(getpid())-vmlinux").path
        let objcopy = Process()
        objcopy.executableURL = URL(fileURLWithPath: "/usr/bin/objcopy")
        objcopy.arguments = ["--add-section", ".BTF=/sys/kernel/btf/vmlinux", "--set-section-flags", ".BTF=readonly",
                             CLI.executable.path, elf]
        try objcopy.run()
        objcopy.waitUntilExit()
        #expect(objcopy.terminationStatus == 0)
        defer { try? FileManager.default.removeItem(atPath: elf) }
        let fromELF = try CLI.run(["layout", "--btf", elf, "--format", "json"])
        let fromSysfs = try CLI.run(["layout", "--btf", "/sys/kernel/btf/vmlinux", "--format", "json"])
        #expect(fromELF.status == 0, "\(fromELF.stderr)")
        let structs = { (text: String) in
            ((try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any])?["structs"] as? [[String: Any]]
        }
        let elfPage = try #require(structs(fromELF.stdout)?.first), sysfsPage = try #require(structs(fromSysfs.stdout)?.first)
        #expect(elfPage["size"] as? Int == sysfsPage["size"] as? Int)
        #expect((elfPage["fields"] as? [Any])?.count == (sysfsPage["fields"] as? [Any])?.count)
    }

    /// `--check` exits 1 when anything differs and lists it; JSON says the same.
    @Test(.enabled(if: LayoutBTFCommandTests.btfReadable && (try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8))?.hasPrefix("6.18.44-fc") == true,
                   "not this project's build machine (6.18.44-fc)"))
    func checkOnTheBuildMachine() throws {
        let result = try CLI.run(["layout", "--check"])
        #expect(result.status == 1)
        #expect(result.stdout.contains("extra buddy_since"))
        let json = try CLI.run(["layout", "--check", "--format", "json"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect((object["differences"] as? [Any])?.count == 1 && object["kernel"] as? String == "6.18")
    }
}
