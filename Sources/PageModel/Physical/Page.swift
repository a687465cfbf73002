// A typed view of one struct page in the memmap (include/linux/mm_types.h struct page,
// include/linux/page_ref.h, include/linux/page-flags.h accessors).

/// A non-owning view of the struct page of one pfn: a host pointer to its bytes, the pfn,
/// and the machine's resolved offsets. Reads and writes go to the memmap's real bytes at
/// the layout's offsets; a field the design does not have reads as 0 and ignores writes.
///
/// Invariant: a `Page` must not outlive the `Machine` whose memmap it points into, nor
/// the memory section it lies in (`memunmap_pages()` releases ZONE_DEVICE sections).
///
/// Checks in debug builds (the fields through `RawView.field`): the pfn has a struct
/// page when the view is made, each field lies inside the struct page, and the section
/// is still present (`Memmap.isLive(_:)` asks the same without trapping). Release builds
/// check nothing: the internal hot paths make views of pfns they know are valid.
public struct Page: @unchecked Sendable, Hashable, CustomStringConvertible, RawView {
    let raw: UnsafeMutableRawPointer
    /// The page frame number.
    public let pfn: Int
    let context: UnsafeMutablePointer<MemmapContext>

    @inline(__always)
    init(unchecked pfn: Int, _ context: UnsafeMutablePointer<MemmapContext>) {
        assert(context.hasStructPage(pfn), "VM_BUG_ON: pfn 0x\(String(pfn, radix: 16)) has no struct page")
        self.pfn = pfn
        self.context = context
        raw = context.pagePointer(pfn)
    }

    /// A view of a struct page that lives outside the memmap: the proxy design's
    /// `struct dynamic_page` embeds one (Pinning/ProxyPins.swift).
    init(outOfMemmap raw: UnsafeMutableRawPointer, pfn: Int, _ context: UnsafeMutablePointer<MemmapContext>) {
        self.pfn = pfn
        self.context = context
        self.raw = raw
    }

    public static func == (a: Page, b: Page) -> Bool { a.pfn == b.pfn && a.context == b.context }
    public func hash(into hasher: inout Hasher) { hasher.combine(pfn) }
    public var description: String { "page pfn:0x\(String(pfn, radix: 16)) @0x\(String(address, radix: 16))" }


    /// The struct page's kernel address. Linux: `pfn_to_page()`.
    public var address: UInt64 { context.pageAddress(pfn) }

    // MARK: Raw fields (checked in RawView)

    var span: Int { context.pointee.layout.pageSize }
    var isLive: Bool { context.isLiveView(raw, pfn: pfn) }

    /// A word at any byte offset of the struct page (layout-level tests, dumps).
    public func loadWord(atOffset offset: Int) -> UInt64? {
        guard offset >= 0, offset + context.pointee.layout.wordSize <= context.pointee.layout.pageSize else { return nil }
        return word(offset)
    }

    /// Stores a word at a byte offset; false if it does not fit the struct page.
    @discardableResult
    public func storeWord(_ value: UInt64, atOffset offset: Int) -> Bool {
        guard offset >= 0, offset + context.pointee.layout.wordSize <= context.pointee.layout.pageSize else { return false }
        setWord(offset, value)
        return true
    }

    /// A 32-bit field at a byte offset.
    public func load32(atOffset offset: Int) -> UInt32? {
        guard offset >= 0, offset + 4 <= context.pointee.layout.pageSize else { return nil }
        return uint32(offset)
    }

    /// The raw bytes of the struct page (dumps).
    public var bytes: [UInt8] { Array(UnsafeRawBufferPointer(start: field(0, span), count: span)) }

    // MARK: flags

    /// `page->flags.f`.
    public var flags: UInt64 {
        get { word(context.pointee.layout.flags) }
        nonmutating set { setWord(context.pointee.layout.flags, newValue) }
    }

    /// Linux: `test_bit(bit, &page->flags.f)`.
    @inline(__always)
    public func testFlag(_ bit: Int) -> Bool {
        bit >= 0 && context.pointee.layout.flags >= 0 && word(context.pointee.layout.flags) & (1 << UInt64(bit)) != 0
    }

    /// Linux: `set_bit()` (atomic, relaxed).
    @inline(__always)
    public func setFlag(_ bit: Int) {
        setBit(bit, inWord: context.pointee.layout.flags)
    }

    /// Linux: `clear_bit()` (atomic, relaxed).
    @inline(__always)
    public func clearFlag(_ bit: Int) {
        clearBit(bit, inWord: context.pointee.layout.flags)
    }

    /// Linux: `trylock_page()`: test_and_set_bit_lock(PG_locked) (acquire).
    public func tryLock() -> Bool {
        let bit = context.pointee.bits.locked
        guard bit >= 0, context.pointee.layout.flags >= 0 else { return false }
        return !testAndSetBitLock(bit, inWord: context.pointee.layout.flags)
    }

    /// Linux: `unlock_page()`: clear_bit_unlock(PG_locked) (release).
    public func unlock() {
        let bit = context.pointee.bits.locked
        if bit >= 0, context.pointee.layout.flags >= 0 { clearBitUnlock(bit, inWord: context.pointee.layout.flags) }
    }

