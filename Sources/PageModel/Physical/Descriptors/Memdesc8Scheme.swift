// memdesc8, the memdesc end goal: `struct page { u64 memdesc; }` with the type in bits
// 0-3 (kernelnewbies MatthewWilcox/Memdescs, revision C). No page->flags, no refcount in
// the page; free blocks carry their order in the word and are linked through the
// model's free-link table.
import PageLayout

enum Memdesc8Scheme: MemdescScheme {
    static var wordHoldsScamemPlacements: Bool { true }
    static var miscPagesHaveRefcount: Bool { false }
    /// Misc memory of `order`: the order in bits 12-17 (`__free_pages()` needs it, there
    /// being no refcount or compound page).
    @inline(__always) static func miscWord(order: Int) -> UInt64 { UInt64(order) << MemdescWord.orderShift }
    @inline(__always) static func isMisc(_ word: UInt64) -> Bool { word & MemdescWord.typeMask == UInt64(MemdescType.misc.rawValue) }

    // MARK: Boot

    /// Misc, subtype 0 (PageReserved in revision B) for reserved pages; free pages are
    /// Misc until the buddy allocator marks their blocks. Both are the zero word.
    static func initPages(_ ctx: MemmapContextPointer, _ pfns: Range<Int>, flags: UInt64, reserved: Bool, lastCpupid: Int) {}

    /// Misc subtype 1: the zero page (kernelnewbies Memdescs, revisions B and C).
    static func initZeroPage(_ ctx: MemmapContextPointer, _ pfn: Int) {
        Page(unchecked: pfn, ctx).memdesc = UInt64(MemdescMiscSubtype.zeroPage.rawValue) << MemdescWord.miscSubtypeShift
    }

    // MARK: Free blocks

    /// An 8-byte page has no room for a list_head. The memdesc plan's Buddy type is an
    /// "embedded struct buddy" of "one or two words of data" (kernelnewbies
    /// MatthewWilcox/Memdescs, revision C) whose place it does not give. Deliberately,
    /// the model keeps each block's list_head in a table of its own, 16 bytes per pfn at
    /// `freeLinkBase` (a sparse reservation: a host page of it is resident only once a
    /// block starting in its 256 pfns was free), rather than in the free block's own
    /// memory: written there, every frame the allocator cycled became host memory, and a
    /// 1 TiB machine's self-check needed more than this host has (issue 17).
    static var freeLinkTableBytesPerPfn: Int { 16 }

    @inline(__always)
    static func freeLinkAddress(_ ctx: MemmapContextPointer, _ pfn: Int) -> UInt64 {
        ctx.pointee.freeLinkBase &+ UInt64(pfn) << 4
    }

    @inline(__always)
    static func pfn(_ ctx: MemmapContextPointer, ofFreeLink address: UInt64) -> Int {
        Int(truncatingIfNeeded: (address &- ctx.pointee.freeLinkBase) >> 4)
    }

    /// A Buddy word with the order in bits 12-17.
    @inline(__always)
    static func setBuddy(_ ctx: MemmapContextPointer, _ pfn: Int, order: Int) {
        Page(unchecked: pfn, ctx).memdesc = UInt64(order) << MemdescWord.orderShift | UInt64(MemdescType.buddy.rawValue)
    }

    @inline(__always)
    static func clearBuddy(_ ctx: MemmapContextPointer, _ pfn: Int) {
        Page(unchecked: pfn, ctx).memdesc = 0
    }

    @inline(__always)
    static func buddyOrder(_ ctx: MemmapContextPointer, _ pfn: Int) -> Int {
        let word = Page(unchecked: pfn, ctx).memdesc
        guard word & MemdescWord.typeMask == UInt64(MemdescType.buddy.rawValue) else { return -1 }
        return Int(truncatingIfNeeded: (word & MemdescWord.orderMask) >> MemdescWord.orderShift)
    }

    /// No `private` word: the per-cpu list keeps nothing in the page.
    @inline(__always)
    static func pcpPrivate(order: Int) -> UInt64 { UInt64(order) }

    // MARK: Bare pages

    /// Misc memory (no refcount), its order in every page's word.
    @inline(__always)
    static func prepNewPages(_ ctx: MemmapContextPointer, _ pfn: Int, order: Int) {
        ctx.stampMemdesc(pfn, count: 1 << order, miscWord(order: order))
    }

    /// Misc subtype 3, Vmalloc, order 0, with bit 11 ("may be mapped to userspace") for
    /// VM_USERMAP areas: no refcount and no mapcount ("treated like a PFNMAP").
    @inline(__always)
    static func markVmalloc(_ ctx: MemmapContextPointer, _ pfn: Int, mappable: Bool) {
        var word = UInt64(MemdescMiscSubtype.vmalloc.rawValue) << MemdescWord.miscSubtypeShift
        if mappable { word |= MemdescWord.mappableBit }
        Page(unchecked: pfn, ctx).memdesc = word
    }

    // MARK: PageAnonExclusive

    /// No per-page flags: the model keeps the bit in the folio descriptor's flags, per
    /// folio (a deliberate difference from the kernel, which has not placed it yet).
    @inline(__always)
    static func anonExclusive(_ page: Page, folio: Folio, bit: Int) -> Bool { folio.testFlag(bit) }

    @inline(__always)
    static func setAnonExclusive(_ page: Page, folio: Folio, bit: Int, _ on: Bool) {
        if on { folio.setFlag(bit) } else { folio.clearFlag(bit) }
    }
}
