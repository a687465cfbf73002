// mm/vmalloc.c (v6.19): the vmalloc range of the kernel address map and its vmap_areas:
// alloc_vmap_area() (first fit, guard page), find_vmap_area(), free_vmap_area_noflush()
// with the lazy list and lazy_max_pages(), __purge_vmap_area_lazy().

extension KernelAddressMap {
    /// VMALLOC_START of the model: x86-64 (4-level) reserves 0xffffc90000000000 for 32
    /// TiB; the model's descriptor heap sits at its bottom, so vmalloc areas start at the
    /// first 2 MiB boundary above the heap (a deliberate difference: the kernel carves
    /// slab objects from the direct map instead).
    public var vmallocStart: UInt64 {
        let afterHeap = heapBase &+ heapCapacity
        return (afterHeap &+ 0x1f_ffff) & ~UInt64(0x1f_ffff)
    }

    /// VMALLOC_END (exclusive): x86-64 4-level 0xffffe8ffffffffff + 1; elsewhere 1 GiB
    /// above the start, below the top of the address space.
    public var vmallocEnd: UInt64 {
        if wordSize == 8, vmemmapBase == 0xffff_ea00_0000_0000 { return 0xffff_e900_0000_0000 }
        let end = vmallocStart &+ (1 << 30)
        return end > vmallocStart ? min(end, wordSize == 8 ? end : 0xff80_0000) : vmallocStart
    }
}

/// The busy and lazily freed vmap_areas, sorted by address (the kernel's rb-trees
/// and free-space augmentation reduced to a sorted array; the search is first fit, as
/// `__alloc_vmap_area()` finds the lowest fitting address).
struct VmapAreaSet {
    /// Busy and lazy areas by start address; lazy ones have `vm == nil`.
    private(set) var areas: [VmapArea] = []
    /// `vmap_lazy_nr`: pages of areas waiting for the purge.
    private(set) var lazyPages = 0

    /// The index of the first area whose start is >= `addr`.
    private func lowerBound(_ addr: UInt64) -> Int {
        var lo = 0, hi = areas.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if areas[mid].vaStart < addr { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    /// Linux: `__alloc_vmap_area()`: the lowest `align`-aligned range of `size` bytes in
    /// [start, end) overlapping no busy or lazy area; nil when none is left.
    mutating func allocate(size: UInt64, align: UInt64, start: UInt64, end: UInt64) -> VmapArea? {
        var candidate = (start &+ align &- 1) & ~(align &- 1)
        for area in areas {
            let (candidateEnd, overflow) = candidate.addingReportingOverflow(size)
            if overflow || candidateEnd > end { return nil }
            if candidateEnd <= area.vaStart { break }
            if area.vaEnd > candidate { candidate = (area.vaEnd &+ align &- 1) & ~(align &- 1) }
        }
        let (candidateEnd, overflow) = candidate.addingReportingOverflow(size)
        guard !overflow, candidateEnd <= end, candidate >= start else { return nil }
        let area = VmapArea(vaStart: candidate, vaEnd: candidateEnd, vm: nil)
        areas.insert(area, at: lowerBound(candidate))
        return area
    }

    /// Linux: `find_vmap_area()`: the busy area starting at `addr` (vfree() and vunmap()
    /// take the start address only), or nil.
    func busy(at addr: UInt64) -> VmapArea? {
        let i = lowerBound(addr)
        guard i < areas.count, areas[i].vaStart == addr, areas[i].vm != nil else { return nil }
        return areas[i]
    }

    /// The busy area containing `addr` (`find_vm_area()` on any address of it).
    func busy(containing addr: UInt64) -> VmapArea? {
        let i = lowerBound(addr &+ 1) - 1
        guard i >= 0, areas[i].vaEnd > addr, areas[i].vm != nil else { return nil }
        return areas[i]
    }

    /// Linux: `free_vmap_area_noflush()`: the area goes on the lazy list; its range stays
    /// reserved until the purge. Returns the new `vmap_lazy_nr`.
    mutating func makeLazy(_ area: VmapArea) -> Int {
        area.vm = nil
        lazyPages += Int(area.size >> VmallocSpace.pageShift)
        return lazyPages
    }

    /// Linux: `__purge_vmap_area_lazy()`: every lazy range becomes free address space
    /// (after the TLB flush the kernel does first). Returns the pages released.
    mutating func purge() -> Int {
        let released = lazyPages
        areas.removeAll { $0.vm == nil }
        lazyPages = 0
        return released
    }

    /// Busy areas (with their vm_struct) in address order.
    var busyAreas: [VMStruct] { areas.compactMap(\.vm) }
    /// Lazy areas waiting for the purge ("unpurged vm_area").
    var lazyAreas: [VmapArea] { areas.filter { $0.vm == nil } }
}