    public var isReserved: Bool { testFlag(context.pointee.bits.reserved) }
    public var isHead: Bool { testFlag(context.pointee.bits.head) }

    // MARK: Union words

    /// `page->compound_head` (tail pages: the head's address | 1).
    public var compoundHeadWord: UInt64 {
        get { word(context.pointee.layout.compoundHead) }
        nonmutating set { setWord(context.pointee.layout.compoundHead, newValue) }
    }

    /// Linux: `PageTail()`: bit 0 of compound_head.
    @inline(__always)
    public var isTail: Bool { context.pointee.layout.compoundHead >= 0 && word(context.pointee.layout.compoundHead) & 1 != 0 }

    /// `page->mapping`.
    public var mapping: UInt64 {
        get { word(context.pointee.layout.mapping) }
        nonmutating set { setWord(context.pointee.layout.mapping, newValue) }
    }

    /// `page->__folio_index`.
    public var index: UInt64 {
        get { word(context.pointee.layout.index) }
        nonmutating set { setWord(context.pointee.layout.index, newValue) }
    }

    /// `page->private`.
    public var privateValue: UInt64 {
        get { word(context.pointee.layout.privateWord) }
        nonmutating set { setWord(context.pointee.layout.privateWord, newValue) }
    }

    /// `page->memcg_data`.
    public var memcgData: UInt64 {
        get { word(context.pointee.layout.memcgData) }
        nonmutating set { setWord(context.pointee.layout.memcgData, newValue) }
    }

    /// `page->zone_device_data` (ZONE_DEVICE arm).
    public var zoneDeviceData: UInt64 {
        get { word(context.pointee.layout.zoneDeviceData) }
        nonmutating set { setWord(context.pointee.layout.zoneDeviceData, newValue) }
    }

    /// The memdesc word (memdesc designs): descriptor address | type in bits 0-3.
    public var memdesc: UInt64 {
        get { uint64(context.pointee.layout.memdesc) }
        nonmutating set { setUInt64(context.pointee.layout.memdesc, newValue) }
    }

    // MARK: Counts

    /// `page->_mapcount` (atomic_read, relaxed); -1 means unmapped.
    public var mapcountRaw: Int32 {
        get { context.pointee.layout.mapcount >= 0 ? atomic(context.pointee.layout.mapcount) : -1 }
        nonmutating set { setAtomic(context.pointee.layout.mapcount, newValue) }
    }

    /// `page->page_type` (the same word as `_mapcount`).
    public var pageType: UInt32 {
        get { UInt32(bitPattern: mapcountRaw) }
        nonmutating set { mapcountRaw = Int32(bitPattern: newValue) }
    }

    /// The typed page's PGTY value, if it has one. Linux: `page_has_type()`. Before 6.12
    /// (`ModelLayout.pageTypeBase`) the type is a cleared bit under PAGE_TYPE_BASE.
    public var type: PageType? {
        let value = pageType
        if context.pointee.layout.pageTypeBase { return PageTypeBase.type(of: value) }
        return PageType.hasType(value) ? PageType(rawValue: UInt8(value >> 24)) : nil
    }

    /// Whether page_type holds a type rather than a mapcount. Linux: `page_has_type()`.
    @inline(__always)
    public var hasType: Bool {
        context.pointee.layout.pageTypeBase ? PageTypeBase.hasType(pageType) : PageType.hasType(pageType)
    }

    /// `__SetPageBuddy()` and friends: PGTY_* in the top byte, or (before 6.12) the
    /// type's bit cleared from -1. The caller knows the page has no type yet.
    public func setType(_ type: PageType) {
        if context.pointee.layout.pageTypeBase, let bit = PageTypeBase.bit(type) {
            pageType = UInt32.max & ~bit
        } else {
            pageType = UInt32(type.rawValue) << 24
        }
    }

    /// Linux: `page_ref_count()` (atomic_read, relaxed).
    @inline(__always)
    public var refcount: Int32 {
        atomic(context.pointee.layout.refcount)
    }

    /// Linux: `set_page_count()`.
    @inline(__always)
    public func setRefcount(_ value: Int32) {
        setAtomic(context.pointee.layout.refcount, value)
    }

    /// Linux: `page_ref_inc()` (atomic_inc: relaxed, no return value).
    @inline(__always)
    public func refInc() {
        atomicAdd(context.pointee.layout.refcount, 1)
    }

    /// Linux: `page_ref_dec_and_test()` (fully ordered); true when the count reached 0.
    @inline(__always)
    public func refDecAndTest() -> Bool {
        context.pointee.layout.refcount >= 0 && atomicSubReturn(context.pointee.layout.refcount, 1) == 0
    }

    /// Linux: `page_ref_add_unless(page, nr, u)` (fully ordered on success).
    public func refAddUnless(_ nr: Int32, unless u: Int32) -> Bool {
        atomicAddUnless(context.pointee.layout.refcount, nr, unless: u)
    }


    // MARK: Node, zone

    /// Linux: `page_to_nid()`.
    public var nid: Int { context.nid(of: pfn) }
    /// Linux: `page_zonenum()`.
    public var zoneIndex: Int { context.zone(of: pfn) }

    /// The address of the page's `lru`/`buddy_list` list_head.
    var linkAddress: UInt64 { address &+ UInt64(context.pointee.layout.link) }
}
