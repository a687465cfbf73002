// A toy descriptor scheme, for the tests only: what adding a scheme takes. It is
// memdesc8 except for one question, where a free block's order is kept.
@testable import PageModel
import PageLayout

/// memdesc8, except that a free block's memdesc word says only Buddy and the block keeps
/// its order in its own memory (bytes 16-23 of its first frame, in the direct map). Everything else is memdesc8's answer or the shared memdesc part
/// (`MemdescScheme`): a new scheme is this one file; registering it for machines is one
/// `MemmapKind` case and one arm per question in Physical/Descriptors/Descriptors.swift.
enum OrderInFrameScheme: MemdescScheme {
    /// The order's place: bytes 16-23 of the free block's own memory.
    static func orderAddress(_ ctx: MemmapContextPointer, _ pfn: Int) -> UInt64 { ctx.pointee.directMapBase &+ UInt64(pfn) << 12 &+ 16 }

    static func setBuddy(_ ctx: MemmapContextPointer, _ pfn: Int, order: Int) {
        Page(unchecked: pfn, ctx).memdesc = UInt64(MemdescType.buddy.rawValue)
        RawMemory.storeWord(UInt64(order), ctx.pointer(orderAddress(ctx, pfn)), wordSize: 8)
    }

    static func buddyOrder(_ ctx: MemmapContextPointer, _ pfn: Int) -> Int {
        guard Page(unchecked: pfn, ctx).memdesc & MemdescWord.typeMask == UInt64(MemdescType.buddy.rawValue) else { return -1 }
        return Int(RawMemory.loadWord(ctx.pointer(orderAddress(ctx, pfn)), wordSize: 8))
    }

    // memdesc8's answers to every other question.
    static var miscPagesHaveRefcount: Bool { Memdesc8Scheme.miscPagesHaveRefcount }
    static func miscWord(order: Int) -> UInt64 { Memdesc8Scheme.miscWord(order: order) }
    static func isMisc(_ word: UInt64) -> Bool { Memdesc8Scheme.isMisc(word) }
    static func markVmalloc(_ ctx: MemmapContextPointer, _ pfn: Int, mappable: Bool) {
        Memdesc8Scheme.markVmalloc(ctx, pfn, mappable: mappable)
    }
    static func initPages(_ ctx: MemmapContextPointer, _ pfns: Range<Int>, flags: UInt64, reserved: Bool, lastCpupid: Int) {
        Memdesc8Scheme.initPages(ctx, pfns, flags: flags, reserved: reserved, lastCpupid: lastCpupid)
    }
    static func initZeroPage(_ ctx: MemmapContextPointer, _ pfn: Int) { Memdesc8Scheme.initZeroPage(ctx, pfn) }
    static var freeLinkTableBytesPerPfn: Int { Memdesc8Scheme.freeLinkTableBytesPerPfn }
    static func freeLinkAddress(_ ctx: MemmapContextPointer, _ pfn: Int) -> UInt64 { Memdesc8Scheme.freeLinkAddress(ctx, pfn) }
    static func pfn(_ ctx: MemmapContextPointer, ofFreeLink address: UInt64) -> Int { Memdesc8Scheme.pfn(ctx, ofFreeLink: address) }
    static func clearBuddy(_ ctx: MemmapContextPointer, _ pfn: Int) { Memdesc8Scheme.clearBuddy(ctx, pfn) }
    static func pcpPrivate(order: Int) -> UInt64 { Memdesc8Scheme.pcpPrivate(order: order) }
    static func prepNewPages(_ ctx: MemmapContextPointer, _ pfn: Int, order: Int) { Memdesc8Scheme.prepNewPages(ctx, pfn, order: order) }
    static func anonExclusive(_ page: Page, folio: Folio, bit: Int) -> Bool { Memdesc8Scheme.anonExclusive(page, folio: folio, bit: bit) }
    static func setAnonExclusive(_ page: Page, folio: Folio, bit: Int, _ on: Bool) {
        Memdesc8Scheme.setAnonExclusive(page, folio: folio, bit: bit, on)
    }
}
