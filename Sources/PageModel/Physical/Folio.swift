// A typed view of struct folio (include/linux/mm_types.h:401-510, include/linux/mm.h
// folio accessors): over the head struct pages in the 64-byte family, over the
// separately allocated descriptor in the memdesc designs.

/// A non-owning view of a folio. `raw` points at the folio's first byte: the head page in
/// the memmap, or the folio descriptor in the descriptor heap.
///
/// Invariant: a `Folio` must not outlive the `Machine` it belongs to, nor its memory.
///
/// Checks in debug builds (the fields through `RawView.field`): each field lies inside
/// struct folio (or the folio descriptor), and a folio over struct pages still has its
/// section. Left to the caller: that a folio descriptor has not been freed (GUP-fast
/// rereads it under a reference, `reread`), and that a tail field is read only of a
/// large folio, as the kernel's folio_test_large() guards do.
public struct Folio: @unchecked Sendable, Hashable, CustomStringConvertible, RawView {
    let raw: UnsafeMutableRawPointer
    /// The folio's kernel address (the head page, or the descriptor).
    public let address: UInt64
    /// The pfn of the folio's first page.
    public let pfn: Int
    let context: UnsafeMutablePointer<MemmapContext>

    public static func == (a: Folio, b: Folio) -> Bool { a.address == b.address && a.context == b.context }
    public func hash(into hasher: inout Hasher) { hasher.combine(address) }
    public var description: String { "folio pfn:0x\(String(pfn, radix: 16)) @0x\(String(address, radix: 16)) order:\(order)" }


    // MARK: Raw fields (checked in RawView)

    var span: Int { context.pointee.layout.folioSize }
    var isLive: Bool { context.isLiveView(raw, pfn: pfn) }

    /// This descriptor with its `pfn` read again. A folio found without a reference
    /// (GUP-fast's) may name a descriptor that was freed and reused for other memory
    /// after its pfn was read; once a reference is held the descriptor cannot be reused,
    /// and this is the folio it describes now. In the 64-byte family the head page is
    /// the folio, so nothing changes.
    var reread: Folio {
        let offset = context.pointee.layout.folioPfn
        guard context.pointee.layout.foliosAreDescriptors, offset >= 0 else { return self }
        return Folio(raw: raw, address: address, pfn: Int(truncatingIfNeeded: word(offset)), context: context)
    }

    /// The head struct page. Linux: `&folio->page` / `folio_page(folio, 0)`.
    public var headPage: Page { Page(unchecked: pfn, context) }

    /// Linux: `folio_page(folio, n)`; nil beyond the folio.
    public func page(_ n: Int) -> Page? {
        guard n >= 0, n < nrPages else { return nil }
        return Page(unchecked: pfn + n, context)
    }

    /// `folio->flags.f`.
    public var flags: UInt64 {
        get { word(context.pointee.layout.folioFlags) }
        nonmutating set { setWord(context.pointee.layout.folioFlags, newValue) }
    }

    public func testFlag(_ bit: Int) -> Bool { bit >= 0 && context.pointee.layout.folioFlags >= 0 && flags & (1 << UInt64(bit)) != 0 }
    public func setFlag(_ bit: Int) {
        setBit(bit, inWord: context.pointee.layout.folioFlags)
    }
    public func clearFlag(_ bit: Int) {
        clearBit(bit, inWord: context.pointee.layout.folioFlags)
    }

    /// Linux: `folio_test_large()`: PG_head in the 64-byte family, order > 0 otherwise.
    @inline(__always)
    public var isLarge: Bool {
        context.pointee.layout.foliosAreDescriptors ? order > 0 : testFlag(context.pointee.bits.head)
    }

    /// Linux: `folio_order()`: `_flags_1 & 0xff` for a large folio, else 0; the
    /// descriptor's `_order` in the memdesc designs; `page[1].compound_order` on a 5.15 or
    /// 6.1 machine (`folioOrderShift`).
    public var order: Int {
        if context.pointee.layout.folioOrder >= 0 { return Int(uint8(context.pointee.layout.folioOrder)) }
        guard testFlag(context.pointee.bits.head), context.pointee.layout.folioFlags1 >= 0 else { return 0 }
        return Int((word(context.pointee.layout.folioFlags1) >> UInt64(context.pointee.layout.folioOrderShift)) & 0xff)
    }

    /// Linux: `folio_nr_pages()`: `_nr_pages` (an unsigned int) where NR_PAGES_IN_LARGE_FOLIO, else
    /// 1 << order.
    public var nrPages: Int {
        if isLarge, context.pointee.layout.folioNrPages >= 0, !context.pointee.layout.foliosAreDescriptors {
            return Int(uint32(context.pointee.layout.folioNrPages))
        }
        return 1 << order
    }

    /// `folio->mapping`.
    public var mapping: UInt64 {
        get { word(context.pointee.layout.folioMapping) }
        nonmutating set { setWord(context.pointee.layout.folioMapping, newValue) }
    }

    /// `folio->index`.
    public var index: UInt64 {
        get { word(context.pointee.layout.folioIndex) }
        nonmutating set { setWord(context.pointee.layout.folioIndex, newValue) }
    }

    /// `folio->private`.
    public var privateValue: UInt64 {
        get { word(context.pointee.layout.folioPrivate) }
        nonmutating set { setWord(context.pointee.layout.folioPrivate, newValue) }
    }

