// Where the page→scamem link and the page's node/zone/section live once struct page is
// one 8-byte memdesc word: the three placements seed 004 weighs (M. Wilcox, linux-mm,
// 6 Dec 2024; kernel-facts.md 5.5). Not in v6.19, which keeps node and zone in
// page->flags and has no scamem.
import PageLayout

/// The placements of seed 004's open question, chosen when a `VmallocSpace` is made.
public enum ScamemPlacement: String, Sendable, CaseIterable {
    /// The scamem pointer in the memdesc word (type `memdescScamemType`); node, zone and
    /// section are looked up from the pfn (`section_to_node_table[]`, the zone spans), as
    /// the seed's "look up the page's pfn in some data structure" proposes. GUP-fast can
    /// take its reference from the page alone.
    case memdescPointer = "memdesc-pointer"
    /// The pointer in `vma->vm_private_data` ("GUP has the VMA, so this can work"); the
    /// word says only Misc/Vmalloc, mappable; page_to_nid() and page_zone() by pfn.
    /// Whatever has the page but no VMA (unpin_user_page(), put_page(), a pfn walker)
    /// cannot reach the scamem; GUP-fast, which has no VMA, takes the slow path.
    case vmaPrivate = "vma-private"
    /// The pointer found through the VMA as in `vmaPrivate`, and the node and zone kept
    /// in the word's high bits ("keep the node/section/zone in the struct page"), so
    /// page_to_nid() reads the page as today's page->flags are read.
    case memdescNodeZone = "memdesc-node-zone"

    /// Whether the scamem is reached through the VMA rather than the page.
    public var needsVMA: Bool { self != .memdescPointer }

    /// The word's high bits (above bit 17, `MemdescWord.highShift`) in the
    /// `memdescNodeZone` placement: the zone in the lowest 3 (ZONES_SHIFT at most 3),
    /// the node in the next 10 (NODES_SHIFT's largest Kconfig value), as page->flags
    /// stacks them.
    static let zoneWidth: UInt64 = 3
    static let nodeWidth: UInt64 = 10

    /// The start of the diagnostic recorded (once per machine, every hit counted) when
    /// the scamem of a page cannot be found without its VMA; also its site.
    public static let unreachableReason = "scamem unreachable without the VMA"
}

/// Why the scamem of a page cannot be named from its pfn alone.
public enum ScamemLookupError: Error, Equatable, CustomStringConvertible {
    /// The placement keeps the pointer in the VMA; `pfn` was reached without one.
    case needsVMA(pfn: Int, placement: ScamemPlacement)
    /// The pfn is no page of a scamem of this space.
    case notScamem(pfn: Int)

    public var description: String {
        switch self {
        case let .needsVMA(pfn, placement): "pfn \(pfn): \(ScamemPlacement.unreachableReason) (placement \(placement.rawValue))"
        case let .notScamem(pfn): "pfn \(pfn) is no page of a scamem"
        }
    }
}

extension Machine {
    /// The Misc/Vmalloc word of a page whose scamem lives in the VMA: mappable, and with
    /// `nodeZone` the node and zone in the high bits.
    func vmaPlacedVmallocWord(_ pfn: Int, nodeZone: Bool) -> UInt64 {
        var word = UInt64(MemdescMiscSubtype.vmalloc.rawValue) << MemdescWord.miscSubtypeShift | MemdescWord.mappableBit
        if nodeZone {
            let zone = UInt64(max(0, context.zoneByPfn(pfn)))
            let node = UInt64(context.pointee.sectionNode[pfn >> context.pointee.sectionShift])
            word |= (node << ScamemPlacement.zoneWidth | zone) << MemdescWord.highShift
        }
        return word
    }

    /// Whether a page's word is Misc/Vmalloc, mappable, on memdesc8: a page whose
    /// scamem, if it has one, is reached through the VMA.
    func isVMAPlacedVmallocPage(_ page: Page) -> Bool {
        guard layout.kind.wordHoldsScamemPlacements else { return false }
        let word = MemdescWord(rawValue: page.memdesc)
        return word.miscSubtype == .vmalloc && word.isMappable
    }
}

