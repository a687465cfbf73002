// /proc/vmallocinfo (mm/vmalloc.c v6.19 vmalloc_info_show(), show_numa_info(),
// show_purge_info()): a fixture in the kernel's format, hostile lines, and this machine's
// own file where it can be read.
import Foundation
import Testing
import PageCensus

@Suite struct VmallocInfoTests {
    /// Lines as vmalloc_info_show() prints them: "0x%pK-0x%pK %7ld", " %pS" caller,
    /// " pages=%d", " phys=%pa", then the flag words in the kernel's order, " vpages"
    /// and " N%u=%u"; lazily freed areas "unpurged vm_area", vm_map_ram "vm_map_ram".
    static let fixture = """
        0x000000005abe4fa4-0x000000007835dc9c   20480 irq_init_percpu_irqstack+0xed/0x120 vmap
        0x000000007835dc9c-0x00000000fd6688f6    8192 acpi_os_map_iomem+0x1bc/0x1e0 phys=0x00000000000a0000 ioremap
        0x000000002e24c3dc-0x00000000edca58ed   20480 kernel_clone+0xb8/0x400 pages=4 vmalloc N0=4
        0x000000002e24c3dc-0x00000000edca58ed   20480 kernel_clone+0xb8/0x400 pages=4 vmalloc N0=2 N1=2
        0x00000000aaaaaaaa-0x00000000bbbbbbbb   69632 perf_mmap+0x1a0/0x5c0 pages=16 vmalloc user N0=16
        0x00000000cccccccc-0x00000000dddddddd 1052672 vb2_vmalloc_alloc+0x55/0xa0 [videobuf2_vmalloc] pages=256 vmalloc user vpages N0=256
        0x00000000eeeeeeee-0x00000000ffffffff    8192 unpurged vm_area
        0x0000000011111111-0x0000000022222222 4194304 vm_map_ram

        """

    @Test func theFixtureCountsEveryAreaAndItsCaller() throws {
        let v = VmallocInfoFile.parse(Self.fixture)
        #expect(v.warnings.isEmpty)
        #expect(v.areas == 6)
        #expect(v.pages == 4 + 4 + 16 + 256)
        #expect(v.vmallocAreas == 4 && v.vmapAreas == 1 && v.ioremapAreas == 1)
        #expect(v.unpurgedAreas == 1 && v.vmMapRamAreas == 1)
        #expect(v.userAreas == 2 && v.userPages == 16 + 256)
        // Callers by pages, most first; the offset dropped, a module's name kept.
        #expect(v.callers.map(\.name) == ["vb2_vmalloc_alloc [videobuf2_vmalloc]", "perf_mmap", "kernel_clone",
                                           "acpi_os_map_iomem", "irq_init_percpu_irqstack"])
        let clone = try #require(v.callers.first { $0.name == "kernel_clone" })
        #expect(clone.areas == 2 && clone.pages == 8 && clone.userPages == 0 && clone.scamemBytes == 0)
        // struct scamem { u32 nr; refcount_t; struct page *pages[] }: 8 + 8 per page,
        // 16-byte objects: 16 pages 136 → 144 bytes; 256 pages 2056 → 2064 bytes.
        #expect(v.callers.first { $0.name == "perf_mmap" }?.scamemBytes == 144)
        #expect(v.scamemBytes == 144 + 2064)
        #expect(v.userPagesArrayBytes == (16 + 256) * 8)
    }

    /// Hostile input: each malformed line is one positioned warning; the good lines around
    /// it still count; nothing traps.
    @Test func malformedLinesArePositionedWarnings() {
        let text = """
            0x1-0x2 4096 good_caller+0x1/0x2 pages=1 vmalloc user N0=1
            not a line
            0x1-0x2 -5 caller
            0xzz-0x2 4096 caller
            0x1-0x2 4096 caller pages=99999999999999999999999 vmalloc
            0x1-0x2 4096 caller pages=-1 vmalloc
            0x1-0x2 4096 caller vmalloc surprise
            0x1-0x2 4096 a b c pages=1
            0x1-0x2 4096 caller pages=\(1 << 41) vmalloc
            \(String(repeating: "x", count: 5000))
            0x3-0x4 8192 good_caller+0x1/0x2 pages=2 vmalloc N0=2
            """
        let v = VmallocInfoFile.parse(text)
        #expect(v.areas == 2 && v.pages == 3 && v.userPages == 1)
        #expect(v.warnings.count == 9)
        #expect(v.warnings.first == "vmallocinfo line 2: fewer than two fields" || v.warnings.first?.hasPrefix("vmallocinfo line 2:") == true)
        #expect(v.warnings.map { $0.split(separator: ":")[0] } == (2...10).map { "vmallocinfo line \($0)" })
    }

    /// Random bytes and random splices of the fixture never trap, and the warnings stay
    /// bounded.
    @Test func randomInputNeverTraps() {
        var state: UInt64 = 0x1234_5678
        func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }
        let alphabet = Array("0x-= []+/Nabcdefpgsuvmalloc0123456789\n\t".utf8)
        for _ in 0..<200 {
            let bytes = (0..<Int(next() % 600)).map { _ in alphabet[Int(next() % UInt64(alphabet.count))] }
            let v = VmallocInfoFile.parse(String(decoding: bytes, as: UTF8.self))
            #expect(v.warnings.count <= VmallocInfoFile.maxWarnings + 1)
            #expect(v.pages >= 0 && v.userPages <= v.pages)
        }
    }

    /// `pagelab census --save` keeps /proc/vmallocinfo as a FILE record: a snapshot
    /// loaded back has the same vmalloc view.
    @Test func aSnapshotKeepsTheVmallocView() throws {
        var info = SnapshotInfo(kernelRelease: "t")
        info.files["vmallocinfo"] = Array(Self.fixture.utf8)
        var writer = SnapshotWriter(info: info)
        writer.append(flags: [0], counts: [0], cgroups: [0], count: 1)
        let census = try SnapshotReader.census(bytes: writer.finished(), path: "v.pglb")
        #expect(census.vmalloc == VmallocInfoFile.parse(Self.fixture))
        #expect(census.vmalloc?.userPages == 272)
        #expect(SnapshotInfo.optionalProcFiles.contains("vmallocinfo"))
    }

    /// This machine's /proc/vmallocinfo: every line parses (the kernel's own format), and
    /// its page total is the sum of its "pages=" fields, counted here by a plain scan.
    @Test func thisMachinesVmallocinfoParsesWithoutWarnings() throws {
        guard let data = FileManager.default.contents(atPath: "/proc/vmallocinfo") else {
            print("skipped: /proc/vmallocinfo is not readable here (root only, mode 0400)")
            return
        }
        let text = String(decoding: data, as: UTF8.self)
        let v = VmallocInfoFile.parse(text)
        #expect(v.warnings.isEmpty, "\(v.warnings)")
        var pages = 0, lines = 0, user = 0
        for line in text.split(separator: "\n") {
            lines += 1
            if let field = line.split(separator: " ").first(where: { $0.hasPrefix("pages=") }), let n = Int(field.dropFirst(6)) {
                pages += n
            }
            if line.split(separator: " ").contains("user") { user += 1 }
        }
        #expect(v.pages == pages)
        #expect(v.userAreas == user)
        #expect(v.areas + v.unpurgedAreas + v.vmMapRamAreas == lines)
    }
}
