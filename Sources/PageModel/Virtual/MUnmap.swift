// munmap(): removing mappings, splitting the VMAs at both ends. Mirrors do_vmi_munmap(),
// do_vmi_align_munmap(), vms_gather_munmap_vmas() and vms_complete_munmap_vmas() of
// mm/vma.c, and exit_mmap() of mm/mmap.c (Linux v6.19).

extension MM {
    /// Linux: `munmap()` (`__vm_munmap()`): remove every mapping in
    /// `[addr, addr + PAGE_ALIGN(length))`, splitting VMAs that straddle either end.
    /// Unmapping a range with nothing mapped succeeds.
    public func munmap(addr: UInt64, length: UInt64) throws(Errno) {
        try mmapLock.withWriteLock { () throws(Errno) in
            try doMunmap(start: addr, length: length)
        }
    }

    /// Linux: `do_vmi_munmap()`: argument checks, then the unmap. Caller holds the
    /// mmap_lock for write.
    func doMunmap(start: UInt64, length: UInt64) throws(Errno) {
        if UserVM.isUnaligned(start) || start > layout.taskSize || length > layout.taskSize - start {
            throw Errno.EINVAL
        }
        let end = start + UserVM.pageAlign(length)
        if end == start { throw Errno.EINVAL }
        try doVMIMunmap(start: start, end: end)
    }

    /// Linux: `do_vmi_align_munmap()`: split at `start` and `end` and remove the VMAs in
    /// between, unmapping their pages and freeing their page tables. Caller holds the
    /// mmap_lock for write; `start` and `end` are page aligned.
    func doVMIMunmap(start: UInt64, end: UInt64) throws(Errno) {
        var range = tree.indices(intersecting: start, end)
        guard !range.isEmpty else { return }
        var first = range.lowerBound
        if tree[first].start < start {
            // Splitting off a hole in the middle would leave one VMA more: refuse at the limit.
            if end < tree[first].end && tree.count >= layout.maxMapCount { throw Errno.ENOMEM }
            // Don't bother splitting a VMA that cannot be unmapped anyway.
            if tree[first].flags.contains(.sealed) { throw Errno.EPERM }
            first = try splitVMA(at: first, start, newBelow: true, checkMapCount: false)
        }
        range = tree.indices(intersecting: start, end)
        // A sealed VMA anywhere in the range refuses the whole unmap (a split already made
        // at the start stays, as in vms_gather_munmap_vmas()).
        if tree.vmas[range].contains(where: { $0.flags.contains(.sealed) }) { throw Errno.EPERM }
        let last = range.upperBound - 1
        if tree[last].end > end {
            try splitVMA(at: last, end, newBelow: false, checkMapCount: false)
        }
        range = tree.indices(intersecting: start, end)
        first = range.lowerBound

        let removed = Array(tree.vmas[range])
        let floor = first > 0 ? tree[first - 1].end : 0
        let ceiling = range.upperBound < tree.count ? tree[range.upperBound].start : 0
        for vma in removed {
            pageOps.unmapRange(vma, start: vma.start, end: vma.end)
            if vma.flags.contains(.locked) {
                lockedVMPages -= min(lockedVMPages, vma.pages)
            }
        }
        tree.removeSubrange(range)
        if let firstVMA = removed.first, let lastVMA = removed.last {
            pageOps.freePageTables(start: firstVMA.start, end: lastVMA.end, floor: floor, ceiling: ceiling)
        }
    }

    /// Linux: `exit_mmap()`: tear the whole address space down when its last user goes:
    /// unmap every VMA (sealed ones too), free all page tables, and leave the mm empty.
    public func exitMmap() {
        mmapLock.withWriteLock {
            let all = tree.vmas
            // mmu_notifier_release(): secondary MMUs drop everything before any page goes.
            if let machine = (pageOps as? UserPageTables)?.machine { mmuNotifierRelease(machine: machine) }
            guard let first = all.first, let last = all.last else { return }
            for vma in all { pageOps.unmapRange(vma, start: vma.start, end: vma.end) }
            pageOps.freePageTables(start: first.start, end: last.end, floor: 0, ceiling: 0)
            tree.removeSubrange(0..<all.count)
            lockedVMPages = 0
        }
    }
}
