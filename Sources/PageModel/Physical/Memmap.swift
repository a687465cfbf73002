// The memmap: struct pages in real bytes, one raw allocation per present section, as
// sparse_init() allocates them (mm/sparse.c), found through mem_section[].
import Atomics
import PageLayout
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Where node and zone live in page->flags (ZONES_PGSHIFT/NODES_PGSHIFT of
/// include/linux/mm.h), from the flags budget of the kernel config. A width of 0 means
/// the field is not in the flags and the model looks it up by pfn instead.
public struct FlagsFields: Sendable, Equatable {
    public var zonesShift = 0, zonesWidth = 0
    public var nodesShift = 0, nodesWidth = 0
    public init(zonesShift: Int = 0, zonesWidth: Int = 0, nodesShift: Int = 0, nodesWidth: Int = 0) {
        self.zonesShift = zonesShift
        self.zonesWidth = zonesWidth
        self.nodesShift = nodesShift
        self.nodesWidth = nodesWidth
    }
}

/// Everything a view needs to find and interpret bytes, in one block that the views
/// point to (so that a view is two words and a pfn, with no reference counting).
struct MemmapContext {
    var layout: ModelLayout
    var fields: FlagsFields
    var bits: PageFlagBits
    var vmemmapBase: UInt64
    var pageSize: Int
    /// log2(pageSize) when it is a power of two, else -1 (dma-pinned-field's 80 bytes).
    var pageShift: Int
    var sectionShift: Int
    var sectionMask: Int
    var sectionCount: Int
    var spannedPfns: Int
    /// mem_section[n].section_mem_map: the host address of each section's first struct
    /// page, or nil for a section without memory.
    var sections: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    /// section_to_node_table[].
    var sectionNode: UnsafeMutablePointer<Int32>
    /// The zones of every node, flattened: (nid, zone index, start, end), for the pfn
    /// lookup of the zone where page->flags does not keep it.
    var zoneRanges: UnsafeMutablePointer<(nid: Int32, zone: Int32, start: Int, end: Int)>
    var zoneRangeCount: Int
    /// ZONE_DEVICE's index, or -1, and the first pfn above RAM: memremap_pages() puts
    /// each pagemap's range into ZONE_DEVICE's span (`move_pfn_range_to_zone()`,
    /// mm/memory_hotplug.c) and the model's ranges all lie above RAM (only
    /// `memremapPages` adds sections there), so by pfn a valid pfn from here on is
    /// ZONE_DEVICE memory.
    var deviceZone = -1
    var deviceStart = Int.max
    var heapBase: UInt64
    var heapCapacity: UInt64
    var heapHost: UnsafeMutableRawPointer
    /// The direct map (PAGE_OFFSET): frame contents at kernel addresses (slab objects).
    var directMapBase: UInt64
    var framesHost: UnsafeMutableRawPointer
    var frameCount: Int
    /// Where a store through a wild kernel address lands instead of trapping; each such
    /// access is counted in `wildAccesses` and reported as corruption.
    var scratch: UnsafeMutableRawPointer
    /// The free-link table of a scheme that keeps free-list links outside the memmap
    /// (`freeLinkTableBytesPerPfn`, memdesc8): its kernel address, host memory and size
    /// (0 bytes, and `scratch` as host, for the other schemes).
    var freeLinkBase: UInt64 = 0
    var freeLinkHost: UnsafeMutableRawPointer
    var freeLinkBytes: UInt64 = 0
    /// The heap block that holds every zone's free-area and per-cpu list heads.
    var freeAreaBase: UInt64 = 0
    var freeAreaBytes: UInt64 = 0
    /// Counted atomically: any thread may follow a wild pointer.
    /// An unmanaged atomic (a pointer), so that the context stays a trivial struct: a
    /// class reference here would be retained and released by every `context.pointee`
    /// access on the hot paths. Destroyed with the memmap.
    let wildAccessCounter = UnsafeAtomic<Int>.create(0)
    var wildAccesses: Int { wildAccessCounter.load(ordering: .relaxed) }
}

/// The context's lookups, called through the pointer the views hold. As methods of the
/// struct, `context.pointee.f()` would copy all 700 bytes of the context to pass it as
/// `self` wherever `f` is not inlined; through the pointer, only the fields read are
/// loaded.
extension UnsafeMutablePointer where Pointee == MemmapContext {
    /// The host address of a pfn's struct page. The pfn must lie in a present section
    /// (so it is ≥ 0, and the masking shift by `sectionShift` < 64 is the plain one).
    @inline(__always)
    func pagePointer(_ pfn: Int) -> UnsafeMutableRawPointer {
        pointee.sections[pfn &>> pointee.sectionShift].unsafelyUnwrapped + (pfn & pointee.sectionMask) &* pointee.pageSize
    }

    /// The host address behind a kernel address in the memmap or the descriptor heap.
    /// nil for any other address (a wild pointer in a corrupted field).
    @inline(__always)
    func hostPointer(_ address: UInt64) -> UnsafeMutableRawPointer? {
        let heapOffset = address &- pointee.heapBase
        if heapOffset < pointee.heapCapacity { return pointee.heapHost + Int(heapOffset) }
        let linkOffset = address &- pointee.freeLinkBase
        if linkOffset < pointee.freeLinkBytes { return pointee.freeLinkHost + Int(linkOffset) }
        // The direct map (slab objects) is asked last, out of line: the ranges are
        // disjoint, and this function is inlined four times into list_add(), which the
        // optimizer inlines into the buddy allocator only while it stays small.
        let offset = address &- pointee.vmemmapBase
        let pfn: Int, within: Int
        if pointee.pageShift >= 0 {
            pfn = Int(truncatingIfNeeded: offset >> UInt64(pointee.pageShift))
            within = Int(truncatingIfNeeded: offset) & (pointee.pageSize - 1)
        } else {
            pfn = Int(truncatingIfNeeded: offset / UInt64(pointee.pageSize))
            within = Int(truncatingIfNeeded: offset % UInt64(pointee.pageSize))
        }
        guard offset >> 62 == 0, pfn < pointee.spannedPfns, let base = pointee.sections[pfn >> pointee.sectionShift] else {
            return directMapHostPointer(address)
        }
        return base + (pfn & pointee.sectionMask) &* pointee.pageSize + within
    }

    /// `hostPointer` in the direct map (frame contents at kernel addresses); nil outside.
    @inline(never)
    func directMapHostPointer(_ address: UInt64) -> UnsafeMutableRawPointer? {
        let directOffset = address &- pointee.directMapBase
        return directOffset >> 12 < UInt64(pointee.frameCount) ? pointee.framesHost + Int(directOffset) : nil
    }

    /// Linux: `page_to_pfn()` for an address inside the memmap; nil otherwise.
    @inline(__always)
    func pfn(ofPageAddress address: UInt64) -> Int? {
        let offset = address &- pointee.vmemmapBase
        let pfn = pointee.pageShift >= 0 ? Int(truncatingIfNeeded: offset >> UInt64(pointee.pageShift)) : Int(truncatingIfNeeded: offset / UInt64(pointee.pageSize))
        return offset >> 62 == 0 && pfn < pointee.spannedPfns ? pfn : nil
    }

    @inline(__always)
    func pageAddress(_ pfn: Int) -> UInt64 { pointee.vmemmapBase &+ UInt64(pfn) &* UInt64(pointee.pageSize) }

    /// Linux: `memdesc_nid()` falling back to `section_to_node_table[]`.
    @inline(__always)
    func nid(of pfn: Int) -> Int {
        if pointee.fields.nodesWidth > 0, pointee.layout.flags >= 0 {
            let word = RawMemory.loadWord(pagePointer(pfn) + pointee.layout.flags, wordSize: pointee.layout.wordSize)
            // Masking shifts: the field lies inside the word (shift and width < 64), as
            // the layout places it; no out-of-range shift to handle per pin.
            return Int(truncatingIfNeeded: word &>> UInt64(pointee.fields.nodesShift)) & ((1 &<< pointee.fields.nodesWidth) &- 1)
        }
        return Int(pointee.sectionNode[pfn &>> pointee.sectionShift])
    }

    /// The zone index from page->flags (`memdesc_zonenum()`), or -1 where the design or
    /// the config keeps no zone there.
    @inline(__always)
    func zoneFromFlags(_ pfn: Int) -> Int {
        guard pointee.fields.zonesWidth > 0, pointee.layout.flags >= 0 else { return -1 }
        let word = RawMemory.loadWord(pagePointer(pfn) + pointee.layout.flags, wordSize: pointee.layout.wordSize)
        return Int(truncatingIfNeeded: word >> UInt64(pointee.fields.zonesShift)) & ((1 << pointee.fields.zonesWidth) - 1)
    }

    /// The zone index by pfn: section_to_node_table[] for the node, then the node's zone
    /// spans (`zone_spans_pfn()`), for designs without page->flags (memdesc8).
    @inline(__always)
    func zoneByPfn(_ pfn: Int) -> Int {
        let nid = Int32(pointee.sectionNode[pfn >> pointee.sectionShift])
        for i in 0..<pointee.zoneRangeCount {
            let z = pointee.zoneRanges[i]
            if z.nid == nid, pfn >= z.start, pfn < z.end { return Int(z.zone) }
        }
        return pfn >= pointee.deviceStart ? pointee.deviceZone : -1
    }

    /// Linux: `page_zonenum()`: from page->flags where kept there, else by pfn.
    @inline(__always)
    func zone(of pfn: Int) -> Int {
        let fromFlags = zoneFromFlags(pfn)
        return fromFlags >= 0 ? fromFlags : zoneByPfn(pfn)
    }
}

/// The memmap of a machine and the tables that find things in it. Owns the raw memory;
/// `Page` and `Folio` views borrow it.
///
/// Invariant: views (which hold host pointers) never outlive the `Machine` that owns
/// this memmap.
public final class Memmap: @unchecked Sendable {
    let context: UnsafeMutablePointer<MemmapContext>
    /// The raw memory of each section's struct pages, by section number, and their
    /// bytes (present sections, hot-added ones included). Changed by memory hotplug.
    private let regions: ModelMutex<(bySection: [Int: RawRegion], bytes: Int)>
    /// Bytes of struct pages allocated (present sections, hot-added ones included).
    public var memmapBytes: Int { regions.withLock { $0.bytes } }
    let pagesPerSection: Int
    /// The free-link table's memory, where the scheme has one.
    private let freeLinks: RawRegion?
    /// `mem_section[]` (each section's struct pages, by section number) and each
    /// section's node: the memory of `context.sections` and `context.sectionNode`.
    private let sectionTable: RawRegion
    private let nodeTable: RawRegion

    init(topology: Topology, layout: ModelLayout, fields: FlagsFields, bits: PageFlagBits, addressMap: KernelAddressMap,
         heap: DescriptorHeap, frames: FrameContents) throws(MachineError) {
        let config = topology.config
        // NR_MEM_SECTIONS for MAX_PHYSMEM_BITS: memory hotplug (ZONE_DEVICE) may add
        // sections anywhere below it (6 MiB of tables on x86-64, of which a boot touches a
        // page or two). Mapped directly, sparse, not calloc()ed: glibc serves a calloc of
        // that size from its heap once a larger block has been freed (the mmap threshold
        // rises), and then clears all of it, or faults it all in again after a trim: 1,536
        // host page faults a boot. The kernel allocates mem_section[] roots on demand
        // (mm/sparse.c: sparse_index_alloc(), CONFIG_SPARSEMEM_EXTREME) for the same reason.
        let count = 1 << (config.arch.maxPhysmemBits - config.arch.sectionSizeBits)
        sectionTable = try RawRegion(byteCount: count * MemoryLayout<UnsafeMutableRawPointer?>.stride, noReserve: true, what: "mem_section[]")
        nodeTable = try RawRegion(byteCount: count * MemoryLayout<Int32>.stride, noReserve: true, what: "the section to node table")
        let sections = sectionTable.base.bindMemory(to: UnsafeMutableRawPointer?.self, capacity: count)
        let sectionNode = nodeTable.base.bindMemory(to: Int32.self, capacity: count)
        for s in 0..<topology.sectionNode.count { sectionNode[s] = Int32(topology.sectionNode[s]) }
        let flatZones = topology.zones.flatMap { $0 }.filter { $0.span.count > 0 }
        let zoneRanges = UnsafeMutablePointer<(nid: Int32, zone: Int32, start: Int, end: Int)>.allocate(capacity: max(1, flatZones.count))
        for (i, z) in flatZones.enumerated() {
            zoneRanges[i] = (Int32(z.nid), Int32(z.index), z.span.start, z.span.end)
        }
        let pageSize = layout.pageSize
        var bytes = 0
        var regions: [Int: RawRegion] = [:]
        let perSection = config.pagesPerSection
        do {
            for s in 0..<topology.sectionPresent.count where topology.sectionPresent[s] {
                let region = try RawRegion(byteCount: perSection * pageSize, noReserve: false, what: "the memmap of section \(s)")
                regions[s] = region
                sections[s] = region.base
                bytes += perSection * pageSize
            }
        } catch {
            zoneRanges.deallocate()
            throw error
        }
        let linkBytes = layout.kind.freeLinkTableBytesPerPfn * frames.frameCount
        do {
            freeLinks = linkBytes > 0 ? try RawRegion(byteCount: linkBytes, noReserve: true, what: "the free-link table") : nil
        } catch {
            zoneRanges.deallocate()
            throw error
        }
        self.regions = ModelMutex((regions, bytes))
        pagesPerSection = perSection
        let shift = pageSize.nonzeroBitCount == 1 ? pageSize.trailingZeroBitCount : -1
        let scratch = UnsafeMutableRawPointer.allocate(byteCount: 64, alignment: 16)
        context = .allocate(capacity: 1)
        context.initialize(to: MemmapContext(
            layout: layout, fields: fields, bits: bits, vmemmapBase: addressMap.vmemmapBase, pageSize: pageSize,
            pageShift: shift, sectionShift: config.pfnSectionShift, sectionMask: perSection - 1,
            sectionCount: count, spannedPfns: count * perSection, sections: sections,
            sectionNode: sectionNode, zoneRanges: zoneRanges, zoneRangeCount: flatZones.count,
            heapBase: heap.base, heapCapacity: heap.capacity, heapHost: heap.pointer(heap.base),
            // 32-bit: the direct map covers only lowmem and overlaps mem_map's addresses in
            // the model, so it is not resolved there (only memdesc8, 64-bit, links through it).
            directMapBase: addressMap.directMapBase, framesHost: frames.base,
            frameCount: layout.wordSize == 8 ? frames.frameCount : 0,
            scratch: scratch, freeLinkBase: addressMap.freeLinkBase, freeLinkHost: freeLinks?.base ?? scratch,
            freeLinkBytes: UInt64(freeLinks == nil ? 0 : linkBytes)))
        if let device = config.zones.firstIndex(of: .device) {
            context.pointee.deviceZone = device
            context.pointee.deviceStart = config.spannedPfns
        }
    }

    /// Linux: `sparse_add_section()` (memory hotplug): allocates and zeroes a section's
    /// struct pages. Returns false if the section already has them.
    func addSection(_ section: Int, nid: Int) throws(MachineError) -> Bool {
        guard section >= 0, section < context.pointee.sectionCount else { return false }
        let bytes = pagesPerSection * context.pointee.pageSize
        return try regions.withLock { regions throws(MachineError) -> Bool in
            guard regions.bySection[section] == nil else { return false }
            let region = try RawRegion(byteCount: bytes, noReserve: false, what: "the memmap of section \(section)")
            regions.bySection[section] = region
            regions.bytes += bytes
            context.pointee.sectionNode[section] = Int32(nid)
            context.pointee.sections[section] = region.base
            return true
        }
    }

    /// Linux: `sparse_remove_section()`.
    func removeSection(_ section: Int) {
        guard section >= 0, section < context.pointee.sectionCount else { return }
        regions.withLock { regions in
            guard regions.bySection.removeValue(forKey: section) != nil else { return }
            context.pointee.sections[section] = nil
            regions.bytes -= pagesPerSection * context.pointee.pageSize
        }
    }

    deinit {
        context.pointee.zoneRanges.deallocate()
        context.pointee.scratch.deallocate()
        context.pointee.wildAccessCounter.destroy()
        context.deinitialize(count: 1)
        context.deallocate()
    }

    public var layout: ModelLayout { context.pointee.layout }

    /// Linux: `pfn_valid()`: the pfn lies in a section that has a memmap.
    @inline(__always)
    public func isValid(pfn: Int) -> Bool {
        guard pfn >= 0, pfn < context.pointee.spannedPfns else { return false }
        return context.pointee.sections[pfn >> context.pointee.sectionShift] != nil
    }

    /// Linux: `pfn_to_page()`. nil for a pfn without a struct page.
    @inline(__always)
    public func page(_ pfn: Int) -> Page? {
        guard isValid(pfn: pfn) else { return nil }
        return Page(unchecked: pfn, context)
    }

    /// Whether a page view may still be used: its pfn has a struct page and the view's
    /// bytes are that struct page's (its section was not hot-removed since the view was
    /// made, `memunmap_pages()`), or it is a view outside the memmap (a proxy). The
    /// views assert this in debug builds; this asks it without trapping.
    public func isLive(_ page: Page) -> Bool { page.context == context && page.isLive }

    /// `pfn_to_page()` for a pfn known to be valid (internal hot paths).
    @inline(__always)
    func pageUnchecked(_ pfn: Int) -> Page { Page(unchecked: pfn, context) }

    /// Linux: `virt_to_page()` for a struct page's own address (`compound_head()`
    /// results, list entries): nil if the address is not a struct page's start.
    public func page(atAddress address: UInt64) -> Page? {
        guard let pfn = context.pfn(ofPageAddress: address), isValid(pfn: pfn),
              context.pageAddress(pfn) == address else { return nil }
        return Page(unchecked: pfn, context)
    }

    /// The node of a pfn (page->flags where kept, section_to_node_table[] otherwise).
    public func nid(of pfn: Int) -> Int? { isValid(pfn: pfn) ? context.nid(of: pfn) : nil }
    /// The zone index of a pfn, from page->flags where kept there.
    public func zoneIndexFromFlags(of pfn: Int) -> Int? {
        guard isValid(pfn: pfn) else { return nil }
        let z = context.zoneFromFlags(pfn)
        return z >= 0 ? z : nil
    }
    /// The zone index of a pfn by section table and zone spans.
    public func zoneIndexByPfn(of pfn: Int) -> Int? {
        guard isValid(pfn: pfn) else { return nil }
        let z = context.zoneByPfn(pfn)
        return z >= 0 ? z : nil
    }
    /// Linux: `page_zonenum()`.
    public func zoneIndex(of pfn: Int) -> Int? {
        guard isValid(pfn: pfn) else { return nil }
        let z = context.zone(of: pfn)
        return z >= 0 ? z : nil
    }
}
