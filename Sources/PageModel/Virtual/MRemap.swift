// mremap(): growing, shrinking and moving mappings. Mirrors mm/mremap.c (Linux v6.19):
// check_mremap_params(), check_prep_vma(), mremap_at(), mremap_to(), remap_move(),
// expand_vma(), vrm_can_expand_in_place(), vrm_set_new_addr(), move_vma(),
// copy_vma_and_data(), dontunmap_complete(), unmap_source_vma(), and copy_vma() of mm/vma.c.

/// struct vma_remap_struct: one mremap() request as it is worked on.
struct RemapRequest {
    enum Kind { case noResize, shrink, expand }

    var addr: UInt64
    var oldLength: UInt64
    var newLength: UInt64
    var flags: MRemapFlags
    var newAddr: UInt64
    /// A VM_LOCKED VMA grows: the new part is populated after the lock is dropped.
    var populateExpand = false

    /// vrm_implies_new_addr(): MREMAP_FIXED or MREMAP_DONTUNMAP.
    var impliesNewAddr: Bool { !flags.isDisjoint(with: [.fixed, .dontUnmap]) }
    /// vrm_remap_type().
    var kind: Kind { oldLength == newLength ? .noResize : oldLength > newLength ? .shrink : .expand }
    /// vrm_will_map_new().
    var willMapNew: Bool { kind == .expand || impliesNewAddr }
    /// vrm->delta.
    var delta: UInt64 { oldLength > newLength ? oldLength - newLength : newLength - oldLength }
}

extension MM {
    /// Linux: `mremap()`: resize the mapping at `oldAddr` from `oldLength` to `newLength`
    /// bytes, in place if it can (shrinking always can; growing needs free room after it),
    /// else moving it when MREMAP_MAYMOVE allows; with MREMAP_FIXED to exactly `newAddr`
    /// (unmapping what was there), with MREMAP_DONTUNMAP leaving the old range mapped but
    /// empty. MREMAP_FIXED without a size change may move several VMAs at once, keeping
    /// the gaps between them. Returns the mapping's new address.
    @discardableResult
    public func mremap(
        oldAddr: UInt64, oldLength: UInt64, newLength: UInt64, flags: MRemapFlags, newAddr: UInt64 = 0
    ) throws(Errno) -> UInt64 {
        var request = RemapRequest(
            addr: oldAddr, oldLength: UInt64.max, newLength: UInt64.max, flags: flags, newAddr: newAddr)
        if !flags.subtracting([.fixed, .mayMove, .dontUnmap]).isEmpty { throw Errno.EINVAL }
        if UserVM.isUnaligned(oldAddr) { throw Errno.EINVAL }
        request.oldLength = UserVM.pageAlign(oldLength)
        request.newLength = UserVM.pageAlign(newLength)
        try checkRemapParameters(request)

        let (result, populate) = try mmapLock.withWriteLock { () throws(Errno) -> (UInt64, Range<UInt64>?) in
            if request.flags.contains(.fixed) && request.oldLength == request.newLength {
                return (try remapMove(&request), nil)
            }
            try checkPrepVMA(&request)
            let address = request.impliesNewAddr ? try mremapTo(&request) : try mremapAt(&request)
            let grown = request.populateExpand && request.kind == .expand
                ? (address + request.oldLength)..<(address + request.newLength) : nil
            return (address, grown)
        }
        if let populate {
            mmapLock.withReadLock { pageOps.populate(start: populate.lowerBound, end: populate.upperBound) }
        }
        return result
    }

    /// check_mremap_params(): the checks that need no VMA.
    private func checkRemapParameters(_ request: RemapRequest) throws(Errno) {
        // A zero old length is the "duplicate a shared mapping" special case; a zero new
        // length is nonsense.
        if request.newLength == 0 { throw Errno.EINVAL }
        if request.newLength > layout.taskSize { throw Errno.EINVAL }
        guard request.impliesNewAddr else { return }
        if request.newAddr > layout.taskSize - request.newLength { throw Errno.EINVAL }
        if UserVM.isUnaligned(request.newAddr) { throw Errno.EINVAL }
        // A fixed address implies a move.
        if !request.flags.contains(.mayMove) { throw Errno.EINVAL }
        // MREMAP_DONTUNMAP does not allow resizing.
        if request.flags.contains(.dontUnmap) && request.oldLength != request.newLength { throw Errno.EINVAL }
        // The target must not overlap the source.
        if request.newAddr < request.addr &+ request.oldLength && request.addr < request.newAddr + request.newLength {
            throw Errno.EINVAL
        }
        // move_vma() needs to stay 4 maps below the limit.
        if tree.count + 2 >= layout.maxMapCount - 3 { throw Errno.ENOMEM }
    }

