// Seed 004 option 1 (M. Wilcox, linux-mm, 6 Dec 2024; kernel-facts.md 5.5): "a vmalloc
// memdesc with per-page mapcount and refcount", dismissed there as "unnecessarily high
// overhead". Not in v6.19 (whose vmalloc pages are plain struct pages). The model gives
// each page of a VM_USERMAP area on the memdesc designs a descriptor of its own in the
// descriptor heap, so the lab can show that overhead against options 2-4.
import PageLayout

/// The memdesc type the model gives the per-page vmalloc memdesc: 15, unassigned in
/// every revision of the type table (kernel-facts.md 5.2), as scamem takes 14.
let memdescVmallocType: UInt64 = 15

/// `struct vmalloc_memdesc` (the model's): `refcount` (atomic_t) at 0, `mapcount`
/// (atomic_t, -1 when unmapped, as `_mapcount`) at 4, `flags` at 8 holding the node
/// and zone as page->flags does today (bits 0-2 zone, 3-12 node), 16 bytes: one slab
/// object per page.
struct VmallocMemdescView {
    static let refcountOffset = 0
    static let mapcountOffset = 4
    static let flagsOffset = 8
    static let size = 16
    let bytes: DescriptorBytes
}

extension Machine {
    /// The option-1 descriptor of `page`, or nil where its word is no vmalloc memdesc.
    func vmallocMemdescAddress(_ page: Page) -> UInt64? {
        guard layout.foliosAreDescriptors else { return nil }
        let word = page.memdesc
        return word & MemdescWord.typeMask == memdescVmallocType ? word & ~MemdescWord.typeMask : nil
    }

    private func vmallocMemdescView(_ address: UInt64) -> VmallocMemdescView {
        VmallocMemdescView(bytes: DescriptorBytes(raw: heap.pointer(address), pfn: -1, span: VmallocMemdescView.size, context: context))
    }

    /// Gives each of `pages` its descriptor (refcount 1: vmalloc's own; unmapped), its
    /// node and zone copied in, and points its word at it. false (every page as it was)
    /// where the design has no memdesc word or the heap is exhausted.
    func vmallocMemdescAttach(_ pages: [Page]) -> Bool {
        guard layout.foliosAreDescriptors else { return false }
        var done: [(Page, UInt64)] = []
        for page in pages {
            guard let address = heap.allocate(size: VmallocMemdescView.size, alignment: Layouts.memdescDescriptorAlignment, kind: .vmallocMemdesc) else {
                for (page, address) in done { detach(page, address) }
                return false
            }
            let view = vmallocMemdescView(address)
            view.bytes.setAtomic(VmallocMemdescView.refcountOffset, 1)
            view.bytes.setAtomic(VmallocMemdescView.mapcountOffset, -1)
            let zone = UInt64(max(0, context.zoneByPfn(page.pfn)))
            let node = UInt64(context.pointee.sectionNode[page.pfn >> context.pointee.sectionShift])
            view.bytes.setUInt64(VmallocMemdescView.flagsOffset, node << 3 | zone)
            page.memdesc = address | memdescVmallocType
            done.append((page, address))
        }
        return true
    }

    private func detach(_ page: Page, _ address: UInt64) {
        _ = context.stampScamem(page.pfn, address: 0)   // back to plain Misc
        heap.free(address, size: VmallocMemdescView.size, alignment: Layouts.memdescDescriptorAlignment, kind: .vmallocMemdesc)
    }

    /// The page's refcount in its option-1 descriptor (tests, reports); nil without one.
    public func vmallocMemdescRefcount(_ page: Page) -> Int32? {
        vmallocMemdescAddress(page).map { vmallocMemdescView($0).bytes.atomic(VmallocMemdescView.refcountOffset) }
    }

    /// The page's mapcount in its option-1 descriptor (`_mapcount` convention: -1
    /// unmapped); nil without one.
    public func vmallocMemdescMapcount(_ page: Page) -> Int32? {
        vmallocMemdescAddress(page).map { vmallocMemdescView($0).bytes.atomic(VmallocMemdescView.mapcountOffset) }
    }

    /// page_to_nid() from the option-1 descriptor's flags.
    func vmallocMemdescNid(_ page: Page) -> Int? {
        vmallocMemdescAddress(page).map { Int(vmallocMemdescView($0).bytes.uint64(VmallocMemdescView.flagsOffset) >> 3 & 0x3ff) }
    }

    /// page_zonenum() from the option-1 descriptor's flags.
    func vmallocMemdescZone(_ page: Page) -> Int? {
        vmallocMemdescAddress(page).map { Int(vmallocMemdescView($0).bytes.uint64(VmallocMemdescView.flagsOffset) & 7) }
    }

    /// `folio_try_get()` on the page's own count (GUP, slow or fast, and a PTE), and
    /// with `mapping` one more mapcount (vm_insert_page(), fork's PTE copy). false
    /// without a descriptor, or on a page already being freed (count 0).
    func vmallocMemdescGet(_ page: Page, mapping: Bool) -> Bool {
        guard let address = vmallocMemdescAddress(page) else { return false }
        let view = vmallocMemdescView(address)
        guard view.bytes.atomicAddUnless(VmallocMemdescView.refcountOffset, 1, unless: 0) else {
            diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(page.pfn), reason: "vmalloc memdesc: get on a page whose refcount is 0 (use-after-free)"))
            return false
        }
        if mapping { view.bytes.atomicAdd(VmallocMemdescView.mapcountOffset, 1) }
        return true
    }

    /// `folio_put()` on the page's own count (with `mapping`, the PTE's mapcount goes
    /// first): at zero the descriptor goes back to its slab and the page to the buddy
    /// allocator. false without a descriptor.
    @discardableResult
    func vmallocMemdescPut(_ page: Page, mapping: Bool) -> Bool {
        guard let address = vmallocMemdescAddress(page) else { return false }
        let view = vmallocMemdescView(address)
        if mapping { view.bytes.atomicAdd(VmallocMemdescView.mapcountOffset, -1) }
        let left = view.bytes.atomicSubReturn(VmallocMemdescView.refcountOffset, 1)
        if left < 0 {
            diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(page.pfn), reason: "vmalloc memdesc: refcount underflow (use-after-free)"))
            return true
        }
        guard left == 0 else { return true }
        let mapcount = view.bytes.atomic(VmallocMemdescView.mapcountOffset)
        if mapcount != -1 {
            diagnostics.record(Diagnostic(kind: .bug, pfn: UInt64(page.pfn), reason: "vmalloc memdesc: freed with mapcount \(mapcount + 1)"))
        }
        detach(page, address)
        freePages(page, order: 0)
        return true
    }
}

extension Machine {
    /// GUP-fast's reference on a vmalloc page without a folio, from the page alone: its
    /// option-1 descriptor's count, or its scamem where the word points to one. false
    /// (nothing taken) otherwise, and for struct-page designs at once.
    @inline(__always)
    func vmallocFastGrab(_ page: Page) -> Bool {
        guard layout.foliosAreDescriptors else { return false }
        let type = page.memdesc & MemdescWord.typeMask
        guard type == memdescScamemType || type == memdescVmallocType else { return false }
        return scamemTryGrab(page)
    }
}
