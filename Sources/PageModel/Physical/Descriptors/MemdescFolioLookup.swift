// The memdesc schemes' `page_folio()` for the GUP-fast and unpin fast paths (issue 19
// item 4): from a struct page's memdesc word to the host address of the folio
// descriptor it points to, with every offset resolved once per call, for the fast
// paths' common case, an order-0 folio. It answers what `MemdescScheme.pageFolio` and
// `Folio.reread` answer (a File or Anon word, a descriptor in the heap, the
// descriptor's pfn) without making a `Folio` view per page. Both memdesc schemes keep
// the same word (descriptor address | type in bits 0-3, kernelnewbies
// MatthewWilcox/Memdescs revision C); they differ in what else the struct page holds,
// which the fast path does not read.
import PageLayout

/// A memdesc layout's folio descriptors as the fast paths find them
/// (`MainlineFastPath.descriptors`, read by `MemdescFastPins`); `isUsable` false for a
/// layout whose folios are struct pages, or one without the fields it reads.
struct MemdescFolioLookup {
    /// The memdesc word's offset in the struct page.
    let memdesc: Int
    /// The descriptor's `pfn` (its first page), `_order` and `_pincount`.
    let folioPfn: Int
    let folioOrder: Int
    let pincount: Int
    /// The descriptor heap: kernel base, size, host address of the base.
    let heapBase: UInt64
    let heapCapacity: UInt64
    let heapHost: UnsafeMutableRawPointer
    /// Whether the layout's folios are descriptors and every field the lookup reads is
    /// in it, with an 8-byte memdesc word.
    let isUsable: Bool

    /// The offsets read field by field (no copy of the layout per call).
    @inline(__always)
    init(_ ctx: MemmapContextPointer) {
        memdesc = ctx.pointee.layout.memdesc
        folioPfn = ctx.pointee.layout.folioPfn
        folioOrder = ctx.pointee.layout.folioOrder
        pincount = ctx.pointee.layout.folioPincount
        heapBase = ctx.pointee.heapBase
        heapCapacity = ctx.pointee.heapCapacity
        heapHost = ctx.pointee.heapHost
        isUsable = ctx.pointee.layout.kind.foliosAreDescriptors && ctx.pointee.layout.wordSize == 8 && memdesc >= 0 && folioPfn >= 0
            && folioOrder >= 0 && pincount >= 0
    }

    /// Linux (memdesc plan): `page_folio()` of the struct page at `raw` (pfn `pfn`) when
    /// its folio is order 0: the host address of the descriptor. nil for anything else,
    /// for the generic step to handle: a word that is not File or Anon (Misc, a slab,
    /// a ptdesc, scamem: "page_folio() returns NULL for non-folio pages"), a descriptor
    /// outside the heap (`DescriptorHeap.contains`), a large folio, or a descriptor whose
    /// first page is another pfn.
    @inline(__always)
    func smallFolio(_ raw: UnsafeMutableRawPointer, pfn: Int) -> UnsafeMutableRawPointer? {
        let word = raw.load(fromByteOffset: memdesc, as: UInt64.self)
        // File (2) and Anon (3) differ in bit 0 only: one compare for both.
        let fileOrAnon = MemdescWord.typeMask & ~1
        guard word & fileOrAnon == UInt64(MemdescType.file.rawValue) else { return nil }
        let offset = (word & ~MemdescWord.typeMask) &- heapBase
        guard offset < heapCapacity else { return nil }
        let folio = heapHost + Int(truncatingIfNeeded: offset)
        guard folio.load(fromByteOffset: folioPfn, as: Int.self) == pfn,
              folio.load(fromByteOffset: folioOrder, as: UInt8.self) == 0 else { return nil }
        return folio
    }

    /// The folio view of the descriptor at `folio` (host address), for the cold paths:
    /// what `MemdescScheme.pageFolio` makes.
    @inline(__always)
    func view(_ folio: UnsafeMutableRawPointer, pfn: Int, _ ctx: MemmapContextPointer) -> Folio {
        Folio(raw: folio, address: heapBase &+ UInt64(folio - heapHost), pfn: pfn, context: ctx)
    }
}