    /// check_prep_vma(): the checks on the source VMA.
    private func checkPrepVMA(_ request: inout RemapRequest) throws(Errno) {
        guard let index = tree.index(containing: request.addr) else { throw Errno.EFAULT }
        let vma = tree[index]
        if vma.flags.contains(.sealed) { throw Errno.EPERM }
        if !request.impliesNewAddr { request.newAddr = request.addr }
        guard request.willMapNew else { return }
        if request.oldLength == 0 && vma.flags.isDisjoint(with: [.shared, .mayShare]) { throw Errno.EINVAL }
        if request.flags.contains(.dontUnmap) && !vma.flags.isDisjoint(with: [.dontExpand, .pfnMap]) {
            throw Errno.EINVAL
        }
        // We can't remap across VMA boundaries.
        if request.oldLength > vma.end - request.addr { throw Errno.EFAULT }
        if request.newLength == request.oldLength { return }
        if vma.flags.contains(.locked) { request.populateExpand = true }
        let pgoff = vma.pageOffset(of: request.addr)
        if pgoff &+ (request.newLength >> UserVM.pageShift) < pgoff { throw Errno.EINVAL }
        if !vma.flags.isDisjoint(with: [.dontExpand, .pfnMap]) { throw Errno.EFAULT }
        if !mlockFutureOK(vma.flags, bytes: request.delta) { throw Errno.EAGAIN }
    }

    /// mremap_at(): no new address requested: nothing, shrink, or expand.
    private func mremapAt(_ request: inout RemapRequest) throws(Errno) -> UInt64 {
        switch request.kind {
        case .noResize:
            return request.addr
        case .shrink:
            // shrink_vma(): can always be done in place.
            try doMunmap(start: request.addr + request.newLength, length: request.delta)
            return request.addr
        case .expand:
            guard let index = tree.index(containing: request.addr) else { throw Errno.EFAULT }
            if canExpandInPlace(index, request) {
                try expandInPlace(index, request)
                return request.addr
            }
            // We weren't able to expand in place and are not allowed to move.
            if !request.flags.contains(.mayMove) { throw Errno.ENOMEM }
            try setNewAddress(&request)
            return try moveVMA(&request)
        }
    }

    /// vrm_can_expand_in_place() with vma_expandable(): the range ends at the VMA's end and
    /// the room after it is free and inside user space.
    private func canExpandInPlace(_ index: Int, _ request: RemapRequest) -> Bool {
        let vma = tree[index]
        guard vma.end - request.addr == request.oldLength else { return false }
        let (end, overflow) = vma.end.addingReportingOverflow(request.delta)
        if overflow { return false }
        if lockedFindVMAIntersection(vma.end, end) != nil { return false }
        return end <= layout.taskSize && vma.start >= layout.mmapMinAddr
    }

    /// expand_vma_in_place(): grow the VMA through vma_merge_extend() (which also merges a
    /// compatible next VMA that the growth reaches).
    private func expandInPlace(_ index: Int, _ request: RemapRequest) throws(Errno) {
        let vma = tree[index]
        guard mergeExtend(at: index, delta: request.delta) != nil else { throw Errno.ENOMEM }
        if vma.flags.contains(.locked) { lockedVMPages += request.delta >> UserVM.pageShift }
    }

    /// mremap_to(): a new address is given (MREMAP_FIXED) or implied (MREMAP_DONTUNMAP).
    private func mremapTo(_ request: inout RemapRequest) throws(Errno) -> UInt64 {
        if request.flags.contains(.fixed) {
            // The destination is unmapped first.
            try doMunmap(start: request.newAddr, length: request.newLength)
            // Remapping part of a VMA into itself may have changed the source.
            guard tree.index(containing: request.addr) != nil else { throw Errno.EFAULT }
        }
        if request.kind == .shrink {
            try doMunmap(start: request.addr + request.newLength, length: request.delta)
            // Set up for the move now the shrink is done.
            request.oldLength = request.newLength
        }
        try setNewAddress(&request)
        return try moveVMA(&request)
    }

    /// vrm_set_new_addr(): get_unmapped_area() for the destination.
    private func setNewAddress(_ request: inout RemapRequest) throws(Errno) {
        guard let index = tree.index(containing: request.addr) else { throw Errno.EFAULT }
        let vma = tree[index]
        var mapFlags: MapFlags = []
        if request.flags.contains(.fixed) { mapFlags.insert(.fixed) }
        if vma.flags.contains(.mayShare) { mapFlags.insert(.shared) }
        let hint = request.impliesNewAddr ? request.newAddr : 0
        request.newAddr = try getUnmappedArea(
            file: vma.file, addr: hint, length: request.newLength, flags: mapFlags, vmFlags: vma.flags)
    }

