// The documented mainline fast path of GUP-fast and unpin_user_pages() (issue 12 item 2
// allows it; issue 19 item 1): mainline over struct pages, a FOLL_PIN without
// FOLL_LONGTERM or FOLL_PCI_P2PDMA, on an order-0 RAM folio mapped writable. That is the
// kernel's own common case, and here the per-page work is what mm/gup.c does for it
// (gup_fast_pte_range(): ptep_get(), the access checks, pfn_to_page(),
// try_grab_folio_fast() = try_get_folio() + `refs * (GUP_PIN_COUNTING_BIAS - 1)`,
// smp_mb__after_atomic(), the PMD/PTE re-check, gup_fast_folio_allowed(),
// folio_set_referenced(), the store into pages[]), with every layout offset, flag bit
// and memmap table the generic path reads per page resolved once per call, and the
// struct page handled by its host address: no `Page` or `Folio` view is made per page
// but the one stored into pages[] (the views, with the folio's kernel address, are made
// on the cold paths only). The per-call statistics are counted in registers and added
// to the call's `PinStatBatch` once per run of one node, as the kernel's per-cpu vmstat
// deltas are. Anything else (a tail page, a large folio, a refcount ≤ 0, a failed
// add-unless-zero, the zero page, a pfn without a struct page, device memory, a
// read-only PTE) takes the generic per-page step before anything was taken, so results
// and diagnostics are the generic path's (GUPFast.swift, GUPGrab.swift). The loops are
// generic over the design's arm of the grab and the release (`FastPinDesign`,
// GUPFastDesigns.swift): mainline's is the bias; every other design over struct pages
// runs the same walk with its own arm, and memdesc32 and memdesc8 too, their folio
// being the descriptor the page's memdesc word points to (issue 19 item 4).
import PageLayout

/// What the mainline fast path reads per page, resolved once per GUP or unpin call; nil
/// when the call is not mainline's common case.
struct MainlineFastPath {
    let compoundHead: Int
    /// The flags word: `page->flags`, which is `folio->flags` where folios are struct
    /// pages (`applies(to:)` checks the offsets agree); `folio->flags` in the descriptor where
    /// folios are descriptors (whose designs read no page flags).
    let pageFlags: Int
    let refcount: Int
    let mapping: Int
    let headMask: UInt64
    /// PG_referenced: its bit, and the bit as a mask of `page->flags`.
    let referenced: Int
    let referencedMask: UInt64
    /// The node field of page->flags (`page_to_nid()`); `nodesMask` 0 where the config
    /// keeps none there (then `section_to_node_table[]`, `MemmapContext.nid(of:)`).
    let nodesShift: UInt64
    let nodesMask: Int
    /// The machine's nodes; one: every pin is counted on node 0 without reading a nid
    /// per page. (An `Int`, not a `Bool`: a `Bool` field would hold the optional's tag in
    /// its spare values, read through an outlined call.)
    let nodes: Int
    var oneNode: Bool { nodes == 1 }
    let zeroPfn: Int
    let ramPfns: Int
    /// `mem_section[]` and the memmap's geometry (`MemmapContext.pagePointer`).
    let sections: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    let sectionShift: Int
    let sectionMask: Int
    let pageSize: Int
    let context: UnsafeMutablePointer<MemmapContext>
    let shadow: PinShadowSlots
    /// Where folios are separately allocated descriptors (memdesc designs): how a struct
    /// page's memdesc word leads to its folio (`MemdescFolioLookup`, Descriptors/).
    let descriptors: MemdescFolioLookup

    /// Whether the machine's design has a fast path over the kind of folio its layout has
    /// (`HotTracker.hasFastPath(foliosAreDescriptors:)`: struct pages for mainline and
    /// the 2018 designs, descriptors for memdesc32 and memdesc8) and the layout has what
    /// the fast path reads. Out of line, so that `init` stays small enough to be inlined
    /// into the walk (the checks run once per call).
    @inline(never)
    static func applies(to machine: Machine) -> Bool {
        let layout = machine.layout
        let memmap = machine.context
        let head = memmap.pointee.bits.head
        guard machine.pins.hot.hasFastPath(foliosAreDescriptors: layout.foliosAreDescriptors), layout.wordSize == 8,
              layout.folioRefcount >= 0, layout.folioFlags >= 0, layout.folioMapping >= 0,
              machine.flagBits.referenced >= 0, machine.flagBits.referenced < 64,
              memmap.pointee.sectionShift >= 0, memmap.pointee.sectionShift < 64,
              machine.pins.ramPfns <= memmap.pointee.spannedPfns else { return false }
        // What finds a page's order-0 folio: its own compound_head and PG_head
        // (`isSmallFolio`), or its memdesc word and the descriptor (`descriptors`).
        if layout.foliosAreDescriptors { return MemdescFolioLookup(memmap).isUsable }
        return layout.compoundHead >= 0 && layout.flags >= 0 && layout.folioFlags == layout.flags && head >= 0 && head < 64
    }

