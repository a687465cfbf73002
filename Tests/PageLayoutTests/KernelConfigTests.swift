import Deflate
import Foundation
import Testing
@testable import PageLayout

/// Writes `bytes` to a fresh temporary file and returns its path.
func temporaryFile(_ bytes: [UInt8], name: String = "config") throws -> String {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("pagelab-kconfig-\(UUID().uuidString)", isDirectory: true)
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let url = directory.appendingPathComponent(name)
    try Data(bytes).write(to: url)
    return url.path
}

@Suite struct KernelConfigTests {
    @Test func parsesEveryValueKind() throws {
        let config = try KernelConfig(text: """
            #
            # Automatically generated file; DO NOT EDIT.
            #
            CONFIG_X86_64=y
            CONFIG_E1000=m
            CONFIG_FOO=n
            # CONFIG_NUMA_BALANCING is not set
            CONFIG_CPUMASK_OFFSTACK=y
            CONFIG_NR_CPUS=8192
            CONFIG_PHYSICAL_START=0x1000000
            CONFIG_ILLEGAL_POINTER_VALUE=0xdead000000000000
            CONFIG_NEG=-3
            CONFIG_LOCALVERSION=""
            CONFIG_CMDLINE="console=ttyS0 \\"quiet\\" \\\\"
            CONFIG_UNQUOTED=abc

            """, source: "test")
        #expect(config["X86_64"] == .yes)
        #expect(config["E1000"] == .module)
        #expect(config.isEnabled("E1000"))
        #expect(config["FOO"] == .no)
        #expect(!config.isEnabled("FOO"))
        #expect(config["NUMA_BALANCING"] == .no)
        #expect(config.number("NR_CPUS") == 8192)
        #expect(config.number("PHYSICAL_START") == 0x1000000)
        #expect(config.number("ILLEGAL_POINTER_VALUE") == Int(bitPattern: 0xdead_0000_0000_0000))
        #expect(config.number("NEG") == -3)
        #expect(config["LOCALVERSION"] == .string(""))
        #expect(config["CMDLINE"] == .string("console=ttyS0 \"quiet\" \\"))
        #expect(config["UNQUOTED"] == .string("abc"))
        #expect(config["NOT_MENTIONED"] == nil)
        #expect(config.number("X86_64") == nil)
    }

    @Test func parsingQuirks() throws {
        // CRLF line ends, surrounding blanks, a later line overriding an earlier one (as
        // conf_read_simple() does), and other comments ignored.
        let text = "CONFIG_X86_64=y\r\n  CONFIG_NODES_SHIFT=6  \r\n\t# a comment\r\n"
            + "# CONFIG_NUMA is not set\r\nCONFIG_NUMA=y\r\nCONFIG_NODES_SHIFT=10\r\n"
        let config = try KernelConfig(text: text, source: "crlf")
        #expect(config.number("NODES_SHIFT") == 10)
        #expect(config["NUMA"] == .yes)
        #expect(config.options.count == 3)
    }

