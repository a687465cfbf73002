// A checked view of a descriptor that is neither a struct page nor a folio: struct slab
// (mm/slab.h; overlaying the head page or a separate memdesc_slab) and the proxy
// design's struct dynamic_page, through the same checked accessors as Page and Folio.

/// The bytes of one descriptor of `span` bytes at `raw` (in the memmap for the struct
/// page family's struct slab, else in the descriptor heap).
///
/// Checks in debug builds (`RawView.field`): each field lies inside the `span` bytes;
/// a descriptor in the memmap (`pfn` ≥ 0) still has its section. Left to the caller:
/// that a descriptor outside the memmap (the heap, a page_ext table) has not been freed.
struct DescriptorBytes: RawView {
    let raw: UnsafeMutableRawPointer
    /// The pfn whose struct page holds the descriptor, or -1 for one outside the memmap.
    let pfn: Int
    let span: Int
    let context: UnsafeMutablePointer<MemmapContext>

    var isLive: Bool { pfn < 0 || context.isLiveView(raw, pfn: pfn) }
}
