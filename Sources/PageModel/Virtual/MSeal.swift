// mseal(): sealing mappings against change. Mirrors do_mseal() and mseal_apply() of
// mm/mseal.c, and the can_modify_vma()/can_madvise_modify() checks of mm/vma.h and
// mm/madvise.c (Linux v6.19, 64-bit).

extension MM {
    /// Linux: `mseal()`: seal `[addr, addr + PAGE_ALIGN(length))` (VM_SEALED), after which
    /// munmap(), mremap(), mprotect(), MAP_FIXED over it and discarding madvise() on
    /// read-only anonymous memory fail with EPERM, for the life of the mm.
    ///
    /// Errors: EINVAL for non-zero `flags`, an unaligned address or a wrapping range;
    /// ENOMEM if any part of the range is unmapped (nothing is sealed then).
    public func mseal(addr: UInt64, length: UInt64, flags: UInt64 = 0) throws(Errno) {
        if flags != 0 { throw Errno.EINVAL }
        guard let end = try UserVM.checkedEnd(addr: addr, length: length) else { return }
        try mmapLock.withWriteLock { () throws(Errno) in
            // range_contains_unmapped(): the first pass changes nothing.
            var cursor = addr
            for index in tree.indices(intersecting: addr, end) {
                if tree[index].start > cursor { throw Errno.ENOMEM }
                cursor = tree[index].end
            }
            if cursor < end { throw Errno.ENOMEM }
            // mseal_apply().
            var start = addr
            while start < end {
                guard let index = tree.index(containing: start) else { throw Errno.ENOMEM }
                let vma = tree[index]
                let partEnd = min(vma.end, end)
                if !vma.flags.contains(.sealed) {
                    _ = try modifyFlags(at: index, start: start, end: partEnd, newFlags: vma.flags.union(.sealed))
                }
                start = partEnd
            }
        }
    }

    /// is_discard(): the madvise() behaviours that throw data away.
    static func isDiscard(_ advice: Advice) -> Bool {
        switch advice {
        case .free, .dontNeed, .dontNeedLocked, .remove, .dontFork, .wipeOnFork, .guardInstall: return true
        default: return false
        }
    }

    /// can_madvise_modify(): on a sealed VMA only discarding advice on read-only anonymous
    /// private memory is refused (the user could not have written zeroes there).
    static func canMadviseModify(_ vma: VMA, _ advice: Advice) -> Bool {
        if !vma.flags.contains(.sealed) || !isDiscard(advice) { return true }
        if vma.file != nil || vma.flags.contains(.shared) { return true }
        return vma.flags.contains(.write)
    }
}
