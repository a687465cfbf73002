// mprotect(): changing the protection of mappings. Mirrors do_mprotect_pkey() and
// mprotect_fixup() of mm/mprotect.c (Linux v6.19, x86-64 without protection keys).

extension MM {
    /// Linux: `mprotect()` (`do_mprotect_pkey()` with pkey -1): set the access flags of
    /// `[addr, addr + PAGE_ALIGN(length))` to `prot`, splitting VMAs at the ends of the range
    /// and merging with compatible neighbours.
    ///
    /// Errors as in the kernel: EINVAL for an unaligned address, both PROT_GROWSDOWN and
    /// PROT_GROWSUP, unknown bits, or PROT_GROWSDOWN on a VMA without VM_GROWSDOWN;
    /// ENOMEM when the range is not fully mapped (or wraps); EACCES when `prot` asks for an
    /// access the VMA's VM_MAY* flags do not allow (a read-only file mapped shared cannot
    /// become writable). As in the kernel, VMAs before the failing one keep their change.
    public func mprotect(addr: UInt64, length: UInt64, prot protIn: Prot) throws(Errno) {
        var start = addr
        let grows = protIn.intersection([.growsDown, .growsUp])
        let prot = protIn.subtracting([.growsDown, .growsUp])
        if grows == [.growsDown, .growsUp] { throw Errno.EINVAL }
        if UserVM.isUnaligned(start) { throw Errno.EINVAL }
        if length == 0 { return }
        let len = UserVM.pageAlign(length)
        let (end, overflow) = start.addingReportingOverflow(len)
        if overflow || len == 0 || end <= start { throw Errno.ENOMEM }
        // arch_validate_prot(): only PROT_READ, PROT_WRITE, PROT_EXEC and PROT_SEM.
        if !prot.subtracting([.read, .write, .exec, .sem]).isEmpty { throw Errno.EINVAL }

        // Ranges of private VM_LOCKED VMAs made writable, populated to break COW.
        var populate: [Range<UInt64>] = []
        // Deliberate difference: the kernel populates them inside mprotect_fixup(), with
        // the lock still held for write; the model does it after, under the read lock, as
        // __mm_populate() does for mmap and mlock. A fault that must wait for a migration
        // cannot then hold a write lock that the migration's rmap walk waits for (the
        // kernel's walk takes the anon_vma lock, the model's the mmap_lock).
        defer {
            if !populate.isEmpty {
                mmapLock.withReadLock { for range in populate { pageOps.populate(start: range.lowerBound, end: range.upperBound) } }
            }
        }
        try mmapLock.withWriteLock { () throws(Errno) in
            let range = tree.indices(intersecting: start, end)
            guard !range.isEmpty else { throw Errno.ENOMEM }
            var index = range.lowerBound
            if grows.contains(.growsDown) {
                if tree[index].start >= end { throw Errno.ENOMEM }
                start = tree[index].start
                if !tree[index].flags.contains(.growsDown) { throw Errno.EINVAL }
            } else if tree[index].start > start {
                throw Errno.ENOMEM
            }

            var cursor = max(start, tree[index].start)
            while index < tree.count, tree[index].start < end {
                let vma = tree[index]
                // A hole in the range.
                if vma.start != cursor && vma.start > cursor { throw Errno.ENOMEM }
                var newFlags = VMFlags(prot: prot)
                newFlags.formUnion(vma.flags.subtracting(.accessFlags))
                // newflags >> 4 puts VM_MAY* in place of VM_*: asking beyond them is EACCES.
                let mayAsAccess = VMFlags(rawValue: newFlags.rawValue >> 4)
                if !newFlags.subtracting(mayAsAccess).intersection(.accessFlags).isEmpty {
                    throw Errno.EACCES
                }
                if mapDenyWriteExec(old: vma.flags, new: newFlags) { throw Errno.EACCES }
                let rangeEnd = min(vma.end, end)
                index = try mprotectFixup(at: index, start: cursor, end: rangeEnd, newFlags: newFlags, populate: &populate)
                cursor = tree[index].end
                if cursor >= end { break }
                index += 1
            }
            if cursor < end { throw Errno.ENOMEM }
        }
    }

    /// Linux: `mprotect_fixup()`: apply `newFlags` to `[start, end)` of the VMA at `index`
    /// (splitting or merging through vma_modify_flags()), fix the commit accounting and
    /// rewrite the PTEs. Returns the index of the VMA covering the range afterwards; a
    /// range to populate once the lock is dropped is added to `populate`. Caller holds
    /// the mmap_lock for write.
    func mprotectFixup(at index: Int, start: UInt64, end: UInt64, newFlags flagsIn: VMFlags,
                       populate: inout [Range<UInt64>]) throws(Errno) -> Int {
        let vma = tree[index]
        let oldFlags = vma.flags
        if vma.flags.contains(.sealed) { throw Errno.EPERM }
        var newFlags = flagsIn
        if newFlags == oldFlags { return index }
        // A private mapping made writable starts being charged to the commit; an
        // unfaulted anonymous one made read-only stops being charged.
        if newFlags.contains(.write) {
            if oldFlags.isDisjoint(with: [.account, .write, .hugeTLB, .shared, .noReserve]) {
                newFlags.insert(.account)
            }
        } else if oldFlags.contains(.account) && vma.isAnonymous && vma.anonVMA == nil {
            newFlags.remove(.account)
        }
        let modified = try modifyFlags(at: index, start: start, end: end, newFlags: newFlags)
        let result = tree[modified]
        pageOps.changeProtection(result, start: start, end: end)
        // A private VM_LOCKED VMA becoming writable is populated to break COW up front.
        if oldFlags.intersection([.write, .shared, .locked]) == .locked && newFlags.contains(.write) {
            populate.append(start..<end)
        }
        return modified
    }
}
