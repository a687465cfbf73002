// Growing a stack VMA down to a faulting address. Mirrors expand_stack(),
// expand_downwards() and acct_stack_growth() of mm/mmap.c (Linux v6.19, x86-64: stacks
// grow down).

extension MM {
    /// Linux: `expand_stack()`: the VMA to use for a fault at `addr`: the one containing it,
    /// or a VM_GROWSDOWN VMA above it grown down to the page of `addr`. Nil (SIGSEGV) when
    /// there is none or it may not grow. Takes the mmap_lock for write, as the kernel
    /// upgrades to it (lock_mm_and_find_vma()).
    public func expandStack(_ addr: UInt64) -> VMA? {
        mmapLock.withWriteLock { lockedExpandStack(addr) }
    }

    /// expand_stack() for a caller that holds the mmap_lock for write.
    public func lockedExpandStack(_ addr: UInt64) -> VMA? {
        let page = addr & ~(UserVM.pageSize - 1)
        let index = tree.firstIndex(endAbove: page)
        guard index < tree.count else { return nil }
        if tree[index].start <= page { return tree[index] }
        guard (try? expandDownwards(at: index, to: page)) != nil else { return nil }
        return tree[index]
    }

    /// Linux: `expand_downwards()`: grow the VM_GROWSDOWN VMA at `index` so that it starts
    /// at the page `address`. EFAULT if it does not grow down, EPERM below mmap_min_addr,
    /// ENOMEM inside the stack guard gap of an accessible VMA below, beyond RLIMIT_STACK,
    /// beyond RLIMIT_MEMLOCK for a locked stack, or below page offset 0.
    /// Caller holds the mmap_lock for write.
    func expandDownwards(at index: Int, to address: UInt64) throws(Errno) {
        var vma = tree[index]
        if !vma.flags.contains(.growsDown) { throw Errno.EFAULT }
        if address < layout.mmapMinAddr { throw Errno.EPERM }
        // Enforce stack_guard_gap against an accessible VMA below that is not a stack.
        if index > 0 {
            let prev = tree[index - 1]
            if !prev.flags.contains(.growsDown) && !prev.flags.isDisjoint(with: .accessFlags)
                && (address < prev.end || address - prev.end < layout.stackGuardGap) {
                throw Errno.ENOMEM
            }
        }
        guard address < vma.start else { return }
        _ = lockedAnonVMAPrepare(at: vma.start)
        let size = vma.end - address
        let grow = (vma.start - address) >> UserVM.pageShift
        if grow > vma.pgoff { throw Errno.ENOMEM }
        // acct_stack_growth(): RLIMIT_STACK, then the mlock limit for a locked stack.
        if size > layout.stackLimit { throw Errno.ENOMEM }
        if !mlockFutureOK(vma.flags, bytes: grow << UserVM.pageShift) { throw Errno.ENOMEM }
        vma = tree[index]
        vma.start = address
        vma.pgoff -= grow
        vma.writeSeq += 1
        tree[index] = vma
        if vma.flags.contains(.locked) { lockedVMPages += grow }
    }
}
