// mmap(): creating mappings. Mirrors do_mmap() of mm/mmap.c and __mmap_region() /
// __mmap_complete() of mm/vma.c (Linux v6.19), entered as ksys_mmap_pgoff() would.

extension MM {
    /// Linux: `mmap()` (`ksys_mmap_pgoff()` -> `vm_mmap_pgoff()` -> `do_mmap()`).
    ///
    /// Maps `length` bytes of anonymous memory (MAP_ANONYMOUS; `file` is ignored as the
    /// kernel ignores the fd) or of `file` from byte `offset`, private (MAP_PRIVATE) or
    /// shared (MAP_SHARED, MAP_SHARED_VALIDATE), at a free address chosen top-down below
    /// mmap_base, at the hint `addr` if it is free, or exactly at `addr` with MAP_FIXED
    /// (replacing what was there) or MAP_FIXED_NOREPLACE (failing with EEXIST if anything
    /// was). Returns the address. Throws the kernel's errno for every bad argument.
    @discardableResult
    public func mmap(
        addr: UInt64 = 0, length: UInt64, prot: Prot, flags: MapFlags,
        file: (any MappedFile)? = nil, offset: UInt64 = 0
    ) throws(Errno) -> UInt64 {
        // The x86-64 sys_mmap(): the offset must be page aligned.
        if UserVM.isUnaligned(offset) { throw Errno.EINVAL }
        let mapped: FileRef?
        if flags.contains(.anonymous) {
            mapped = nil
        } else {
            guard let file else { throw Errno.EBADF }
            mapped = FileRef(file)
        }
        if flags.contains(.hugeTLB) {
            // MAP_HUGETLB on a file that is not on hugetlbfs is EINVAL; anonymous MAP_HUGETLB
            // asks for a hugetlbfs file, and the model has no hugetlb pool, so the
            // reservation fails as on a kernel with no huge pages reserved.
            throw mapped == nil ? Errno.ENOMEM : Errno.EINVAL
        }
        let (start, populate) = try mmapLock.withWriteLock { () throws(Errno) -> (UInt64, Bool) in
            try doMmap(addr: addr, length: length, prot: prot, flags: flags, file: mapped,
                       pgoff: offset >> UserVM.pageShift)
        }
        if populate {
            mmapLock.withReadLock { pageOps.populate(start: start, end: start + UserVM.pageAlign(length)) }
        }
        return start
    }

    /// Linux: `do_mmap()`. Caller holds the mmap_lock for write. Returns the address and
    /// whether the caller must populate the range (MAP_POPULATE or VM_LOCKED).
    func doMmap(
        addr hint: UInt64, length lengthIn: UInt64, prot: Prot, flags flagsIn: MapFlags,
        file: FileRef?, pgoff pgoffIn: UInt64
    ) throws(Errno) -> (UInt64, Bool) {
        var flags = flagsIn
        var pgoff = pgoffIn
        if lengthIn == 0 { throw Errno.EINVAL }
        // MAP_FIXED_NOREPLACE implies MAP_FIXED.
        if flags.contains(.fixedNoReplace) { flags.insert(.fixed) }
        var addr = hint
        // round_hint_to_min(): a hint below mmap_min_addr is raised to it.
        if !flags.contains(.fixed), addr != 0, addr < layout.mmapMinAddr {
            addr = UserVM.pageAlign(layout.mmapMinAddr)
        }
        let length = UserVM.pageAlign(lengthIn)
        if length == 0 { throw Errno.ENOMEM }
        // Offset overflow.
        if pgoff &+ (length >> UserVM.pageShift) < pgoff { throw Errno.EOVERFLOW }
        // Too many mappings.
        if tree.count > layout.maxMapCount { throw Errno.ENOMEM }

        var vmFlags = VMFlags(prot: prot)
        addr = try getUnmappedArea(file: file, addr: addr, length: length, flags: flags, vmFlags: vmFlags)
        if flags.contains(.fixedNoReplace), lockedFindVMAIntersection(addr, addr + length) != nil {
            throw Errno.EEXIST
        }
        vmFlags.formUnion(VMFlags(mapFlags: flags))
        vmFlags.formUnion(defFlags)
        vmFlags.formUnion([.mayRead, .mayWrite, .mayExec])
        if flags.contains(.locked) && !canDoMlock { throw Errno.EPERM }
        if !mlockFutureOK(vmFlags, bytes: length) { throw Errno.EAGAIN }

        if let file {
            let mode = file.file.mode
            // file_mmap_ok(): the mapped range must fit below MAX_LFS_FILESIZE.
            let maxSize = UInt64(Int64.max)
            if length > maxSize || pgoff > (maxSize - length) >> UserVM.pageShift { throw Errno.EOVERFLOW }
            var type = flags.type
            if type == .shared {
                // Plain MAP_SHARED ignores unknown flags; MAP_SHARED_VALIDATE rejects them.
                flags.formIntersection(.legacyMask)
                type = .sharedValidate
            }
            switch type {
            case .sharedValidate:
                let allowed = MapFlags.legacyMask.union(file.file.mmapSupportedFlags)
                if !flags.subtracting(allowed).isEmpty { throw Errno.EOPNOTSUPP }
                if prot.contains(.write) && !mode.contains(.write) { throw Errno.EACCES }
                vmFlags.formUnion([.shared, .mayShare])
                if !mode.contains(.write) { vmFlags.subtract([.mayWrite, .shared]) }
                fallthrough
            case .private:
                if !mode.contains(.read) { throw Errno.EACCES }
                if vmFlags.contains(.growsDown) { throw Errno.EINVAL }
            default:
                throw Errno.EINVAL
            }
        } else {
            switch flags.type {
            case .shared:
                if vmFlags.contains(.growsDown) { throw Errno.EINVAL }
                // Ignore pgoff.
                pgoff = 0
                vmFlags.formUnion([.shared, .mayShare])
            case .droppable:
                // A locked or stack area makes no sense to be droppable.
                if flags.contains(.locked) || vmFlags.contains(.growsDown) { throw Errno.EINVAL }
                // Droppable pages are not reserved, and survive neither fork nor coredump.
                vmFlags.formUnion([.droppable, .noReserve, .wipeOnFork, .dontDump])
                pgoff = addr >> UserVM.pageShift
            case .private:
                pgoff = addr >> UserVM.pageShift
            default:
                throw Errno.EINVAL
            }
        }
        // MAP_NORESERVE (vm.overcommit_memory is heuristic, not "never").
        if flags.contains(.noReserve) { vmFlags.insert(.noReserve) }

        let start = try mmapRegion(file: file, addr: addr, length: length, vmFlags: vmFlags, pgoff: pgoff)
        let populate = vmFlags.contains(.locked)
            || flags.intersection([.populate, .nonBlock]) == .populate
        return (start, populate)
    }