    /// Resolved where `applies(to:)`.
    @inline(__always)
    init?(_ machine: Machine) {
        guard Self.applies(to: machine) else { return nil }
        let layout = machine.layout
        let memmap = machine.context
        let head = memmap.pointee.bits.head
        compoundHead = layout.compoundHead
        descriptors = MemdescFolioLookup(memmap)
        pageFlags = layout.folioFlags
        refcount = layout.folioRefcount
        mapping = layout.folioMapping
        headMask = 1 &<< UInt64(truncatingIfNeeded: head)   // 0 ≤ head < 64 where it is read
        referenced = machine.flagBits.referenced
        referencedMask = 1 &<< UInt64(referenced)
        let fields = memmap.pointee.fields
        nodesShift = UInt64(fields.nodesShift)
        // The node from the flags word the design's `smallFolio` read: the struct page's.
        // A descriptor folio's design reads none (memdesc8's page has no flags): then
        // `MemmapContext.nid(of:)`, as the generic step asks.
        nodesMask = fields.nodesWidth > 0 && !layout.foliosAreDescriptors ? (1 &<< fields.nodesWidth) &- 1 : 0
        nodes = machine.pins.nodeAcquired.count
        zeroPfn = machine.zeroPagePfn
        ramPfns = machine.pins.ramPfns
        sections = memmap.pointee.sections
        sectionShift = memmap.pointee.sectionShift
        sectionMask = memmap.pointee.sectionMask
        pageSize = memmap.pointee.pageSize
        context = memmap
        shadow = machine.pins.shadowSlots
    }

    /// The word at `offset` of the struct page at `raw`: `init` checked the word size is
    /// 8 and the offsets are in the layout, so no per-read size or presence test
    /// (`RawView.word`).
    @inline(__always)
    func word(_ raw: UnsafeMutableRawPointer, _ offset: Int) -> UInt64 {
        (raw + offset).load(as: UInt64.self)
    }

    /// Linux: `pfn_to_page()` of a RAM pfn other than the zero page: the host address of
    /// its struct page, nil for any other pfn or one whose section has no memmap (a
    /// RAM section may have none: `Memmap.isValid(pfn:)` asks the same). One unsigned
    /// compare covers `pfn >= 0` and the memmap's span (RAM's pfns are the span).
    @inline(__always)
    func ramPage(_ pfn: Int) -> UnsafeMutableRawPointer? {
        guard UInt(bitPattern: pfn) < UInt(bitPattern: ramPfns), pfn != zeroPfn,
              let section = sections[pfn &>> sectionShift] else { return nil }
        return section + (pfn & sectionMask) &* pageSize
    }

    /// Whether the struct page at `raw`, whose `page->flags` is `flags`, is its own
    /// order-0 folio: not a tail, not PG_head (`page_folio()` of the common case).
    @inline(__always)
    func isSmallFolio(_ raw: UnsafeMutableRawPointer, flags: UInt64) -> Bool {
        word(raw, compoundHead) & 1 == 0 && flags & headMask == 0
    }

    /// Linux: `folio_nid()` from the `page->flags` word read already.
    @inline(__always)
    func nid(_ flags: UInt64, pfn: Int) -> Int {
        nodesMask != 0 ? Int(truncatingIfNeeded: flags &>> nodesShift) & nodesMask : context.nid(of: pfn)
    }

    /// Linux: `folio_ref_try_add(folio, 1)` of `try_get_folio()` on the folio at `folio`:
    /// add-unless-zero, fully ordered. A count ≤ 0 (freed, or the WARN of a negative one)
    /// is left alone for the generic step to report.
    @inline(__always)
    func refTryGet(_ folio: UnsafeMutableRawPointer) -> Bool {
        let p = folio + refcount
        var current = RawMemory.atomicRead(p)
        while current > 0 {
            let (done, found) = RawMemory.atomicCompareExchange(p, expected: current, desired: current &+ 1)
            if done { return true }
            current = found
        }
        return false
    }

