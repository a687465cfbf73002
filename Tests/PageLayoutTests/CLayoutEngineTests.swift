// The C layout rules the descriptor layouts are computed with.
import PageLayout
import Testing

@Suite struct CLayoutEngineTests {
    let t64 = CTypes(LayoutConfig(arch: .x86_64))
    let t32 = CTypes(LayoutConfig(arch: .i386))

    @Test func membersAreNaturallyAlignedAndHolesAreReported() {
        let layout = StructLayout.describe("s", [.member("a", t64.u8), .member("b", t64.ulong), .member("c", t64.int)])
        #expect(layout.offset(of: "b") == 8)
        #expect(layout.offset(of: "c") == 16)
        #expect(layout.size == 24)
        #expect(layout.align == 8)
        #expect(layout.holes == [LayoutHole(offset: 1, size: 7, isTailPadding: false),
                                 LayoutHole(offset: 20, size: 4, isTailPadding: true)])
    }

    @Test func aUnionIsAsLargeAsItsLargestArmAndEachMemberIsAnArm() {
        let layout = StructLayout.describe("s", [
            .member("x", t64.int),
            .union([.member("a", t64.int), .group(arm: "pair", [.member("b", t64.ulong), .member("c", t64.u8)])]),
            .member("y", t64.u8),
        ])
        #expect(layout.offset(of: "a") == 8)
        #expect(layout.offset(of: "b") == 8)
        #expect(layout.offset(of: "c") == 16)
        #expect(layout.offset(of: "y") == 24)
        #expect(layout.size == 32)
        #expect(layout.field("a")?.arm == "a")
        #expect(layout.field("c")?.armPath == ["pair"])
        #expect(layout.fields(overlapping: 8, size: 1).map(\.name) == ["a", "b"])
    }

    @Test func alignedAttributeRaisesAlignmentAndSize() {
        let decls: [Decl] = [.member("a", t32.ulong), .member("b", t32.ulong), .member("c", t32.ulong)]
        #expect(StructLayout.describe("s", decls).size == 12)
        let aligned = StructLayout.describe("s", decls, aligned: 8)
        #expect(aligned.size == 16)
        #expect(aligned.align == 8)
        // __aligned never lowers the natural alignment.
        #expect(StructLayout.describe("s", [.member("a", t64.ulong)], aligned: 2).align == 8)
    }

    @Test func bitfieldsShareOneStorageUnitLowBitsFirst() throws {
        let layout = StructLayout.describe("s", [.bitfields(t64.uint, [("lo", 3), ("hi", 29)]), .member("n", t64.int)])
        let hi = try #require(layout.field("hi"))
        #expect(hi.offset == 0 && hi.bitOffset == 3 && hi.bitWidth == 29)
        #expect(layout.offset(of: "n") == 4)
        #expect(layout.size == 8)
    }

    @Test func overlaysArePaddedToTheOverlaidStruct() {
        let layout = StructLayout.describe("f", [
            .overlay(size: 32, align: 16, [.member("a", t64.ulong)]),
            .overlay(size: 32, align: 16, [.member("b", t64.ulong)]),
        ])
        #expect(layout.offset(of: "b") == 32)
        #expect(layout.size == 64)
        #expect(layout.align == 16)
        #expect(layout.field("b")?.arm == nil)
    }

    @Test func wordSizedTypesFollowBitsPerLong() {
        #expect(t64.ulong.size == 8 && t32.ulong.size == 4)
        #expect(t64.listHead.size == 16 && t32.listHead.size == 8)
        #expect(t64.atomic.size == 4 && t32.atomic.size == 4)
        #expect(t32.u64.align == 4)
        #expect(CTypes(LayoutConfig(arch: .arm)).u64.align == 8)
        #expect(Layouts.structPage(LayoutConfig(arch: .arm64)).size == 64)
    }
}