    /// move_vma(): copy the VMA to the new address (merging there if it can), move the
    /// page tables, then unmap the source, or with MREMAP_DONTUNMAP leave it empty.
    private func moveVMA(_ request: inout RemapRequest) throws(Errno) -> UInt64 {
        // prep_move_vma(): leave room for do_munmap() to split one VMA into three.
        if tree.count >= layout.maxMapCount - 3 { throw Errno.ENOMEM }
        guard let sourceIndex = tree.index(containing: request.addr) else { throw Errno.EFAULT }
        let source = tree[sourceIndex]
        let newEnd = request.newAddr + request.newLength

        let newIndex = copyVMA(
            at: sourceIndex, to: request.newAddr, length: request.newLength,
            pgoff: source.pageOffset(of: request.addr))
        let newVMA = tree[newIndex]
        // The source may have been merged into the new VMA (an unfaulted anonymous VMA).
        guard let currentSource = tree.index(containing: request.addr).map({ tree[$0] }) ?? (request.oldLength == 0 ? source : nil)
        else { throw Errno.EFAULT }

        let moved = pageOps.movePageTables(
            from: currentSource, oldAddr: request.addr, to: newVMA, newAddr: request.newAddr,
            length: request.oldLength)
        if moved < request.oldLength {
            // Move back what was moved and drop the new mapping, as copy_vma_and_data()
            // does on failure.
            _ = pageOps.movePageTables(
                from: newVMA, oldAddr: request.newAddr, to: currentSource, newAddr: request.addr,
                length: moved)
            try? doVMIMunmap(start: request.newAddr, end: newEnd)
            throw Errno.ENOMEM
        }
        // vrm_stat_account().
        if source.flags.contains(.locked) { lockedVMPages += request.newLength >> UserVM.pageShift }

        if request.flags.contains(.dontUnmap) {
            // dontunmap_complete(): the old VMA loses VM_LOCKED(ONFAULT), and its anon_vma
            // links when it was moved whole.
            if let oldIndex = tree.index(containing: request.addr) {
                let old = tree[oldIndex]
                tree[oldIndex].flags.subtract(.lockedMask)
                if old.id != newVMA.id && old.start == request.addr
                    && old.end == request.addr + request.oldLength {
                    tree[oldIndex].anonVMA = nil
                    tree[oldIndex].anonVMAChainLength = 1
                }
            }
        } else if request.oldLength > 0 {
            // unmap_source_vma(): an OOM while splitting only leaves the accounting off.
            try? doVMIMunmap(start: request.addr, end: request.addr + request.oldLength)
        }
        return request.newAddr
    }

    /// remap_move(): MREMAP_FIXED without resizing moves every VMA in
    /// `[addr, addr + len)`, keeping the gaps between them.
    private func remapMove(_ request: inout RemapRequest) throws(Errno) -> UInt64 {
        let start = request.addr
        // A range wrapping past 2^64 finds no VMA in the kernel's walk: EFAULT.
        let (end, overflow) = start.addingReportingOverflow(request.oldLength)
        if overflow { throw Errno.EFAULT }
        var target = request.newAddr
        var result: UInt64?
        var lastEnd: UInt64 = 0
        var cursor = start
        while cursor < end {
            let range = tree.indices(intersecting: cursor, end)
            guard !range.isEmpty else { break }
            let vma = tree[range.lowerBound]
            let partStart = max(vma.start, start)
            let partLength = min(end, vma.end) - partStart
            // No gap permitted at the start of the range.
            if result == nil && start < vma.start { throw Errno.EFAULT }
            let offset = result == nil ? 0 : vma.start - lastEnd
            lastEnd = vma.end
            // vma_multi_allowed(): VMAs with vm_ops hooks or hugetlb move only alone.
            if vma.hasCloseHook || vma.flags.contains(.hugeTLB) {
                if result != nil || vma.end < end { throw Errno.EFAULT }
            }
            var part = RemapRequest(
                addr: partStart, oldLength: partLength, newLength: partLength,
                flags: request.flags, newAddr: target + offset)
            try checkPrepVMA(&part)
            let moved = try mremapTo(&part)
            if result == nil { result = moved }
            target = moved + partLength
            cursor = partStart + partLength
        }
        guard let result else { throw Errno.EFAULT }
        return result
    }
}
