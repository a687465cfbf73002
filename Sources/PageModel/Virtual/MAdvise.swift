// madvise(): advice about a range of memory. Mirrors madvise_behavior_valid(),
// madvise_should_skip(), madvise_walk_vmas(), madvise_vma_behavior(),
// madvise_update_vma(), madvise_dontneed_free(), madvise_pageout() of mm/madvise.c,
// hugepage_madvise() of mm/huge_memory.c, ksm_madvise() of mm/ksm.c and
// madvise_collapse() of mm/khugepaged.c (Linux v6.19, with CONFIG_TRANSPARENT_HUGEPAGE,
// CONFIG_KSM and CONFIG_MEMORY_FAILURE).

extension MM {
    /// Linux: `madvise()` (`do_madvise()`): apply `advice` to
    /// `[addr, addr + PAGE_ALIGN(length))`.
    ///
    /// Flag-changing advice (MADV_DONTFORK, MADV_DOFORK, MADV_HUGEPAGE, MADV_NOHUGEPAGE,
    /// MADV_RANDOM, MADV_SEQUENTIAL, MADV_NORMAL, MADV_DONTDUMP, MADV_DODUMP,
    /// MADV_WIPEONFORK, MADV_KEEPONFORK, MADV_MERGEABLE, MADV_UNMERGEABLE) splits the VMAs
    /// at the range's ends and merges where it can. Page-level advice (MADV_DONTNEED,
    /// MADV_DONTNEED_LOCKED, MADV_FREE, MADV_PAGEOUT, MADV_COLD, MADV_WILLNEED,
    /// MADV_POPULATE_*, MADV_COLLAPSE) is checked per VMA and then passed to `pageOps`.
    /// Unmapped gaps inside the range are skipped and reported as ENOMEM at the end, after
    /// the mapped parts were advised, as the kernel does.
    public func madvise(addr: UInt64, length: UInt64, advice: Advice) throws(Errno) {
        guard Self.isValidAdvice(advice) else { throw Errno.EINVAL }
        guard let end = try UserVM.checkedEnd(addr: addr, length: length) else { return }
        if advice == .hwPoison || advice == .softOffline {
            // Memory-failure injection needs CAP_SYS_ADMIN, which model processes lack.
            throw Errno.EPERM
        }
        // get_lock_mode(): advice that only acts on pages runs under the mmap_lock for read,
        // concurrently with faults and GUP, as in the kernel (which uses the per-VMA lock for
        // MADV_DONTNEED and MADV_FREE); advice that changes VMA flags takes it for write.
        if Self.takesReadLock(advice) {
            try mmapLock.withReadLock { () throws(Errno) in
                try madviseWalkVMAs(start: addr, end: end, advice: advice)
            }
        } else {
            try mmapLock.withWriteLock { () throws(Errno) in
                try madviseWalkVMAs(start: addr, end: end, advice: advice)
            }
        }
    }

    /// The advice get_lock_mode() runs under the read lock. Deviation: MADV_GUARD_INSTALL and
    /// MADV_GUARD_REMOVE take the write lock in the model, because installing sets
    /// VM_MAYBE_GUARD in the VMA, which the kernel does with an atomic bit operation.
    static func takesReadLock(_ advice: Advice) -> Bool {
        switch advice {
        case .remove, .willNeed, .cold, .pageOut, .populateRead, .populateWrite, .collapse,
             .dontNeed, .dontNeedLocked, .free:
            return true
        default:
            return false
        }
    }

    /// madvise_behavior_valid().
    static func isValidAdvice(_ advice: Advice) -> Bool {
        switch advice {
        case .doFork, .dontFork, .normal, .sequential, .random, .remove, .willNeed, .dontNeed,
             .dontNeedLocked, .free, .cold, .pageOut, .populateRead, .populateWrite,
             .mergeable, .unmergeable, .hugePage, .noHugePage, .collapse, .dontDump, .doDump,
             .wipeOnFork, .keepOnFork, .guardInstall, .guardRemove, .softOffline, .hwPoison:
            return true
        default:
            return false
        }
    }

