@testable import PageModel
import PageLayout
import Testing

/// The checked handles (Physical/RawView.swift): what a caller can ask without trapping.
/// The debug-build asserts behind them (VM_BUG_ON_PAGE's checks) trap by design and are
/// not exercised here.
@Suite struct CheckedViewTests {
    /// pfn_valid(): no view for a pfn without a struct page.
    @Test func pfnsWithoutStructPagesGetNoView() throws {
        let machine = try Machine(ramBytes: 256 << 20)
        #expect(machine.memmap.page(-1) == nil)
        #expect(machine.memmap.page(Int.max) == nil)
        // 4 GiB lies in a section no memory was added to (256 MiB of RAM).
        #expect(machine.memmap.page(1 << 20) == nil)
        let last = (256 << 20) / 4096 - 1
        #expect(machine.memmap.page(last)?.pfn == last)
    }

    /// A view held across memunmap_pages() is no longer live; a new lookup finds nothing.
    @Test func viewsOfAHotRemovedSectionAreNotLive() throws {
        let machine = try Machine(ramBytes: 256 << 20)
        let pgmap = try machine.memremapPages(type: .fsDax, bytes: 128 << 20, ops: DevPagemapOps())
        let page = try #require(machine.page(pgmap.range.start))
        let ram = try #require(machine.page(0))
        #expect(machine.memmap.isLive(page))
        #expect(machine.memunmapPages(pgmap))
        #expect(!machine.memmap.isLive(page))
        #expect(machine.memmap.isLive(ram))
        #expect(machine.page(pgmap.range.start) == nil)
    }

    /// The public offset accessors refuse a field outside the descriptor: sizeof(struct
    /// page) is 64 on x86-64 mainline (include/linux/mm_types.h), an order-0 folio is
    /// its one struct page.
    @Test func fieldsOutsideTheDescriptorAreRefused() throws {
        let machine = try Machine(ramBytes: 256 << 20)
        let folio = try #require(machine.folioAlloc(.highuserMovable, order: 0))
        let page = folio.headPage
        #expect(page.loadWord(atOffset: 56) != nil)
        #expect(page.loadWord(atOffset: 64) == nil)
        #expect(page.loadWord(atOffset: 60) == nil)
        #expect(page.loadWord(atOffset: -8) == nil)
        #expect(page.load32(atOffset: 60) != nil)
        #expect(page.load32(atOffset: 62) == nil)
        #expect(!page.storeWord(0, atOffset: 64))
        #expect(folio.loadWord(atOffset: 56) != nil)
        #expect(folio.loadWord(atOffset: 64) == nil)
        #expect(!folio.storeWord(0, atOffset: -1))
        machine.folioPut(folio)
        #expect(machine.diagnostics.count == 0)
    }
}
