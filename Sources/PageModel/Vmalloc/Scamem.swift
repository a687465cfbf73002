// scamem, "scattered memory" (seed 004, M. Wilcox, linux-mm, 6 Dec 2024; kernel-facts.md
// 5.5 option 4): `struct scamem { unsigned int nr; refcount_t refcount; struct page
// *pages[]; }`, one refcount for the scattered pages of a vmalloc area mapped to user
// space, `vm_struct` holding one reference. Not in v6.19: the model's answer for the
// memdesc designs, whose vmalloc pages (Misc) have no refcount of their own.
import PageLayout

/// How vmalloc pages that are mapped to user space are kept alive (seed 004's options).
public enum VmallocTracking: String, Sendable, CaseIterable {
    /// v6.19: each page's own refcount and mapcount (vm_insert_page() takes a folio
    /// reference, GUP too). Only where pages have them (the struct-page designs).
    case pageRefcount = "page-refcount"
    /// Option 2: no tracking; the pages are mapped like a PFNMAP, GUP is refused, and a
    /// vfree() while mapped frees pages user space can still reach.
    case untracked
    /// Option 4: one scamem per area holding the refcount; vm_struct, every user PTE
    /// and every GUP reference hold one; the pages go back at the last put.
    case scamem
    /// Option 3: the refcount in vm_struct itself; GUP and user PTEs refcount the whole
    /// allocation, so the area (its vmap_area, kernel mapping and /proc/vmallocinfo
    /// line) outlives vfree() until the last reference. The model keeps that count in
    /// the same heap object as scamem (vm_struct already has pages[]: the kernel would
    /// add only the 4-byte refcount).
    case vmStruct = "vm-struct"
    /// Option 1: a vmalloc memdesc per page with its own refcount and mapcount
    /// (`VmallocMemdesc.swift`): the pages behave as small folios do, at 16 bytes of
    /// descriptor per page.
    case vmallocMemdesc = "vmalloc-memdesc"

    /// The seed's number for the option (v6.19's per-page refcount: 0).
    public var option: Int {
        switch self {
        case .pageRefcount: 0
        case .vmallocMemdesc: 1
        case .untracked: 2
        case .vmStruct: 3
        case .scamem: 4
        }
    }
}

/// What the last put of an option-3 area does besides freeing the pages: the area
/// leaves the vmalloc space (registered at the refcount's address).
final class VmStructRelease: @unchecked Sendable {
    weak var space: VmallocSpace?
    let vm: VMStruct
    init(space: VmallocSpace, vm: VMStruct) {
        self.space = space
        self.vm = vm
    }
}

/// A `struct scamem` in the descriptor heap: `nr` (u32) at 0, `refcount` (atomic) at 4,
/// `pages[]` (struct page addresses) from 8.
struct ScamemView {
    static let nrOffset = 0
    static let refcountOffset = 4
    static let pagesOffset = 8
    let bytes: DescriptorBytes
    let address: UInt64

    /// sizeof(struct scamem) + nr pointers, in 16-byte slab objects.
    static func size(nr: Int) -> Int { (pagesOffset + nr * 8 + 15) & ~15 }

    var nr: Int { Int(bytes.uint32(Self.nrOffset)) }
    var refcount: Int32 { bytes.atomic(Self.refcountOffset) }
}

extension Machine {
    /// Allocates the scamem of `pages` (refcount 1: the vm_struct's) and, with
    /// `linkPages` (placement memdesc-pointer), points each page's memdesc at it. nil
    /// where the descriptor scheme has no scamem or the heap is exhausted (the pages are
    /// then untouched).
    func scamemAlloc(_ pages: [Page], linkPages: Bool = true) -> UInt64? {
        guard !pages.isEmpty, let address = heap.allocate(size: ScamemView.size(nr: pages.count), alignment: Layouts.memdescDescriptorAlignment, kind: .scamem) else {
            return nil
        }
        let view = scamemView(address, nr: pages.count)
        view.bytes.setUInt32(ScamemView.nrOffset, UInt32(pages.count))
        view.bytes.setAtomic(ScamemView.refcountOffset, 1)
        for (i, page) in pages.enumerated() {
            view.bytes.setUInt64(ScamemView.pagesOffset + i * 8, addressMap.pageAddress(pfn: page.pfn))
            guard !linkPages || context.stampScamem(page.pfn, address: address) else {
                heap.free(address, size: ScamemView.size(nr: pages.count), alignment: Layouts.memdescDescriptorAlignment, kind: .scamem)
                return nil
            }
        }
        return address
    }

