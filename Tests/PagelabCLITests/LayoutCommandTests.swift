// `pagelab layout` end to end: text, JSON, SVG and bad input.
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

@Suite struct LayoutCommandTests {
    /// The JSON document as Foundation objects.
    private func json(_ arguments: [String]) throws -> [String: Any] {
        let result = try CLI.run(["layout", "--format", "json"] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        return try #require(object as? [String: Any])
    }

    private func structNamed(_ name: String, in document: [String: Any]) throws -> [String: Any] {
        let structs = try #require(document["structs"] as? [[String: Any]])
        return try #require(structs.first { $0["name"] as? String == name })
    }

    private func field(_ name: String, in layout: [String: Any]) throws -> [String: Any] {
        let fields = try #require(layout["fields"] as? [[String: Any]])
        return try #require(fields.first { $0["name"] as? String == name })
    }

    @Test func jsonHasTheKernelOffsetsOfStructPageAndFolio() throws {
        let document = try json([])
        #expect(document["arch"] as? String == "x86_64")
        #expect(document["design"] as? String == "mainline")
        let page = try structNamed("page", in: document)
        #expect(page["size"] as? Int == 64)
        #expect(page["align"] as? Int == 16)
        let refcount = try field("_refcount", in: page)
        #expect(refcount["offset"] as? Int == 52)
        #expect(refcount["size"] as? Int == 4)
        #expect(refcount.keys.contains("arm"))
        #expect(refcount["arm"] is NSNull)
        #expect(try field("compound_head", in: page)["arm"] as? String == "tail")
        let folio = try structNamed("folio", in: document)
        #expect(try field("_flags_1", in: folio)["offset"] as? Int == 64)
        #expect(try field("_pincount", in: folio)["offset"] as? Int == 92)
        let structs = try #require(document["structs"] as? [[String: Any]])
        #expect(structs.compactMap { $0["name"] as? String } == ["page", "folio", "ptdesc", "slab", "zpdesc"])
    }

    @Test func jsonFollowsArchAndDesign() throws {
        #expect(try structNamed("page", in: try json(["--arch", "i386"]))["size"] as? Int == 40)
        #expect(try structNamed("page", in: try json(["--arch", "arm"]))["size"] as? Int == 36)
        #expect(try structNamed("page", in: try json(["--design", "dma-pinned-field"]))["size"] as? Int == 80)
        let memdesc = try json(["--design", "memdesc32"])
        #expect(try structNamed("page", in: memdesc)["size"] as? Int == 32)
        #expect(try structNamed("memdesc_folio", in: memdesc)["size"] as? Int == 80)
        let rules = try #require(try structNamed("page", in: memdesc)["rules"] as? [[String: Any]])
        #expect(rules.contains { $0["mask"] as? String == "0xf" })
    }

    @Test func presetsAndKconfigFilesDecideTheLayout() throws {
        let i386 = try json(["--preset", "i386-defconfig"])
        #expect(i386["source"] as? String == "preset i386-defconfig")
        #expect(try structNamed("page", in: i386)["size"] as? Int == 32)
        // x86_64_defconfig has no MEMCG: 56 bytes of members, padded to 64.
        let x86 = try structNamed("page", in: try json(["--preset", "x86_64-defconfig"]))
        #expect(x86["size"] as? Int == 64)
        #expect((x86["holes"] as? [[String: Any]])?.first?["offset"] as? Int == 56)
        let directory = try CLI.temporaryDirectory()
        let file = directory.appendingPathComponent("config")
        try "CONFIG_64BIT=y\nCONFIG_X86_64=y\nCONFIG_MEMCG=y\nCONFIG_SLAB_OBJ_EXT=y\nCONFIG_KMSAN=y\n"
            .write(to: file, atomically: true, encoding: .utf8)
        let kmsan = try json(["--kconfig", file.path])
        #expect(kmsan["source"] as? String == file.path)
        let page = try structNamed("page", in: kmsan)
        #expect(page["size"] as? Int == 80)
        #expect(try field("kmsan_origin", in: page)["offset"] as? Int == 72)
    }

    @Test func textIsAPaholeLikeTable() throws {
        let result = try CLI.run(["layout", "--design", "lru-pinned"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("struct page {"))
        #expect(result.stdout.contains("size: 64, align: 16"))
        let refcountRow = try #require(result.stdout.split(separator: "\n").first { $0.contains(" _refcount ") })
        #expect(refcountRow.split(separator: " ").prefix(2) == ["52", "4"])
        #expect(result.stdout.contains("dma_pinned_count"))
        #expect(result.stdout.contains("/* padding */"))
        #expect(result.stdout.contains("rule: compound_head @8 bits 0x1"))
    }

    @Test func svgIsAStandaloneDocumentWithEveryStruct() throws {
        let result = try CLI.run(["layout", "--format", "svg", "--design", "proxy"])
        #expect(result.status == 0)
        #expect(result.stdout.hasPrefix("<?xml"))
        #expect(result.stdout.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""))
        #expect(result.stdout.hasSuffix("</svg>\n"))
        for name in ["page", "folio", "ptdesc", "slab", "zpdesc", "dynamic_page"] {
            #expect(result.stdout.contains("id=\"struct-\(name)\""))
        }
        let parser = XMLParser(data: Data(result.stdout.utf8))
        #expect(parser.parse())
    }

    @Test(arguments: [
        (["layout", "--arch", "sparc"], "unknown arch 'sparc'"),
        (["layout", "--design", "nope"], "unknown design 'nope'"),
        (["layout", "--format", "png"], "--format png"),
        (["layout", "--format", "yaml"], "yaml"),
        (["layout", "--arch", "arm", "--preset", "arm-defconfig"], "give one of --arch, --kconfig or --preset"),
        (["layout", "--preset", "nope"], "unknown preset 'nope'"),
        (["layout", "--kconfig", "/nonexistent/config"], "cannot read '/nonexistent/config'"),
    ])
    func badInputIsOneLineAndStatusTwo(arguments: [String], message: String) throws {
        #expect(try CLI.runBadInput(arguments).contains(message))
    }
}
