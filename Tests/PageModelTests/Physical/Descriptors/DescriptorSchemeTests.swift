@testable import PageModel
import PageLayout
import Testing

/// The descriptor-scheme seam (Physical/Descriptors/): a scheme answers its questions
/// through the `DescriptorScheme` protocol alone, so a new scheme is one file.
@Suite struct DescriptorSchemeTests {
    /// Marks a free block, reads its order back, clears it, and follows its link back to
    /// its pfn, asking only the protocol (as the dispatch in Descriptors.swift does).
    static func freeBlockRoundTrip<S: DescriptorScheme>(_: S.Type, _ machine: Machine, pfn: Int, order: Int)
        -> (marked: Int, cleared: Int, linkPfn: Int) {
        let ctx = machine.context
        S.setBuddy(ctx, pfn, order: order)
        let marked = S.buddyOrder(ctx, pfn)
        S.clearBuddy(ctx, pfn)
        return (marked, S.buddyOrder(ctx, pfn), S.pfn(ctx, ofFreeLink: S.freeLinkAddress(ctx, pfn)))
    }

    @Test func toySchemeKeepsTheOrderWhereItsFileSays() throws {
        let machine = try Machine(config: MachineConfig(ramBytes: 256 << 20, design: .memdesc8))
        let page = try #require(machine.allocPages(.kernel, order: 0))
        let pfn = page.pfn
        #expect(Self.freeBlockRoundTrip(Memdesc8Scheme.self, machine, pfn: pfn, order: 5) == (5, -1, pfn))
        #expect(Self.freeBlockRoundTrip(OrderInFrameScheme.self, machine, pfn: pfn, order: 5) == (5, -1, pfn))

        // memdesc8 keeps the order in bits 12-17 of the word, type Buddy (1) in bits 0-3
        // (kernelnewbies Memdescs, revision C); the toy keeps only the type there and the
        // order in bytes 16-23 of the block's own frame.
        Memdesc8Scheme.setBuddy(machine.context, pfn, order: 5)
        #expect(page.memdesc == 5 << 12 | 1)
        OrderInFrameScheme.setBuddy(machine.context, pfn, order: 5)
        #expect(page.memdesc == 1)
        #expect(machine.frames.read(pfn: pfn, offset: 16, count: 8) == [5, 0, 0, 0, 0, 0, 0, 0])
        #expect(Memdesc8Scheme.buddyOrder(machine.context, pfn) == 0)
        OrderInFrameScheme.clearBuddy(machine.context, pfn)
        #expect(page.memdesc == 0)

        // What the toy did not write comes from the shared memdesc part: a ptdesc is a
        // heap descriptor the page's word points to with type PTdesc (8), and going back
        // to Misc of order 0 leaves the zero word.
        #expect(OrderInFrameScheme.attachPtdesc(machine, page, order: 0))
        #expect(page.memdesc & 0xf == 8)
        #expect(machine.heap.contains(page.memdesc & ~0xf))
        #expect(OrderInFrameScheme.detachPtdesc(machine, page, order: 0))
        #expect(page.memdesc == 0)
        #expect(!OrderInFrameScheme.detachPtdesc(machine, page, order: 0))   // not a ptdesc: the WARN
        #expect(machine.diagnostics.all.map(\.reason) == ["pagetable_free: page is not a ptdesc"])
        machine.freePages(page, order: 0)
        #expect(machine.diagnostics.count == 1)
    }

    /// Only the factory maps designs to schemes: the 64-byte family shares one.
    @Test(arguments: Design.allCases)
    func factoryMapsEveryDesignToOneScheme(design: Design) {
        let expected: MemmapKind = design == .memdesc32 ? .memdesc32 : design == .memdesc8 ? .memdesc8 : .structPage
        #expect(MemmapKind(design: design) == expected)
        #expect(MemmapKind(design: design).foliosAreDescriptors == (expected != .structPage))
    }
}