    /// The scamem at `address`, its span from its own `nr` unless given (allocation).
    private func scamemView(_ address: UInt64, nr: Int? = nil) -> ScamemView {
        let count = nr ?? Int(DescriptorBytes(raw: heap.pointer(address), pfn: -1, span: 8, context: context).uint32(ScamemView.nrOffset))
        return ScamemView(bytes: DescriptorBytes(raw: heap.pointer(address), pfn: -1, span: ScamemView.size(nr: count), context: context), address: address)
    }

    /// The scamem `page` belongs to (the memdesc word's pointer), or nil.
    public func pageScamem(_ page: Page) -> UInt64? {
        let address = context.pageScamem(page.pfn)
        return address == 0 ? nil : address
    }

    /// The scamem's refcount (tests, reports).
    public func scamemRefcount(_ address: UInt64) -> Int32 { scamemView(address).refcount }

    /// `refcount_inc()`; false (and a WARN, as refcount_t saturates) on a scamem whose
    /// count already reached zero.
    @discardableResult
    func scamemGet(_ address: UInt64) -> Bool {
        let view = scamemView(address)
        guard view.bytes.atomicAddUnless(ScamemView.refcountOffset, 1, unless: 0) else {
            diagnostics.record(Diagnostic(kind: .warn, reason: "refcount_t: addition on 0; use-after-free (scamem 0x\(String(address, radix: 16)))"))
            return false
        }
        return true
    }

    /// `refcount_dec_and_test()`: at zero every page goes back to the buddy allocator
    /// (its word reset to plain Misc first) and the scamem to its slab.
    func scamemPut(_ address: UInt64) {
        let view = scamemView(address)
        let left = view.bytes.atomicSubReturn(ScamemView.refcountOffset, 1)
        if left < 0 {
            diagnostics.record(Diagnostic(kind: .warn, reason: "refcount_t: underflow; use-after-free (scamem 0x\(String(address, radix: 16)))"))
            return
        }
        guard left == 0 else { return }
        if let release = registry.object(at: address, as: VmStructRelease.self) {
            registry.unregister(address)
            release.space?.releaseArea(release.vm)
        }
        let nr = view.nr
        for i in 0..<nr {
            guard let pfn = addressMap.pfn(ofPageAddress: view.bytes.uint64(ScamemView.pagesOffset + i * 8), spannedPfns: context.pointee.spannedPfns) else { continue }
            _ = context.stampScamem(pfn, address: 0)
            freePages(Page(unchecked: pfn, context), order: 0)
        }
        heap.free(address, size: ScamemView.size(nr: nr), alignment: Layouts.memdescDescriptorAlignment, kind: .scamem)
    }

    /// The reference GUP (slow or fast), a user PTE (`mapping`: vm_insert_page(), fork's
    /// copy) takes on a vmalloc page without a folio: one on the scamem its word points
    /// to (placement memdesc-pointer), one on its own option-1 descriptor, or, with the
    /// VMA (GUP's slow path, fork), one on the scamem in `vma->vm_private_data`
    /// (placements vma-private and memdesc-node-zone: "GUP has the VMA"). false where
    /// none is reachable.
    @discardableResult
    func scamemTryGrab(_ page: Page, vma: VMA? = nil, mapping: Bool = false) -> Bool {
        if let address = pageScamem(page) { return scamemGet(address) }
        if vmallocMemdescAddress(page) != nil { return vmallocMemdescGet(page, mapping: mapping) }
        if let vma, vma.privateData != 0, isVMAPlacedVmallocPage(page) { return scamemGet(vma.privateData) }
        return false
    }

    /// The release of a reference `scamemTryGrab` or a user PTE took; false where the
    /// page has no such tracking. A page whose scamem lives in the VMA, released without
    /// one (unpin_user_page(), put_page()), cannot reach it: recorded once and counted
    /// (`VmallocSpace.unreachableWithoutVMA`), and the
    /// reference stays taken (the scamem, and its pages, are never freed), which is
    /// what that placement would do.
    @discardableResult
    func scamemRelease(_ page: Page, vma: VMA? = nil, mapping: Bool = false, operation: String = "put_page") -> Bool {
        if let address = pageScamem(page) {
            scamemPut(address)
            return true
        }
        if vmallocMemdescPut(page, mapping: mapping) { return true }
        guard isVMAPlacedVmallocPage(page) else { return false }
        if let vma, vma.privateData != 0 {
            scamemPut(vma.privateData)
        } else {
            // Recorded once per machine (WARN_ON_ONCE-like, so a long run stays
            // bounded) and counted at every hit.
            diagnostics.recordOnce(site: ScamemPlacement.unreachableReason, Diagnostic(kind: .warn, pfn: UInt64(page.pfn),
                reason: "\(ScamemPlacement.unreachableReason): \(operation)() of pfn \(page.pfn) cannot drop its reference"))
        }
        return true
    }
}