    @Test func rejectsWhatIsNotKconfig() {
        #expect(throws: LayoutError.malformedFile(path: "t", reason: "no CONFIG_ option in it; not a kernel configuration")) {
            try KernelConfig(text: "# just a comment\n\n", source: "t")
        }
        #expect(throws: LayoutError.malformedFile(path: "t", reason: "line 2 is not a kconfig line: \"hello world\"")) {
            try KernelConfig(text: "CONFIG_X86_64=y\nhello world\n", source: "t")
        }
        // An unterminated string, a name with a dash, a value with blanks.
        for bad in ["CONFIG_A=\"open", "CONFIG_A-B=y", "CONFIG_A=1 2", "CONFIG_=y", "CONFIG_A"] {
            #expect(throws: LayoutError.self) { try KernelConfig(text: "CONFIG_X86_64=y\n\(bad)\n", source: "t") }
        }
        #expect(throws: LayoutError.malformedFile(path: "t", reason: "no architecture PageLab knows is set "
                                                  + "(CONFIG_X86_64, CONFIG_X86_32, CONFIG_ARM64 or CONFIG_ARM)")) {
            try KernelConfig(text: "CONFIG_RISCV=y\nCONFIG_64BIT=y\n", source: "t")
        }
    }

    @Test func derivesArchAndItsConstants() throws {
        func config(_ text: String) throws -> KernelConfig { try KernelConfig(text: text, source: "t") }
        let x86 = try config("CONFIG_X86_64=y\nCONFIG_64BIT=y\nCONFIG_SPARSEMEM=y\nCONFIG_SPARSEMEM_VMEMMAP=y\n")
        #expect(x86.arch == .x86_64)
        #expect(x86.bitsPerLong == 64)
        #expect(x86.sectionSizeBits == 27)
        #expect(x86.maxPhysmemBits == 46)
        #expect(x86.memoryModel == .sparsememVmemmap)
        #expect(x86.haveAlignedStructPage)
        #expect(try config("CONFIG_X86_64=y\nCONFIG_PGTABLE_LEVELS=5\n").maxPhysmemBits == 52)
        #expect(try config("CONFIG_X86_64=y\nCONFIG_X86_5LEVEL=y\n").maxPhysmemBits == 52)

        let i386 = try config("CONFIG_X86_32=y\nCONFIG_FLATMEM=y\n")
        #expect(i386.arch == .i386)
        #expect(i386.bitsPerLong == 32)
        #expect(i386.memoryModel == .flatmem)
        #expect(i386.sectionSizeBits == 26 && i386.maxPhysmemBits == 32)
        // An unresolved i386_defconfig names only CONFIG_X86 and "# CONFIG_64BIT is not set".
        #expect(try config("CONFIG_X86=y\n# CONFIG_64BIT is not set\n").arch == .i386)
        let pae = try config("CONFIG_X86_32=y\nCONFIG_X86_PAE=y\nCONFIG_SPARSEMEM=y\n")
        #expect(pae.arch == .i386PAE)
        #expect(pae.sectionSizeBits == 29 && pae.maxPhysmemBits == 36)
        #expect(pae.memoryModel == .sparsemem)

        let arm = try config("CONFIG_ARM=y\n")
        #expect(arm.arch == .arm && arm.bitsPerLong == 32)
        #expect(arm.sectionSizeBits == 28 && arm.maxPhysmemBits == 36)
        #expect(!arm.haveAlignedStructPage)

        let arm64 = try config("CONFIG_ARM64=y\nCONFIG_64BIT=y\nCONFIG_ARM64_PA_BITS=48\n")
        #expect(arm64.arch == .arm64 && arm64.sectionSizeBits == 27 && arm64.maxPhysmemBits == 48)
        let arm64k = try config("CONFIG_ARM64=y\nCONFIG_ARM64_64K_PAGES=y\nCONFIG_ARM64_PA_BITS=52\n")
        #expect(arm64k.sectionSizeBits == 29 && arm64k.maxPhysmemBits == 52)
    }

    @Test func layoutConfigFollowsTheOptions() throws {
        let distro = try KernelConfig.preset("x86_64-distro").layoutConfig
        #expect(distro == LayoutConfig(arch: .x86_64, memcg: true, slabObjExt: true, wantPageVirtual: false,
                                       lastCpupidNotInPageFlags: false, kmsan: false, mmID: true, pageMapcount: true))
        let i386 = try KernelConfig.preset("i386-defconfig").layoutConfig
        #expect(i386.arch == .i386 && !i386.memcg && !i386.slabObjExt && !i386.mmID && i386.pageMapcount)
        #expect(try KernelConfig.preset("arm-defconfig").layoutConfig.arch == .arm)
        // NUMA balancing with more CPU bits than page->flags has room for moves _last_cpupid out.
        let squeezed = try KernelConfig(text: """
            CONFIG_X86_32=y
            CONFIG_SMP=y
            CONFIG_X86_BIGSMP=y
            CONFIG_NR_CPUS=64
            CONFIG_NUMA_BALANCING=y
            CONFIG_X86_PAT=y
            CONFIG_ZONE_DMA=y
            """, source: "t")
        #expect(squeezed.layoutConfig.lastCpupidNotInPageFlags)
    }

    @Test func presetsAreNamedAndParse() throws {
        #expect(KernelConfig.presetNames == ["x86_64-defconfig", "i386-defconfig", "i386-pae", "arm-defconfig",
                                             "arm64-defconfig", "x86_64-distro"])
        let arches = try KernelConfig.presetNames.map { try KernelConfig.preset($0).arch }
        #expect(arches == [.x86_64, .i386, .i386PAE, .arm, .arm64, .x86_64])
        #expect(try KernelConfig.preset("x86_64-defconfig").source == "preset x86_64-defconfig")
        #expect(throws: LayoutError.unknownName(kind: "preset", name: "sparc-defconfig", known: KernelConfig.presetNames)) {
            try KernelConfig.preset("sparc-defconfig")
        }
    }

    @Test func modifiedConfigurations() throws {
        let base = try KernelConfig.preset("x86_64-defconfig")
        let balanced = try base.setting(["NUMA_BALANCING": .yes])
        #expect(balanced.isEnabled("NUMA_BALANCING"))
        #expect(!base.isEnabled("NUMA_BALANCING"))
        #expect(balanced.source == "preset x86_64-defconfig (modified)")
    }

    // MARK: Files

    @Test func loadsPlainAndGzipFiles() throws {
        let text = try #require(KernelConfig.presets.first { $0.name == "arm64-defconfig" }).text + "\n"
        let plain = try KernelConfig.load(path: try temporaryFile(Array(text.utf8)))
        let gzipped = try temporaryFile(Zlib.compress(Array(text.utf8), format: .gzip), name: "config.gz")
        let fromGzip = try KernelConfig.load(path: gzipped)
        #expect(plain.options == fromGzip.options)
        #expect(fromGzip.options == (try KernelConfig.preset("arm64-defconfig")).options)
        #expect(fromGzip.source == gzipped)
        #expect(fromGzip.arch == .arm64)
    }

    @Test func reportsUnusableFiles() throws {
        let missing = "/nonexistent/pagelab/config"
        #expect(throws: LayoutError.unreadableFile(path: missing, reason: "no such file")) {
            try KernelConfig.load(path: missing)
        }
        let directory = FileManager.default.temporaryDirectory.path
        #expect(throws: LayoutError.unreadableFile(path: directory, reason: "it is a directory")) {
            try KernelConfig.load(path: directory)
        }
        // gzip magic followed by garbage, and a gzip stream cut short.
        let corrupt = try temporaryFile([0x1f, 0x8b, 0x08, 0x00] + Array(repeating: 0x41, count: 64))
        #expect(throws: LayoutError.self) { try KernelConfig.load(path: corrupt) }
        let whole = Zlib.compress(Array("CONFIG_X86_64=y\n".utf8), format: .gzip)
        let truncated = try temporaryFile(Array(whole.prefix(whole.count - 6)))
        do {
            _ = try KernelConfig.load(path: truncated)
            Issue.record("a truncated gzip stream was accepted")
        } catch {
            guard case .malformedFile(_, let reason) = error else { Issue.record("\(error)"); return }
            #expect(reason.hasPrefix("corrupt gzip data"))
        }
        let binary = try temporaryFile([0x7f, 0x45, 0x4c, 0x46, 0x02, 0x01, 0x00, 0xff, 0xfe])
        #expect(throws: LayoutError.malformedFile(path: binary, reason: "binary data, not a kernel configuration")) {
            try KernelConfig.load(path: binary)
        }
        let prose = try temporaryFile(Array("Dear reader,\nthis is not a kernel configuration.\n".utf8))
        #expect(throws: LayoutError.self) { try KernelConfig.load(path: prose) }
        let empty = try temporaryFile([])
        #expect(throws: LayoutError.malformedFile(path: empty, reason: "no CONFIG_ option in it; not a kernel configuration")) {
            try KernelConfig.load(path: empty)
        }
    }

    @Test(.enabled(if: getuid() != 0, "root may read a file without read permission"))
    func reportsPermissionDenied() throws {
        let path = try temporaryFile(Array("CONFIG_X86_64=y\n".utf8))
        chmod(path, 0)
        #expect(throws: LayoutError.unreadableFile(path: path, reason: "permission denied")) {
            try KernelConfig.load(path: path)
        }
    }
}