    /// Linux: `gup_fast_folio_allowed()` for an order-0 folio and a pin without
    /// FOLL_LONGTERM (GUPFast.swift has the whole function): the secretmem check's
    /// `READ_ONCE(folio->mapping)`, a folio without a mapping goes to the slow path, an
    /// anon (or KSM) one and a file one (no model mapping is secretmem) may be pinned:
    /// the FOLIO_MAPPING_FLAGS bits are 0 (file), 1 (anon) or 3 (KSM), not 2
    /// (movable_ops, which GUPFast.swift's `mapping & 1` refuses too).
    @inline(__always)
    func allowed(_ folio: UnsafeMutableRawPointer) -> Bool {
        let mapping = word(folio, mapping)
        return mapping != 0 && mapping & 3 != 2
    }

    /// Linux: `folio_set_referenced()` on the folio at `folio` (read first, as
    /// `Machine.folioSetReferenced`).
    @inline(__always)
    func setReferenced(_ folio: UnsafeMutableRawPointer) {
        if word(folio, pageFlags) & referencedMask == 0 { RawMemory.setBit(referenced, folio + pageFlags, wordSize: 8) }
    }

    /// The page view of the struct page at `raw` (what pages[] holds; a proxy's bytes
    /// under the proxy design).
    @inline(__always)
    func page(_ raw: UnsafeMutableRawPointer, pfn: Int) -> Page { Page(outOfMemmap: raw, pfn: pfn, context) }

    /// The folio view of the order-0 folio at `raw`, for the cold paths.
    @inline(__always)
    func folio(_ raw: UnsafeMutableRawPointer, pfn: Int) -> Folio {
        Folio(raw: raw, address: context.pageAddress(pfn), pfn: pfn, context: context)
    }
}

/// Pins counted by the fast paths in registers, per run of one node, and added to the
/// call's `PinStatBatch` when the node changes or the loop ends. On a machine of one
/// node the nid is not read at all (`PinState.nodeIndex` counts every nid of it on
/// node 0).
struct MainlineNodeRun {
    private let oneNode: Bool
    private var nid: Int, count = 0

    @inline(__always)
    init(_ fast: MainlineFastPath) {
        oneNode = fast.oneNode
        nid = fast.oneNode ? 0 : -1
    }

    /// One more pin (or release) on node `nid`; a change of node hands the previous
    /// run to `flush`.
    @inline(__always)
    mutating func count(_ nid: @autoclosure () -> Int, flush: (Int, Int) -> Void) {
        if !oneNode {
            let nid = nid()
            if nid != self.nid {
                if count != 0 { flush(self.nid, count) }
                self.nid = nid
                count = 0
            }
        }
        count &+= 1
    }

    /// Hands the current run to `flush` and empties it.
    @inline(__always)
    mutating func end(_ flush: (Int, Int) -> Void) {
        if count != 0 { flush(nid, count) }
        count = 0
    }
}