extension VmallocSpace {
    /// Linux: `page_to_nid(page)` for a page of this space, through the placement: the
    /// word's node bits (`memdescNodeZone`), the option-1 descriptor, or the section
    /// table by pfn (`section_to_node_table[]`).
    public func pageToNid(_ page: Page) -> Int {
        let ctx = machine.context
        if let nid = machine.vmallocMemdescNid(page) { return nid }
        if placement == .memdescNodeZone, machine.isVMAPlacedVmallocPage(page) {
            return Int((page.memdesc >> MemdescWord.highShift) >> ScamemPlacement.zoneWidth & ((1 << ScamemPlacement.nodeWidth) - 1))
        }
        return Int(ctx.pointee.sectionNode[page.pfn >> ctx.pointee.sectionShift])
    }

    /// Linux: `page_zone(page)` through the placement: the zone bits of the word
    /// (`memdescNodeZone`), the option-1 descriptor, or the node's zone spans by pfn
    /// (`zone_spans_pfn()`).
    public func pageZone(_ page: Page) -> MemoryZone? {
        let nid = pageToNid(page)
        let index: Int
        if let zone = machine.vmallocMemdescZone(page) {
            index = zone
        } else if placement == .memdescNodeZone, machine.isVMAPlacedVmallocPage(page) {
            index = Int((page.memdesc >> MemdescWord.highShift) & ((1 << ScamemPlacement.zoneWidth) - 1))
        } else {
            index = machine.context.zoneByPfn(page.pfn)
        }
        guard nid >= 0, nid < machine.zones.count, index >= 0, index < machine.zones[nid].count else { return nil }
        return machine.zones[nid][index]
    }

    /// The scamem of the page at `pfn` reached from the pfn alone (what a pfn walker,
    /// memory_failure() or a put_page() without a VMA has): the word's pointer where
    /// the placement keeps it there; `needsVMA` where it lives in the VMA.
    public func scamem(ofPfn pfn: Int) throws(ScamemLookupError) -> UInt64 {
        guard let page = machine.page(pfn) else { throw .notScamem(pfn: pfn) }
        if let address = machine.pageScamem(page) { return address }
        guard placement.needsVMA, machine.isVMAPlacedVmallocPage(page),
              let vm = findVMArea(pfnArea: pfn), vm.scamem != nil else { throw .notScamem(pfn: pfn) }
        throw .needsVMA(pfn: pfn, placement: placement)
    }

    /// The area whose pages include `pfn` (the model's search, for `scamem(ofPfn:)`
    /// only: the kernel has no pfn→area index either).
    private func findVMArea(pfnArea pfn: Int) -> VMStruct? {
        areas.first { $0.pages.contains { $0.pfn == pfn } }
    }

    /// The scamem references that could not be dropped because the page was reached
    /// without its VMA (unpin_user_page(), put_page()): every hit of the diagnostic's
    /// site, which is recorded once per machine.
    public var unreachableWithoutVMA: Int { machine.diagnostics.hits(of: ScamemPlacement.unreachableReason) }

    /// What tracking the pages of `vm` costs per 4 KiB page, in bytes: the page's own
    /// descriptor (`sizeof(struct page)`, the memdesc word on memdesc8) plus its share
    /// of the area's tracking objects (the scamem, or the option-1 descriptors), as
    /// allocated in the descriptor heap. The vm_private_data pointer of the VMA
    /// placements is one word per VMA, not per page, and is not counted.
    public func bytesPerPage(_ vm: VMStruct) -> Double {
        guard vm.nrPages > 0 else { return 0 }
        var tracking = 0
        if vm.scamem != nil { tracking = ScamemView.size(nr: vm.nrPages) }
        if tracking == 0, vm.pages.contains(where: { machine.vmallocMemdescAddress($0) != nil }) {
            tracking = vm.nrPages * VmallocMemdescView.size
        }
        return Double(machine.layout.pageSize) + Double(tracking) / Double(vm.nrPages)
    }
}