    /// `folio->memcg_data`.
    public var memcgData: UInt64 {
        get { word(context.pointee.layout.folioMemcgData) }
        nonmutating set { setWord(context.pointee.layout.folioMemcgData, newValue) }
    }

    /// `folio->pgmap` (ZONE_DEVICE: the lru slot in v6.19).
    public var pgmap: UInt64 {
        get { word(context.pointee.layout.folioPgmap) }
        nonmutating set { setWord(context.pointee.layout.folioPgmap, newValue) }
    }

    /// Linux: `folio_ref_count()`.
    @inline(__always)
    public var refcount: Int32 { atomic(context.pointee.layout.folioRefcount) }

    /// Linux: `folio_set_count()`.
    public func setRefcount(_ value: Int32) { setAtomic(context.pointee.layout.folioRefcount, value) }

    /// Linux: `folio_get()`: `folio_ref_inc()` (relaxed, no return value).
    @inline(__always)
    public func get() {
        atomicAdd(context.pointee.layout.folioRefcount, 1)
    }

    /// Linux: `folio_ref_add()`.
    public func refAdd(_ nr: Int32) {
        atomicAdd(context.pointee.layout.folioRefcount, nr)
    }

    /// Linux: `folio_put_testzero()` (fully ordered): true when the count reached 0.
    @inline(__always)
    func putTestZero() -> Bool {
        context.pointee.layout.folioRefcount >= 0 && atomicSubReturn(context.pointee.layout.folioRefcount, 1) == 0
    }

    /// Linux: `folio_ref_sub_and_test()`.
    func refSubAndTest(_ nr: Int32) -> Bool {
        context.pointee.layout.folioRefcount >= 0 && atomicSubReturn(context.pointee.layout.folioRefcount, nr) == 0
    }

    /// `folio->_mapcount` of the head (small folios) as stored (-1: unmapped).
    public var mapcountRaw: Int32 {
        get { context.pointee.layout.folioMapcount >= 0 ? atomic(context.pointee.layout.folioMapcount) : -1 }
        nonmutating set { setAtomic(context.pointee.layout.folioMapcount, newValue) }
    }

    /// `_large_mapcount` as stored (-1 after prep); nil where the design has none.
    public var largeMapcountRaw: Int32? { context.pointee.layout.folioLargeMapcount >= 0 ? atomic(context.pointee.layout.folioLargeMapcount) : nil }
    /// `_entire_mapcount` as stored (-1 after prep).
    public var entireMapcountRaw: Int32? { context.pointee.layout.folioEntireMapcount >= 0 ? atomic(context.pointee.layout.folioEntireMapcount) : nil }
    /// `_nr_pages_mapped`.
    public var nrPagesMapped: Int32? { context.pointee.layout.folioNrPagesMapped >= 0 ? atomic(context.pointee.layout.folioNrPagesMapped) : nil }

    /// Whether this folio has its own `_pincount` (64-bit: order ≥ 1; 32-bit, and 5.15's
    /// `page[2].hpage_pinned_refcount`: order ≥ 2; memdesc folios: always). Linux:
    /// `folio_has_pincount()` (5.15: hpage_pincount_available()).
    @inline(__always)
    public var hasPincount: Bool {
        guard context.pointee.layout.folioPincount >= 0 else { return false }
        if context.pointee.layout.foliosAreDescriptors { return true }
        return context.pointee.layout.pincountInSecondTail ? order > 1 : isLarge
    }

    /// `folio->_pincount` (atomic_read); nil where this folio has none.
    public var pincount: Int32? { hasPincount ? atomic(context.pointee.layout.folioPincount) : nil }

    /// `atomic_add(nr, &folio->_pincount)`.
    public func pincountAdd(_ nr: Int32) {
        if hasPincount { atomicAdd(context.pointee.layout.folioPincount, nr) }
    }

    /// A word anywhere in the folio's bytes (its descriptor, or all its struct pages,
    /// beyond struct folio): nil outside them. Checked in every build (user input).
    private func wholeFolioField(_ offset: Int) -> UnsafeMutableRawPointer? {
        let bytes = context.pointee.layout.foliosAreDescriptors ? context.pointee.layout.folioSize : nrPages * context.pointee.layout.pageSize
        guard offset >= 0, offset + context.pointee.layout.wordSize <= bytes else { return nil }
        assert(isLive, "VM_BUG_ON: a view of released memory (a hot-removed section)")
        return raw + offset
    }

    /// A word at any offset of the folio, for layout-level tests.
    public func loadWord(atOffset offset: Int) -> UInt64? {
        guard let at = wholeFolioField(offset) else { return nil }
        return RawMemory.loadWord(at, wordSize: context.pointee.layout.wordSize)
    }

    /// Stores a word at a folio offset; false outside the folio.
    @discardableResult
    public func storeWord(_ value: UInt64, atOffset offset: Int) -> Bool {
        guard let at = wholeFolioField(offset) else { return false }
        RawMemory.storeWord(value, at, wordSize: context.pointee.layout.wordSize)
        return true
    }
}

extension Folio {
    /// Linux: `folio_try_get()` style `atomic_add_unless(&folio->_refcount, nr, u)`.
    func refAddUnless(_ nr: Int32, unless u: Int32) -> Bool {
        atomicAddUnless(context.pointee.layout.folioRefcount, nr, unless: u)
    }
}