    /// Linux: `mmap_region()` / `__mmap_region()`: unmap what MAP_FIXED covers, account,
    /// merge with a neighbour or link a new VMA, and complete (`__mmap_complete()`).
    /// Caller holds the mmap_lock for write.
    func mmapRegion(file: FileRef?, addr: UInt64, length: UInt64, vmFlags flagsIn: VMFlags, pgoff: UInt64) throws(Errno) -> UInt64 {
        var vmFlags = flagsIn
        let end = addr + length
        if mapDenyWriteExec(old: vmFlags, new: vmFlags) { throw Errno.EACCES }
        // f_op->mmap_prepare(): the file may add flags (a device sets VM_PFNMAP, VM_IO,
        // VM_DONTEXPAND...) or refuse, before anything already mapped there is touched.
        if let file { try file.file.mmapPrepare(flags: &vmFlags, pgoff: pgoff, length: length) }
        // Unmap any existing mapping in the area (MAP_FIXED).
        if !tree.indices(intersecting: addr, end).isEmpty {
            try doVMIMunmap(start: addr, end: end)
        }
        // accountable_mapping(): private writable memory is charged to the commit.
        if vmFlags.intersection([.noReserve, .shared, .write]) == .write { vmFlags.insert(.account) }

        // The merge is attempted before a shared anonymous mapping gets its shmem file (as
        // in the kernel), and cannot succeed for one: every existing shared anonymous VMA
        // has its own file, and private ones lack VM_SHARED.
        var request = VMAMergeRequest(start: addr, end: end, pgoff: pgoff, flags: vmFlags, file: file)
        var index = mergeNewRange(&request)
        if index == nil {
            // shmem_zero_setup(): a shared anonymous mapping is backed by its own shmem file.
            let backing = file ?? (vmFlags.contains(.shared) ? FileRef(SharedAnonymousFile(size: length)) : nil)
            index = lockedLinkVMA(start: addr, end: end, pgoff: pgoff, flags: vmFlags, file: backing)
        }
        guard let index else { return addr }
        // __mmap_complete(): new or expanded VMAs are soft-dirty; VM_LOCKED is dropped from
        // special mappings and otherwise counted in locked_vm.
        tree[index].flags.insert(.softDirty)
        if vmFlags.contains(.locked) {
            if !vmFlags.isDisjoint(with: .special) || vmFlags.contains(.hugeTLB) {
                tree[index].flags.subtract(.lockedMask)
            } else {
                lockedVMPages += length >> UserVM.pageShift
            }
        }
        return addr
    }

    /// Linux: `map_deny_write_exec()` (include/linux/mman.h): with memory-deny-write-execute
    /// (MMF_HAS_MDWE, prctl(PR_SET_MDWE)) a VMA may not become writable and executable, nor
    /// executable if it was not.
    func mapDenyWriteExec(old: VMFlags, new: VMFlags) -> Bool {
        guard flags.contains(.hasMDWE), new.contains(.exec) else { return false }
        return new.contains(.write) || !old.contains(.exec)
    }
}
