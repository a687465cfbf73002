// memdesc32, the memdesc path's 32-byte struct page (kernelnewbies
// MatthewWilcox/Memdescs/Path): `flags; union { buddy_list; struct { memdesc; _refcount;
// } }; union { private; _mapcount }`. Free blocks are linked through `buddy_list`, which
// overlaps the memdesc word, so a listed page's word is a list pointer and reads as Buddy.
import PageLayout

/// memdesc32's Misc type: in the 32-byte layout `buddy_list` overlaps the memdesc word,
/// so every value with bits 0-1 clear reads as Buddy and Misc is renumbered to 1
/// ("types become 0 Buddy, 1 Misc, 2 File, 3 Anon, 4 Buddy", KN-Memdescs/Path, print).
let memdesc32Misc: UInt64 = 1

enum Memdesc32Scheme: MemdescScheme {
    static var miscPagesHaveRefcount: Bool { true }
    @inline(__always) static func miscWord(order: Int) -> UInt64 { memdesc32Misc }
    @inline(__always) static func isMisc(_ word: UInt64) -> Bool { word == memdesc32Misc }

    /// Nothing: in the 32-byte layout Misc is the one word value 1 (the list pointer
    /// of `buddy_list` aliases every other low-bit pattern), so no subtype fits; the
    /// page keeps its `_refcount` like any bare page.
    @inline(__always)
    static func markVmalloc(_ ctx: MemmapContextPointer, _ pfn: Int, mappable: Bool) {}

    // MARK: Boot

    /// Flags (node and zone stay in the page), Misc, and the refcount.
    static func initPages(_ ctx: MemmapContextPointer, _ pfns: Range<Int>, flags: UInt64, reserved: Bool, lastCpupid: Int) {
        let l = ctx.pointee.layout
        for pfn in pfns {
            let page = Page(unchecked: pfn, ctx)
            page.flags = flags
            page.memdesc = memdesc32Misc
            page.setInt32(l.refcount, reserved ? 1 : 0)
        }
    }

    static func initZeroPage(_ ctx: MemmapContextPointer, _ pfn: Int) {}

    // MARK: Free blocks

    /// The struct page's `buddy_list` (over the memdesc word).
    static var freeLinkTableBytesPerPfn: Int { 0 }

    @inline(__always)
    static func freeLinkAddress(_ ctx: MemmapContextPointer, _ pfn: Int) -> UInt64 {
        StructPageScheme.freeLinkAddress(ctx, pfn)
    }

    @inline(__always)
    static func pfn(_ ctx: MemmapContextPointer, ofFreeLink address: UInt64) -> Int {
        StructPageScheme.pfn(ctx, ofFreeLink: address)
    }

    /// The order in `private`; the list link itself makes the word read as Buddy.
    @inline(__always)
    static func setBuddy(_ ctx: MemmapContextPointer, _ pfn: Int, order: Int) {
        Page(unchecked: pfn, ctx).privateValue = UInt64(order)
    }

    @inline(__always)
    static func clearBuddy(_ ctx: MemmapContextPointer, _ pfn: Int) {
        let page = Page(unchecked: pfn, ctx)
        page.memdesc = memdesc32Misc
        page.privateValue = 0
    }

    /// Buddy: a list pointer (bits 0-1 clear) into the memmap or at a free-area head. A
    /// ptdesc pointer (type 8) reads alike, but points at a descriptor in the heap outside
    /// the free-area heads. A page on a per-cpu list is linked the same way; its
    /// `private` (`pcpPrivate`, above MAX_PAGE_ORDER) says it is not PageBuddy, as the
    /// kernel's pcp pages are not: `move_freepages_block()` steps over them one pfn at a
    /// time (read as an order, 0x100 made its walk advance by `1 << 256`, nothing).
    @inline(__always)
    static func buddyOrder(_ ctx: MemmapContextPointer, _ pfn: Int) -> Int {
        let page = Page(unchecked: pfn, ctx)
        let word = page.memdesc
        guard word != 0, word & 3 == 0 else { return -1 }
        let target = word & ~0xf
        if target &- ctx.pointee.heapBase < ctx.pointee.heapCapacity, target &- ctx.pointee.freeAreaBase >= ctx.pointee.freeAreaBytes { return -1 }
        let order = page.privateValue
        return order <= UInt64(BuddyConstants.maxOrder) ? Int(order) : -1
    }

    /// The listed page's word reads as Buddy, so the order is stored with bit 8 set,
    /// which no buddy order matches, and `__free_one_page()` never merges with it.
    @inline(__always)
    static func pcpPrivate(order: Int) -> UInt64 { UInt64(order) | 0x100 }

    // MARK: Bare pages

    @inline(__always)
    static func prepNewPages(_ ctx: MemmapContextPointer, _ pfn: Int, order: Int) {
        let page = Page(unchecked: pfn, ctx)
        page.privateValue = 0
        ctx.stampMemdesc(pfn, count: 1 << order, memdesc32Misc)
        page.setRefcount(1)
    }

    // MARK: PageAnonExclusive

    /// Per page, in the page's own flags.
    @inline(__always)
    static func anonExclusive(_ page: Page, folio: Folio, bit: Int) -> Bool {
        StructPageScheme.anonExclusive(page, folio: folio, bit: bit)
    }

    @inline(__always)
    static func setAnonExclusive(_ page: Page, folio: Folio, bit: Int, _ on: Bool) {
        StructPageScheme.setAnonExclusive(page, folio: folio, bit: bit, on)
    }
}