    /// madvise_walk_vmas(): visit each VMA part in `[start, end)`; a gap is remembered as
    /// ENOMEM and reported after the rest of the range was handled.
    private func madviseWalkVMAs(start rangeStart: UInt64, end: UInt64, advice: Advice) throws(Errno) {
        var start = rangeStart
        var unmappedError: Errno?
        var index = tree.firstIndex(endAbove: start)
        while true {
            guard index < tree.count else { throw Errno.ENOMEM }
            if start < tree[index].start {
                unmappedError = Errno.ENOMEM
                start = tree[index].start
                if start >= end { break }
            }
            let partEnd = min(tree[index].end, end)
            index = try madviseVMABehavior(at: index, start: start, end: partEnd, advice: advice)
            start = partEnd
            if start >= end { break }
            index = tree.firstIndex(endAbove: start)
        }
        if let unmappedError { throw unmappedError }
    }

    /// madvise_vma_behavior(): one VMA part. Returns the index of the VMA covering it.
    private func madviseVMABehavior(at index: Int, start: UInt64, end: UInt64, advice: Advice) throws(Errno) -> Int {
        let vma = tree[index]
        if !Self.canMadviseModify(vma, advice) { throw Errno.EPERM }
        switch advice {
        case .remove, .willNeed, .cold, .pageOut, .free, .dontNeed, .dontNeedLocked,
             .populateRead, .populateWrite:
            try madvisePageLevel(vma, start: start, end: end, advice: advice)
            return index
        case .collapse:
            try madviseCollapse(vma, start: start, end: end)
            return index
        case .guardInstall, .guardRemove:
            // is_valid_guard_vma(): not on VM_SPECIAL or VM_HUGETLB VMAs, nor installing on
            // VM_LOCKED ones; installing marks the VMA VM_MAYBE_GUARD (the markers
            // themselves live in the page tables).
            var disallowed = VMFlags.special.union(.hugeTLB)
            if advice == .guardInstall { disallowed.insert(.locked) }
            if !vma.flags.isDisjoint(with: disallowed) { throw Errno.EINVAL }
            if advice == .guardInstall && !vma.flags.contains(.maybeGuard) {
                tree[index].flags.insert(.maybeGuard)
            }
            try pageOps.advise(advice, tree[index], start: start, end: end)
            return index
        default:
            break
        }

        var newFlags = vma.flags
        switch advice {
        case .normal: newFlags.subtract([.randRead, .seqRead])
        case .sequential: newFlags.remove(.randRead); newFlags.insert(.seqRead)
        case .random: newFlags.remove(.seqRead); newFlags.insert(.randRead)
        case .dontFork: newFlags.insert(.dontCopy)
        case .doFork:
            if newFlags.contains(.io) { throw Errno.EINVAL }
            newFlags.remove(.dontCopy)
        case .wipeOnFork:
            // Only anonymous private memory can be wiped on fork.
            if vma.file != nil || newFlags.contains(.shared) { throw Errno.EINVAL }
            newFlags.insert(.wipeOnFork)
        case .keepOnFork:
            if newFlags.contains(.droppable) { throw Errno.EINVAL }
            newFlags.remove(.wipeOnFork)
        case .dontDump: newFlags.insert(.dontDump)
        case .doDump:
            if (!vma.flags.contains(.hugeTLB) && !newFlags.isDisjoint(with: .special))
                || newFlags.contains(.droppable) { throw Errno.EINVAL }
            newFlags.remove(.dontDump)
        case .mergeable:
            // ksm_madvise(): not for special, huge, shared or already mergeable VMAs
            // (those are left unchanged without error).
            if newFlags.contains(.mergeable) || !newFlags.isDisjoint(with: Self.ksmIneligible) { break }
            newFlags.insert(.mergeable)
            setFlags(.vmMergeable)
        case .unmergeable:
            // The kernel unmerges KSM pages first; the model has none yet.
            newFlags.remove(.mergeable)
        case .hugePage:
            // hugepage_madvise(); registering with khugepaged sets MMF_VM_HUGEPAGE.
            newFlags.remove(.noHugePage)
            newFlags.insert(.hugePage)
            if vma.flags.isDisjoint(with: .noKhugepaged) { setFlags(.vmHugePage) }
        case .noHugePage:
            newFlags.remove(.hugePage)
            newFlags.insert(.noHugePage)
        default:
            throw Errno.EINVAL
        }
        // madvise_update_vma(): nothing to do if the flags do not change.
        if newFlags == vma.flags { return index }
        do {
            return try modifyFlags(at: index, start: start, end: end, newFlags: newFlags)
        } catch {
            // madvise() returns EAGAIN where the kernel ran out of memory on the way.
            throw error == Errno.ENOMEM ? Errno.EAGAIN : error
        }
    }