extension Machine {
    /// `gup_fast_pte_range()` from the entry at `slot` (for `addr`) to `end` on the fast
    /// path. true: every entry pinned and stored; false: one was taken and given back,
    /// stop here (as the generic step would); nil: the entry at `addr` (where `slot` and
    /// `addr` are left) is not the common case, nothing taken for it, the caller runs the
    /// generic step on it.
    @inline(__always)
    func gupFastMainlinePTEs<Design: FastPinDesign>(_ design: Design, _ fast: MainlineFastPath, slot: inout EntrySlot, addr: inout UInt64, end: UInt64, pmd: PTE, pmdSlot: EntrySlot,
                             flags: FollFlags, pages: UnsafeMutablePointer<Page>, nr: inout Int, batch: inout PinStatBatch) -> Bool? {
        var out = pages + nr
        var run = MainlineNodeRun(fast)
        // The calling thread's grab slots (`PinShadowGrabSlots.base`), looked up on the
        // first pin (again on each pin of a thread that has none: its grabs go to the
        // shared slots, more than `PinShadow.maxThreads` threads pinning).
        var grab: UnsafeMutableRawPointer?
        defer {
            nr = out - pages
            run.end { batch.acquired(nid: $0, pages: $1, pins: pins) }
        }
        // pte_access_permitted() for a write (on a writable PTE whatever the flags: a
        // read-only one may need unsharing, the generic step's), and !pte_special().
        let need = PTE.present | PTE.user | PTE.rw, mask = need | PTE.special
        while addr < end {
            let pte = slot.load()   // ptep_get_lockless()
            guard pte.rawValue & mask == need, let raw = fast.ramPage(pte.pfn) else { return nil }
            let pfn = pte.pfn
            // try_get_folio(): page_folio(), folio_ref_try_add(), the re-check of page_folio()
            // (a folio that became large or another meanwhile is given back and the page
            // retried by the generic step, as try_get_folio() loops). `folio` is the struct
            // page itself, or the memdesc designs' descriptor; `pageFlags` the page's flags
            // word where the design read it (the node).
            guard case let (folio, pageFlags)? = design.smallFolio(fast, raw, pfn: pfn), fast.refTryGet(folio) else { return nil }
            guard design.isSmallFolio(fast, raw, folio: folio, pfn: pfn) else {
                folioPutRefs(design.folioView(fast, folio, pfn: pfn), 1)
                return nil
            }
            // try_grab_folio_fast(): the design's pin (mainline: the rest of the bias).
            guard let result = design.grab(fast, raw, folio: folio, pfn: pfn, in: self) else {
                folioPutRefs(design.folioView(fast, folio, pfn: pfn), 1)
                return false
            }
            // smp_mb__after_atomic(): on x86-64 the kernel's is barrier(), the locked add
            // above being the full barrier that orders the pin before the re-reads below;
            // the portable full fence elsewhere (RawMemory.fenceAfterAtomic says why).
            RawMemory.fenceAfterAtomic()
            if grab == nil { grab = batch.grabSlots(pins.shadow).base }
            PinShadowGrabSlots(base: grab).add(pfn, 1, shared: fast.shadow)
            run.count(fast.nid(pageFlags, pfn: pfn)) { batch.acquired(nid: $0, pages: $1, pins: pins) }
            if pmdSlot.load() != pmd || slot.load() != pte || !fast.allowed(folio) {
                run.end { batch.acquired(nid: $0, pages: $1, pins: pins) }
                gupFastUngrab(design.folioView(fast, folio, pfn: pfn), page: fast.page(raw, pfn: pfn), refs: 1, flags: flags, batch: &batch)
                return false
            }
            fast.setReferenced(folio)
            out.initialize(to: fast.page(result, pfn: pfn))
            out += 1
            addr &+= UserVM.pageSize
            slot = slot.advanced(by: 1)
        }
        return true
    }

    /// The entries of `unpin_user_pages()` from `start` on the fast path, in one tight
    /// loop: each an order-0 folio whose next entry is another page (no run to gather),
    /// released with `gup_put_folio(folio, 1)`. Returns the index of the first entry it
    /// did not take (`start` when it took none): the generic loop takes that one.
    @inline(__always)
    func unpinMainlineFast<Design: FastPinDesign>(_ design: Design, _ fast: MainlineFastPath, _ pages: UnsafeBufferPointer<Page>, from start: Int, batch: inout PinStatBatch) -> Int {
        var i = start
        let count = pages.count
        guard let base = pages.baseAddress else { return i }
        var run = MainlineNodeRun(fast)
        // The shadow's stripe lock held (`PinShadowSlots`: the unpins of a stripe's pfns
        // are serialized by it), -1 for none: kept while the entries stay in its pfns,
        // so a run of neighbouring folios costs one lock, not a locked instruction per
        // page; let go before any cold path and before returning (the generic step
        // takes it again).
        var held = -1
        defer {
            if held >= 0 { fast.shadow.unlockStripe(held) }
            run.end { batch.released(nid: $0, pages: $1, pins: pins) }
        }
        while i < count {
            let page = base[i]
            let pfn = page.pfn
            guard i &+ 1 == count || base[i &+ 1].pfn != pfn,
                  UInt(bitPattern: pfn) < UInt(bitPattern: fast.ramPfns), pfn != fast.zeroPfn,
                  let raw = design.target(fast, page), case let (folio, pageFlags)? = design.smallFolio(fast, raw, pfn: pfn) else { break }
            i &+= 1
            let stripe = fast.shadow.stripe(pfn)
            if stripe != held {
                if held >= 0 { fast.shadow.unlockStripe(held) }
                fast.shadow.lockStripe(stripe)
                held = stripe
            }
            guard fast.shadow.subtractLocked(pfn, 1) else {
                fast.shadow.unlockStripe(held)
                held = -1
                unpinOfUnpinned(design.folioView(fast, folio, pfn: pfn), 1)
                continue
            }
            run.count(fast.nid(pageFlags, pfn: pfn)) { batch.released(nid: $0, pages: $1, pins: pins) }
            // The design's arm of gup_put_folio() (mainline: folio_put_refs(GUP_PIN_COUNTING_BIAS)),
            // which lets go of the stripe lock before its own locks or a cold path.
            design.release(fast, folio, pfn: pfn, entry: page, in: self, holding: &held)
        }
        return i
    }
}
