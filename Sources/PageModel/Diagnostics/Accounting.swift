// What a machine's descriptors cost, counted from what was allocated (DESIGN.md
// principle 7: measured, not asserted).
import PageLayout
import Synchronization

/// Bytes and descriptor counts of a machine at one moment.
public struct Accounting: Sendable, Equatable {
    /// Bytes of struct pages (present sections, hot-added ones included).
    public var memmapBytes: Int
    /// Bytes of separately allocated descriptors (memdesc folios, slabs, ptdescs).
    public var descriptorBytes: Int
    /// Descriptors alive, by kind.
    public var descriptors: [String: Int]
    /// Bytes of page_ext tables.
    public var pageExtBytes: Int
    /// Bytes of pages holding page tables.
    public var pageTableBytes: Int
    /// Bytes of other kernel objects the model allocated (pagemaps, kmem_caches, zones).
    public var otherHeapBytes: Int
    /// sizeof(struct page) of the design.
    public var structPageSize: Int
    /// Pfns spanned by RAM (holes included).
    public var pfns: Int
    /// Of `memmapBytes`, the memmap of ZONE_DEVICE sections present now
    /// (memremap_pages()), which figures that compare RAM across designs leave out.
    public var deviceMemmapBytes: Int = 0
    /// Of `descriptorBytes`, the folio descriptors of those sections' device pages (the
    /// memdesc designs' `attachZoneDevice`), left out alike.
    public var deviceDescriptorBytes: Int = 0

    /// All the descriptor overhead: memmap, descriptors and page_ext.
    public var totalBytes: Int { memmapBytes + descriptorBytes + pageExtBytes }
    /// The memmap of RAM alone: the same pfns on every design.
    public var ramMemmapBytes: Int { memmapBytes - deviceMemmapBytes }
    /// The separately allocated descriptors of RAM alone.
    public var ramDescriptorBytes: Int { descriptorBytes - deviceDescriptorBytes }
    /// `totalBytes` without ZONE_DEVICE's memmap and descriptors: what RAM's `pfns` cost
    /// on any design.
    public var ramTotalBytes: Int { totalBytes - deviceMemmapBytes - deviceDescriptorBytes }
}

extension Machine {
    /// Counts the machine's descriptor memory now.
    public func accounting() -> Accounting {
        let usage = heap.usage()
        let descriptorKinds: [HeapObjectKind] = [.folio, .slab, .ptdesc]
        var descriptors: [String: Int] = [:]
        for kind in descriptorKinds { descriptors[kind.rawValue] = usage[kind]?.count ?? 0 }
        let other = HeapObjectKind.allCases.filter { !descriptorKinds.contains($0) }.reduce(0) { $0 + (usage[$1]?.bytes ?? 0) }
        return Accounting(
            memmapBytes: memmap.memmapBytes,
            descriptorBytes: descriptorKinds.reduce(0) { $0 + (usage[$1]?.bytes ?? 0) },
            descriptors: descriptors,
            pageExtBytes: pageExt?.bytes ?? 0,
            pageTableBytes: pageTablePages.load(ordering: .relaxed) * MachineConfig.pageSize,
            otherHeapBytes: other,
            structPageSize: layout.pageSize,
            pfns: config.spannedPfns,
            deviceMemmapBytes: deviceRegions.withLock { $0.reduce(0) { $0 + $1.count } } * layout.pageSize,
            deviceDescriptorBytes: deviceDescriptorBytes.load(ordering: .relaxed))
    }

    /// The page allocator's counters.
    public var allocationStats: AllocationStats {
        let perZone = allZones.map { zone in zone.state.withLock { ($0.allocations, $0.frees) } }
        return counters.snapshot(allocations: perZone.reduce(0) { $0 + $1.0 }, frees: perZone.reduce(0) { $0 + $1.1 })
    }

    /// List-pointer loads and stores that went through a kernel address outside the
    /// memmap, the descriptor heap and the direct map (a corrupted list word); they hit a
    /// scratch buffer instead of trapping. 0 on a healthy machine.
    public var wildPointerAccesses: Int { context.pointee.wildAccesses }

    /// Sets `fail_page_alloc`'s parameters. Linux: /sys/kernel/debug/fail_page_alloc.
    public func injectAllocationFailures(_ injection: FailInjection) {
        self.injection.withLock { $0 = injection }
        injectionArmed.store(injection.times != 0, ordering: .relaxed)
    }
}
