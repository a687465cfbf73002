// mlock(), mlock2(), munlock(), mlockall(), munlockall(). Mirrors do_mlock(),
// apply_vma_lock_flags(), mlock_fixup(), apply_mlockall_flags(), count_mm_mlocked_page_nr(),
// can_do_mlock() and mlock_future_ok() of mm/mlock.c and mm/mmap.c (Linux v6.19).

/// mlock2() flags (`MLOCK_*`).
public struct MLockFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// MLOCK_ONFAULT: lock pages as they are faulted in, not all at once.
    public static let onFault = MLockFlags(rawValue: 0x01)
}

/// mlockall() flags (`MCL_*`).
public struct MLockAllFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let current = MLockAllFlags(rawValue: 1)  // MCL_CURRENT
    public static let future = MLockAllFlags(rawValue: 2)   // MCL_FUTURE
    public static let onFault = MLockAllFlags(rawValue: 4)  // MCL_ONFAULT
}

extension MM {
    /// can_do_mlock(): a non-zero RLIMIT_MEMLOCK, or CAP_IPC_LOCK.
    var canDoMlock: Bool { layout.memlockLimit.map { $0 != 0 } ?? true }

    /// mlock_future_ok(): whether `bytes` more of VM_LOCKED memory stay within RLIMIT_MEMLOCK.
    func mlockFutureOK(_ flags: VMFlags, bytes: UInt64) -> Bool {
        guard flags.contains(.locked), let limit = layout.memlockLimit else { return true }
        return lockedVMPages + (bytes >> UserVM.pageShift) <= limit >> UserVM.pageShift
    }

    /// Linux: `mlock()`: lock `[addr, addr + length)` (widened to whole pages) and fault it in.
    public func mlock(addr: UInt64, length: UInt64) throws(Errno) {
        try doMlock(addr: addr, length: length, flags: .locked)
    }

    /// Linux: `mlock2()`: as mlock(), or with MLOCK_ONFAULT lock pages only as they fault.
    public func mlock2(addr: UInt64, length: UInt64, flags: MLockFlags) throws(Errno) {
        if !flags.subtracting(.onFault).isEmpty { throw Errno.EINVAL }
        try doMlock(addr: addr, length: length,
                    flags: flags.contains(.onFault) ? [.locked, .lockOnFault] : .locked)
    }

    /// Linux: `munlock()`.
    public func munlock(addr: UInt64, length: UInt64) throws(Errno) {
        let (start, len) = Self.mlockRange(addr: addr, length: length)
        try mmapLock.withWriteLock { () throws(Errno) in
            try applyVMALockFlags(start: start, length: len, flags: [])
        }
    }

    /// Linux: `mlockall()`.
    public func mlockall(flags: MLockAllFlags) throws(Errno) {
        if flags.isEmpty || !flags.subtracting([.current, .future, .onFault]).isEmpty || flags == .onFault {
            throw Errno.EINVAL
        }
        if !canDoMlock { throw Errno.EPERM }
        try mmapLock.withWriteLock { () throws(Errno) in
            let totalVM = tree.vmas.reduce(0) { $0 + $1.pages }
            if flags.contains(.current), let limit = layout.memlockLimit, totalVM > limit >> UserVM.pageShift {
                throw Errno.ENOMEM
            }
            applyMlockallFlags(flags)
        }
        if flags.contains(.current) {
            mmapLock.withReadLock { pageOps.populate(start: 0, end: layout.taskSize) }
        }
    }

    /// Linux: `munlockall()`.
    public func munlockall() {
        mmapLock.withWriteLock { applyMlockallFlags([]) }
    }

    /// do_mlock(): the page-widened range is checked against RLIMIT_MEMLOCK (pages already
    /// locked in it not counted twice), locked, then populated.
    private func doMlock(addr: UInt64, length: UInt64, flags: VMFlags) throws(Errno) {
        if !canDoMlock { throw Errno.EPERM }
        let (start, len) = Self.mlockRange(addr: addr, length: length)
        try mmapLock.withWriteLock { () throws(Errno) in
            var locked = (len >> UserVM.pageShift) + lockedVMPages
            if let limit = layout.memlockLimit, locked > limit >> UserVM.pageShift {
                locked -= min(locked, countMlockedPages(start: start, length: len))
                if locked > limit >> UserVM.pageShift { throw Errno.ENOMEM }
            }
            try applyVMALockFlags(start: start, length: len, flags: flags)
        }
        if !flags.contains(.lockOnFault) {
            mmapLock.withReadLock { pageOps.populate(start: start, end: start &+ len) }
        }
    }

