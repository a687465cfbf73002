@testable import PageModel
import PageLayout
import Testing

/// Frame contents are a sparse reservation: a frame costs the host memory only once the
/// model writes it. The buddy allocator must not be what writes it: in the kernel a free
/// page's bytes are never read by anyone, and a model machine whose allocator touched
/// every frame it cycled could not run the self-check of a 1 TiB memdesc8 machine on a
/// 24 GiB host (issue 17).
@Suite struct FrameResidencyTests {
    /// Frames the host holds after `pagelab machine`'s self-check (an eighth of memory
    /// allocated as folios of orders 0-9, slab objects and page tables, then freed).
    static func framesTouchedBySelfCheck(_ design: Design) throws -> (resident: Int, result: SelfCheckResult) {
        let machine = try Machine(config: MachineConfig(ramBytes: 256 << 20, design: design))
        let result = machine.selfCheck()
        return (machine.frames.residentBytes / FrameContents.frameSize, result)
    }

    /// mainline links free blocks through struct page's `buddy_list`, so its allocator
    /// never writes a frame: what it touches is the slab objects' and page tables' own
    /// bytes. memdesc8 has no room in its 8-byte page for a link; wherever the scheme
    /// keeps it, the self-check must touch no more frames than mainline's (the allocated
    /// folios are never written). Before the free-link table, memdesc8 touched one frame
    /// per order-0 folio the self-check allocated (about 6,500 here).
    @Test(arguments: [Design.memdesc8, .memdesc32])
    func selfCheckTouchesNoMoreFramesThanMainline(_ design: Design) throws {
        let mainline = try Self.framesTouchedBySelfCheck(.mainline)
        let other = try Self.framesTouchedBySelfCheck(design)
        #expect(mainline.result.passed && other.result.passed)
        // Each folio allocated was a frame an allocator that links through frames writes.
        #expect(other.result.foliosByOrder[0, default: 0] > 1000)
        // The zero page and page-table pages may differ by design; allow a few frames.
        #expect(other.resident <= mainline.resident + 8, "\(design) touched \(other.resident) frames, mainline \(mainline.resident)")
    }
}
