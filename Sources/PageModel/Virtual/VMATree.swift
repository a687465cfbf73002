// The mm's VMAs in address order. Linux keeps them in a maple tree (mm->mm_mt,
// lib/maple_tree.c); the model keeps a sorted contiguous array searched by bisection.

/// The VMAs of one mm, sorted by address and non-overlapping.
///
/// Lookups (find_vma(), vma_lookup(), find_vma_intersection()) are O(log n) by binary
/// search. Insertion and removal shift the array (O(n) memmove); the kernel's maple tree
/// does both in O(log n), but with vm.max_map_count = 65530 the shift is at most a few
/// hundred kilobytes and the model's VMA counts are far smaller. Not thread-safe by
/// itself: the MM guards it with the mmap_lock.
struct VMATree: Sendable {
    private(set) var vmas: [VMA] = []

    var count: Int { vmas.count }
    subscript(index: Int) -> VMA {
        get { vmas[index] }
        set { vmas[index] = newValue }
    }

    /// The index of the first VMA with `end > addr` (find_vma() semantics), or `count`.
    func firstIndex(endAbove addr: UInt64) -> Int {
        var low = 0
        var high = vmas.count
        while low < high {
            let mid = (low + high) / 2
            if vmas[mid].end > addr { high = mid } else { low = mid + 1 }
        }
        return low
    }

    /// find_vma(): the first VMA with `end > addr`.
    func find(_ addr: UInt64) -> VMA? {
        let index = firstIndex(endAbove: addr)
        return index < vmas.count ? vmas[index] : nil
    }

    /// vma_lookup(): the index of the VMA containing `addr`.
    func index(containing addr: UInt64) -> Int? {
        let index = firstIndex(endAbove: addr)
        return index < vmas.count && vmas[index].start <= addr ? index : nil
    }

    /// The indices of the VMAs intersecting `[start, end)` (find_vma_intersection() and
    /// for_each_vma_range()).
    func indices(intersecting start: UInt64, _ end: UInt64) -> Range<Int> {
        let first = firstIndex(endAbove: start)
        var last = first
        // Bisection for the first VMA starting at or after `end`.
        var high = vmas.count
        while last < high {
            let mid = (last + high) / 2
            if vmas[mid].start < end { last = mid + 1 } else { high = mid }
        }
        return first..<max(first, last)
    }

    /// Inserts a VMA that overlaps none, keeping the order; returns its index.
    @discardableResult
    mutating func insert(_ vma: VMA) -> Int {
        let index = firstIndex(endAbove: vma.start)
        vmas.insert(vma, at: index)
        return index
    }

    mutating func remove(at index: Int) { vmas.remove(at: index) }

    mutating func removeSubrange(_ range: Range<Int>) { vmas.removeSubrange(range) }
}
