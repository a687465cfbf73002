import PageLayout
import Testing

@Suite struct DesignTests {
    @Test func everyDesignParsesByItsCommandLineName() throws {
        for design in Design.allCases {
            #expect(try Design.named(design.rawValue) == design)
        }
        #expect(Design.allCases.count == 8)
    }

    @Test func unknownNamesAreTypedErrors() {
        #expect(throws: LayoutError.unknownName(kind: "design", name: "nope", known: Design.allCases.map(\.rawValue))) {
            try Design.named("nope")
        }
        #expect(throws: LayoutError.self) { try Arch.named("sparc") }
    }

    @Test func structPageAlignmentFollowsTheArch() {
        #expect(LayoutConfig(arch: .x86_64).structPageAlignment == 16)
        #expect(LayoutConfig(arch: .i386).structPageAlignment == 8)
        #expect(LayoutConfig(arch: .arm).structPageAlignment == 4)
    }
}