    /// vma_ksm_compatible(): the flags that make a VMA ineligible for KSM.
    static let ksmIneligible: VMFlags = [
        .shared, .mayShare, .pfnMap, .io, .dontExpand, .hugeTLB, .mixedMap, .droppable,
    ]

    /// The VMA-level checks of the page-level advice, then the page-table hook.
    private func madvisePageLevel(_ vma: VMA, start: UInt64, end: UInt64, advice: Advice) throws(Errno) {
        switch advice {
        case .dontNeed, .dontNeedLocked, .free:
            // madvise_dontneed_free_valid_vma(): not on VM_PFNMAP, nor on VM_LOCKED
            // except for MADV_DONTNEED_LOCKED.
            var forbidden: VMFlags = .pfnMap
            if advice != .dontNeedLocked { forbidden.insert(.locked) }
            if !vma.flags.isDisjoint(with: forbidden) { throw Errno.EINVAL }
            // madvise_free_single_vma(): MADV_FREE works only on anonymous VMAs.
            if advice == .free && !vma.isAnonymous { throw Errno.EINVAL }
        case .cold, .pageOut:
            // can_madv_lru_vma().
            if !vma.flags.isDisjoint(with: [.locked, .pfnMap, .hugeTLB]) { throw Errno.EINVAL }
            // A shared file mapping this process may not write to is left alone
            // (can_do_file_pageout()).
            if advice == .pageOut, let file = vma.file, vma.flags.contains(.mayShare),
               !file.file.mode.contains(.write) {
                return
            }
        case .remove:
            // madvise_remove(): only file mappings that are shared and may be written
            // (vma_is_shared_maywrite()), not VM_LOCKED.
            if vma.flags.contains(.locked) { throw Errno.EINVAL }
            guard vma.file != nil else { throw Errno.EINVAL }
            if vma.flags.intersection([.shared, .mayWrite]) != [.shared, .mayWrite] { throw Errno.EACCES }
        case .populateRead, .populateWrite:
            // madvise_populate(): VM_PFNMAP/VM_IO cannot be populated (EINVAL); an access the
            // VMA does not allow is the SIGSEGV case, EFAULT.
            if !vma.flags.isDisjoint(with: [.pfnMap, .io]) { throw Errno.EINVAL }
            let needed: VMFlags = advice == .populateWrite ? .write : .read
            if !vma.flags.contains(needed) { throw Errno.EFAULT }
        default:
            break
        }
        try pageOps.advise(advice, vma, start: start, end: end)
    }

    /// Linux: `madvise_collapse()`: the VMA must allow PMD-sized THPs (thp_vma_allowable_order()
    /// with TVA_FORCED_COLLAPSE: anonymous or shmem-backed, not VM_NOHUGEPAGE, not
    /// special or hugetlb, not disabled for the whole mm); the PMD-aligned part of the range
    /// is then collapsed by the page-table layer.
    private func madviseCollapse(_ vma: VMA, start: UInt64, end: UInt64) throws(Errno) {
        if vma.flags.contains(.noHugePage) || !vma.flags.isDisjoint(with: .noKhugepaged)
            || flags.contains(.disableTHPCompletely) {
            throw Errno.EINVAL
        }
        // File THPs need CONFIG_READ_ONLY_THP_FOR_FS (not modelled) unless shmem-backed.
        if let file = vma.file, !(file.file is SharedAnonymousFile) { throw Errno.EINVAL }
        let hstart = (start + UserVM.pmdSize - 1) & ~(UserVM.pmdSize - 1)
        let hend = end & ~(UserVM.pmdSize - 1)
        // The VMA must hold a whole aligned PMD for any order to be suitable.
        let vmaHstart = (vma.start + UserVM.pmdSize - 1) & ~(UserVM.pmdSize - 1)
        if vmaHstart + UserVM.pmdSize > vma.end { throw Errno.EINVAL }
        // A range inside one PMD leaves hend below hstart: the kernel's count of collapsed
        // THPs (0) then differs from (hend - hstart) >> HPAGE_PMD_SHIFT and it reports the
        // initial SCAN_FAIL as EINVAL; an empty aligned range is a success.
        if hstart > hend { throw Errno.EINVAL }
        guard hstart < hend else { return }
        try pageOps.collapse(vma, start: hstart, end: hend)
    }
}
