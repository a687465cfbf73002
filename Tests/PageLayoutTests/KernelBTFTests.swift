import Foundation
import Testing
@testable import PageLayout

/// A BTF blob written by hand in the encoding of include/uapi/linux/btf.h (struct
/// btf_header, btf_type, btf_member), so the reader is tested on offsets chosen here.
struct BTFBlob {
    var strings: [UInt8] = [0]
    var types: [UInt8] = []
    var count: UInt32 = 0

    mutating func name(_ text: String) -> UInt32 {
        guard !text.isEmpty else { return 0 }
        let offset = UInt32(strings.count)
        strings += Array(text.utf8) + [0]
        return offset
    }

    mutating func word(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { types += $0 } }

    /// BTF_KIND_INT (1): `bits` wide, size in bytes.
    mutating func int(_ name: String, size: UInt32) -> UInt32 {
        word(self.name(name)); word(1 << 24); word(size); word(size * 8)
        count += 1
        return count
    }

    /// BTF_KIND_STRUCT (4) or BTF_KIND_UNION (5) with members (name, type, bit offset).
    mutating func record(_ name: String, size: UInt32, union: Bool = false, _ members: [(String, UInt32, UInt32)]) -> UInt32 {
        word(self.name(name)); word((union ? 5 : 4) << 24 | UInt32(members.count)); word(size)
        for (member, type, bits) in members { word(self.name(member)); word(type); word(bits) }
        count += 1
        return count
    }

    /// struct btf_header (magic 0xeB9F, version 1, hdr_len 24), types, strings.
    var bytes: [UInt8] {
        var out: [UInt8] = [0x9f, 0xeb, 1, 0]
        for value in [UInt32(24), 0, UInt32(types.count), UInt32(types.count), UInt32(strings.count)] {
            withUnsafeBytes(of: value.littleEndian) { out += $0 }
        }
        return out + types + strings
    }

    func write(_ name: String) throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("pagelab-\(getpid())-\(name)")
        try Data(bytes).write(to: url)
        return url.path
    }

    /// struct page { int _refcount; union { unsigned long private; struct { int a; int b; }; }; }
    static var smallPage: BTFBlob {
        var blob = BTFBlob()
        let int = blob.int("int", size: 4), ulong = blob.int("long unsigned int", size: 8)
        let pair = blob.record("", size: 8, [("a", int, 0), ("b", int, 32)])
        let union = blob.record("", size: 8, union: true, [("private", ulong, 0), ("", pair, 0)])
        _ = blob.record("page", size: 16, [("_refcount", int, 0), ("", union, 64)])
        return blob
    }
}

/// Whether libbpf can be loaded here.
enum BTFAvailability {
    static var libbpfLoads: Bool { (try? LibBPF.shared.get()) != nil }
}

@Suite(.enabled(if: BTFAvailability.libbpfLoads, "libbpf.so.1 cannot be loaded here (Debian's libbpf1)"))
struct KernelBTFTests {

    @Test func readsMembersAndFlattensAnonymousUnions() throws {
        let path = try BTFBlob.smallPage.write("small.btf")
        let page = try #require(try KernelBTF(path: path).layouts().first)
        #expect(page.name == "page" && page.size == 16)
        let refcount = try #require(page.field("_refcount"))
        #expect(refcount.offset == 0 && refcount.size == 4 && refcount.type == "int" && refcount.armPath.isEmpty)
        let privateField = try #require(page.field("private"))
        #expect(privateField.offset == 8 && privateField.size == 8 && privateField.armPath == ["private"])
        #expect(page.field("a")?.offset == 8 && page.field("b")?.offset == 12)
        #expect(page.field("b")?.armPath == ["a"])   // an anonymous arm is named after its first member
    }

    @Test func badBlobsAreOneLineErrors() throws {
        var noPage = BTFBlob()
        _ = noPage.int("int", size: 4)
        let path = try noPage.write("nopage.btf")
        #expect(throws: LayoutError.malformedFile(path: path, reason: "its BTF has no struct page (not a kernel's vmlinux BTF)")) {
            try KernelBTF(path: path).layouts()
        }
        let whole = BTFBlob.smallPage.bytes
        let truncated = FileManager.default.temporaryDirectory.appendingPathComponent("pagelab-\(getpid())-truncated.btf")
        try Data(whole.prefix(whole.count - 7)).write(to: truncated)
        do {
            _ = try KernelBTF(path: truncated.path)
            Issue.record("a truncated blob was accepted")
        } catch {
            #expect(error.description.contains("truncated or corrupt"))
        }
        #expect(throws: LayoutError.self) { try KernelBTF(path: "/nonexistent/vmlinux") }
    }

    /// The check names a member by its computed name where the preprocessor renamed it
    /// (`#define rcu_head callback_head`, include/linux/types.h), finds a moved and a
    /// renamed member, and a member only the BTF has.
    @Test func checkClassifiesDifferences() {
        let model = StructLayout(name: "page", size: 16, align: 8, fields: [
            LayoutField(name: "_refcount", offset: 0, size: 4, type: "atomic_t", kind: .atomic),
            LayoutField(name: "rcu_head", offset: 8, size: 8, type: "struct rcu_head", kind: .rcu),
            LayoutField(name: "index", offset: 4, size: 4, type: "int", kind: .value),
        ])
        let real = StructLayout(name: "page", size: 24, align: 8, fields: [
            LayoutField(name: "_refcount", offset: 4, size: 4, type: "atomic_t", kind: .atomic),
            LayoutField(name: "callback_head", offset: 8, size: 8, type: "struct callback_head", kind: .rcu),
            LayoutField(name: "__folio_index", offset: 4, size: 4, type: "int", kind: .value),
            LayoutField(name: "vendor", offset: 16, size: 8, type: "long", kind: .value),
        ])
        let kinds = LayoutCheck.compare(computed: [model], btf: [real]).map { "\($0.kind.rawValue) \($0.member)" }
        #expect(kinds.sorted() == ["extra vendor", "moved _refcount", "renamed index -> __folio_index", "size sizeof"])
    }

    /// This project's build machine runs 6.18.44 with a vendor patch: its BTF has one member
    /// upstream 6.18 lacks, `buddy_since` in struct page's index union (issue 18 found it
    /// with bpftool); everything else agrees. `_refcount` is at 52 in a 64-byte struct page
    /// on x86_64 (include/linux/mm_types.h).
    @Test(.enabled(if: BTFAvailability.isBuildMachine, "not this project's build machine (6.18.44-fc with readable BTF)"))
    func runningKernelAgreesExceptItsVendorMember() throws {
        let real = try KernelBTF(path: KernelBTF.runningKernelPath).layouts()
        #expect(real.map(\.name) == ["page", "folio", "ptdesc", "slab"])
        #expect(real[0].size == 64 && real[0].offset(of: "_refcount") == 52)
        let config = try KernelConfig.load(path: "/proc/config.gz").choosingKernel(nil).config
        #expect(config.kernel == .v6_18)
        let (computed, _) = try Layouts.all(config.layoutConfig, design: .mainline, kernel: config.kernel)
        let differences = LayoutCheck.compare(computed: computed, btf: real)
        #expect(differences.map { "\($0.structName) \($0.kind.rawValue) \($0.member)" } == ["page extra buddy_since"])
    }

}

extension BTFAvailability {
    static var isBuildMachine: Bool {
        (KernelVersion.runningRelease() ?? "").hasPrefix("6.18.44-fc")
            && FileManager.default.isReadableFile(atPath: KernelBTF.runningKernelPath)
            && FileManager.default.isReadableFile(atPath: "/proc/config.gz")
    }
}
