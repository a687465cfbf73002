// J. Hubbard's Dec 2018 proposal (seed 000): `atomic_t _dma_pinned_count` in struct
// page, right after `_refcount` ("DMA usage count. See get_user_pages*(),
// put_user_page*()"), which grows struct page from 64 to 72 bytes (80 with its
// alignment). Exact, plus one reference per pin.
import PageLayout

/// The `dma-pinned-field` design. The count is kept on the folio's head page, as the
/// 2018 patches did (`page = compound_head(page)` in put_user_page()).
public struct DMAPinnedFieldPins: PinTracker {
    public static var capabilities: PinCapabilities { PinCapabilities(tracksExactly: true) }
    public var design: Design { .dmaPinnedField }
    /// Offset of `_dma_pinned_count` in struct page, from the layout.
    let countOffset: Int

    public init(_ setup: PinTrackerSetup) { countOffset = setup.layout.dmaPinnedCount }

    @inline(__always)
    public func grab(_ folio: Folio, at page: Page, refs: Int32, fast: Bool, in machine: Machine) -> Errno? {
        guard countOffset >= 0 else { return .ENOMEM }
        if !fast { folio.refAdd(refs) }
        folio.headPage.atomicAdd(countOffset, refs)
        return nil
    }

    @inline(__always)
    public func release(_ folio: Folio, at page: Page?, refs: Int32, in machine: Machine) {
        if countOffset >= 0 { _ = folio.headPage.atomicSubReturn(countOffset, refs) }
        machine.folioPutRefs(folio, refs)
    }

    public func addPin(_ folio: Folio, in machine: Machine) {
        folio.get()
        if countOffset >= 0 { folio.headPage.atomicAdd(countOffset, 1) }
    }

    /// `atomic_read(&page->_dma_pinned_count) > 0`: exact.
    public func maybePinned(_ folio: Folio, in machine: Machine) -> Bool {
        countOffset >= 0 && folio.headPage.atomic(countOffset) > 0
    }

    public func referencesHeld(_ folio: Folio, pins: Int64, in machine: Machine) -> Int64 { pins }

    /// The head page's `_dma_pinned_count` as stored (tests, dumps).
    public func count(of folio: Folio) -> Int32 {
        countOffset >= 0 ? folio.headPage.atomic(countOffset) : 0
    }
}