    /// `len = PAGE_ALIGN(len + offset_in_page(start)); start &= PAGE_MASK`.
    private static func mlockRange(addr: UInt64, length: UInt64) -> (UInt64, UInt64) {
        let offset = addr & (UserVM.pageSize - 1)
        return (addr - offset, UserVM.pageAlign(length &+ offset))
    }

    /// count_mm_mlocked_page_nr(): pages of VM_LOCKED VMAs inside the range.
    private func countMlockedPages(start: UInt64, length: UInt64) -> UInt64 {
        let end = start &+ length
        var count: UInt64 = 0
        for index in tree.indices(intersecting: start, end) where tree[index].flags.contains(.locked) {
            let vma = tree[index]
            count += min(vma.end, end) - max(vma.start, start)
        }
        return count >> UserVM.pageShift
    }

    /// apply_vma_lock_flags(): replace VM_LOCKED_MASK with `flags` over the range, which
    /// must be fully mapped (ENOMEM at the first hole, after the VMAs before it changed).
    private func applyVMALockFlags(start: UInt64, length: UInt64, flags: VMFlags) throws(Errno) {
        let (end, overflow) = start.addingReportingOverflow(length)
        if overflow { throw Errno.EINVAL }
        if end == start { return }
        guard let first = tree.index(containing: start) else { throw Errno.ENOMEM }
        var index = first
        var cursor = start
        while index < tree.count, tree[index].start < end {
            // A hole before this VMA (the first VMA may start below `start`).
            if tree[index].start > cursor { throw Errno.ENOMEM }
            let partEnd = min(tree[index].end, end)
            let newFlags = tree[index].flags.subtracting(.lockedMask).union(flags)
            index = try mlockFixup(at: index, start: cursor, end: partEnd, newFlags: newFlags)
            cursor = tree[index].end
            if cursor >= end { break }
            index += 1
        }
        if cursor < end { throw Errno.ENOMEM }
    }

    /// mlock_fixup(): VM_SPECIAL and hugetlb VMAs are silently left alone
    /// (vma_supports_mlock()); otherwise the flags are changed (splitting/merging, ENOMEM at
    /// vm.max_map_count), locked_vm follows and the folios are (un)mlocked.
    private func mlockFixup(at index: Int, start: UInt64, end: UInt64, newFlags: VMFlags) throws(Errno) -> Int {
        let vma = tree[index]
        let oldFlags = vma.flags
        if newFlags == oldFlags || !vma.flags.isDisjoint(with: VMFlags.special.union(.hugeTLB)) { return index }
        let modified = try modifyFlags(at: index, start: start, end: end, newFlags: newFlags)
        let pages = (end - start) >> UserVM.pageShift
        if !newFlags.contains(.locked) {
            lockedVMPages -= min(lockedVMPages, pages)
        } else if !oldFlags.contains(.locked) {
            lockedVMPages += pages
        }
        if !(newFlags.contains(.locked) && oldFlags.contains(.locked)) {
            pageOps.mlockRange(tree[modified], start: start, end: end)
        }
        return modified
    }

    /// apply_mlockall_flags(): set mm->def_flags for MCL_FUTURE and relock every VMA for
    /// MCL_CURRENT (or unlock every VMA for munlockall()).
    private func applyMlockallFlags(_ flags: MLockAllFlags) {
        defFlags.subtract(.lockedMask)
        if flags.contains(.future) {
            defFlags.insert(.locked)
            if flags.contains(.onFault) { defFlags.insert(.lockOnFault) }
            if !flags.contains(.current) { return }
        }
        var toAdd: VMFlags = []
        if flags.contains(.current) {
            toAdd.insert(.locked)
            if flags.contains(.onFault) { toAdd.insert(.lockOnFault) }
        }
        var index = 0
        while index < tree.count {
            let vma = tree[index]
            // Errors are ignored, as the kernel does.
            let modified = (try? mlockFixup(at: index, start: vma.start, end: vma.end,
                                            newFlags: vma.flags.subtracting(.lockedMask).union(toAdd))) ?? index
            index = tree.firstIndex(endAbove: tree[modified].end)
        }
    }
}
