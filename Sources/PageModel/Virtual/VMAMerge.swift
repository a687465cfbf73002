// VMA merging and splitting. Mirrors mm/vma.c (Linux v6.19): is_mergeable_vma(),
// is_mergeable_anon_vma(), can_vma_merge_before/after/left/right(), vma_merge_new_range(),
// vma_merge_existing_range(), __split_vma()/split_vma() and vma_modify().

/// struct vma_merge_struct: a proposed range with its attributes, to merge with neighbours.
struct VMAMergeRequest {
    enum State: Equatable { case noMerge, success }

    var start: UInt64
    var end: UInt64
    var pgoff: UInt64
    var flags: VMFlags
    var file: FileRef?
    var anonVMA: AnonVMA?
    /// vmg->middle: the index of the existing VMA being modified; nil for a new range.
    var middle: Int?
    /// vma_had_uncowed_parents(vmg->copied_from) for copy_vma() (mremap).
    var copiedFromHadUncowedParents = false
    /// vmg->just_expand: only merge with the previous VMA.
    var justExpand = false
    var state: State = .noMerge

    var pages: UInt64 { (end - start) >> UserVM.pageShift }
}

extension MM {
    /// is_mergeable_vma(): the same flags (ignoring VM_IGNORE_MERGE) and the same file.
    private func isMergeable(_ vma: VMA, _ request: VMAMergeRequest) -> Bool {
        vma.flags.symmetricDifference(request.flags).subtracting(.ignoreMerge).isEmpty
            && vma.file == request.file
    }

    /// is_mergeable_anon_vma(): whether `target`'s anon_vma and the request's can be one.
    private func isMergeableAnon(_ target: VMA, _ request: VMAMergeRequest) -> Bool {
        let middleHadUncowedParents = request.middle.map { tree[$0].hadUncowedParents } ?? false
        switch (target.anonVMA, request.anonVMA) {
        case (nil, .some):
            // Case 1: dup_anon_vma() from the source into the target.
            return !middleHadUncowedParents && !request.copiedFromHadUncowedParents
        case (.some, nil):
            // Case 2: simply use the target's anon_vma.
            return !target.hadUncowedParents
        case let (targetAnon, sourceAnon):
            // Case 3: the anon_vmas are already shared (or both absent).
            return targetAnon === sourceAnon
        }
    }

    /// can_vma_merge_after(): the request may be appended to `prev`.
    private func canMergeAfter(_ prev: VMA, _ request: VMAMergeRequest) -> Bool {
        isMergeable(prev, request) && isMergeableAnon(prev, request)
            && prev.pgoff + prev.pages == request.pgoff
    }

    /// can_vma_merge_before(): the request may be prepended to `next`.
    private func canMergeBefore(_ next: VMA, _ request: VMAMergeRequest) -> Bool {
        isMergeable(next, request) && isMergeableAnon(next, request)
            && next.pgoff == request.pgoff + request.pages
    }

    /// The anon_vma check of can_vma_merge_right() when merging both sides.
    private func anonCompatible(_ prev: VMA, _ next: VMA) -> Bool {
        prev.anonVMA == nil || next.anonVMA == nil || prev.anonVMA === next.anonVMA
    }

    /// Linux: `vma_merge_new_range()`: merge the free range `[start, end)` of the request
    /// into its neighbours. Returns the index of the VMA that now covers the range, or nil
    /// (state `.noMerge`) if neither neighbour is compatible. Caller holds the mmap_lock
    /// for write.
    func mergeNewRange(_ request: inout VMAMergeRequest) -> Int? {
        request.state = .noMerge
        let nextIndex = tree.firstIndex(endAbove: request.start)
        let prevIndex = nextIndex - 1
        let prev: VMA? = prevIndex >= 0 ? tree[prevIndex] : nil
        let next: VMA? = nextIndex < tree.count ? tree[nextIndex] : nil
        // Special VMAs are unmergeable, also if there is no prev or next.
        if !request.flags.isDisjoint(with: .special) || (prev == nil && next == nil) { return nil }

        let canLeft = prev.map { $0.end == request.start && canMergeAfter($0, request) } ?? false
        var canRight = false
        if !request.justExpand, let next, next.start == request.end, canMergeBefore(next, request) {
            canRight = !canLeft || prev.map { anonCompatible($0, next) } ?? true
        }
        var sticky = request.flags.intersection(.sticky)

        if canLeft, var target = prev {
            target.end = request.end
            var removeNext = false
            // If the merge would remove next but next has vm_ops->close, merge prev only.
            if canRight, let next, !next.hasCloseHook {
                removeNext = true
                target.end = next.end
                sticky.formUnion(next.flags.intersection(.sticky))
                target.anonVMA = target.anonVMA ?? next.anonVMA
            }
            target.anonVMA = target.anonVMA ?? request.anonVMA
            target.flags.formUnion(sticky)
            target.writeSeq += 1
            tree[prevIndex] = target
            if removeNext { tree.remove(at: nextIndex) }
            request.state = .success
            return prevIndex
        }
        if canRight, var target = next {
            target.start = request.start
            target.pgoff = request.pgoff
            target.anonVMA = target.anonVMA ?? request.anonVMA
            target.flags.formUnion(sticky)
            target.writeSeq += 1
            tree[nextIndex] = target
            request.state = .success
            return nextIndex
        }
        return nil
    }

    /// Linux: `vma_merge_existing_range()`: the request covers `[start, end)` of the
    /// existing VMA `middle` with new attributes; merge that part into prev and/or next.
    /// Returns the index of the VMA now covering the range, or nil (no merge possible).
    /// Caller holds the mmap_lock for write.
    func mergeExistingRange(_ request: inout VMAMergeRequest) -> Int? {
        request.state = .noMerge
        guard let m = request.middle else { return nil }
        var middle = tree[m]
        let leftSide = request.start == middle.start
        let rightSide = request.end == middle.end
        // A special mapping, or a range touching neither edge of the VMA: no merge.
        if !request.flags.isDisjoint(with: .special) || (!leftSide && !rightSide) { return nil }

        let prev: VMA? = leftSide && m > 0 ? tree[m - 1] : nil
        let next: VMA? = rightSide && m + 1 < tree.count ? tree[m + 1] : nil
        let mergeLeft = prev.map { $0.end == request.start && canMergeAfter($0, request) } ?? false
        var mergeRight = false
        if let next, next.start == request.end, canMergeBefore(next, request) {
            mergeRight = !mergeLeft || prev.map { anonCompatible($0, next) } ?? true
        }
        guard mergeLeft || mergeRight else { return nil }

        // Spanning the whole VMA, a merge deletes middle: impossible if it has a close hook.
        let deleteMiddle = leftSide && rightSide
        if deleteMiddle && middle.hasCloseHook { return nil }
        // If next cannot be deleted, reduce to merging prev and middle.
        if mergeLeft && mergeRight, let next, next.hasCloseHook { mergeRight = false }

        var sticky = request.flags.intersection(.sticky)
        if deleteMiddle { sticky.formUnion(middle.flags.intersection(.sticky)) }
        request.state = .success

        if mergeLeft && mergeRight, var target = prev, let next {
            // prev absorbs middle and next.
            target.end = next.end
            target.anonVMA = target.anonVMA ?? next.anonVMA ?? middle.anonVMA
            target.flags.formUnion(sticky.union(next.flags.intersection(.sticky)))
            target.writeSeq += 1
            tree[m - 1] = target
            tree.removeSubrange(m..<(m + 2))
            return m - 1
        }
        if mergeLeft, var target = prev {
            // Extend prev over the range; shrink or delete middle.
            target.end = request.end
            target.anonVMA = target.anonVMA ?? middle.anonVMA
            target.flags.formUnion(sticky)
            target.writeSeq += 1
            tree[m - 1] = target
            if deleteMiddle {
                tree.remove(at: m)
            } else {
                pageOps.vmaBoundaryWillMove(middle, to: request.end)
                middle.pgoff += (request.end - middle.start) >> UserVM.pageShift
                middle.start = request.end
                middle.writeSeq += 1
                tree[m] = middle
            }
            return m - 1
        }
        guard var target = next else { return nil }
        // Extend next down over the range; shrink or delete middle.
        target.start = request.start
        target.pgoff = request.pgoff
        target.anonVMA = target.anonVMA ?? middle.anonVMA
        target.flags.formUnion(sticky)
        target.writeSeq += 1
        tree[m + 1] = target
        if deleteMiddle {
            tree.remove(at: m)
            return m
        }
        pageOps.vmaBoundaryWillMove(middle, to: request.start)
        middle.end = request.start
        middle.writeSeq += 1
        tree[m] = middle
        return m + 1
    }

    /// Linux: `vma_merge_extend()`: grow the VMA at `index` by `delta` bytes into the free
    /// range after it, merging a compatible next VMA that the growth reaches. Returns the
    /// index of the grown VMA, or nil (a VM_SPECIAL VMA cannot be extended this way).
    /// Caller holds the mmap_lock for write.
    func mergeExtend(at index: Int, delta: UInt64) -> Int? {
        let vma = tree[index]
        var request = VMAMergeRequest(
            start: vma.end, end: vma.end + delta, pgoff: vma.pgoff + vma.pages, flags: vma.flags,
            file: vma.file, anonVMA: vma.anonVMA)
        return mergeNewRange(&request)
    }

    /// Linux: `copy_vma()`: a copy of the VMA at `index` placed at the free range
    /// `[addr, addr + length)` with page offset `pgoff`, merged into a neighbour there when
    /// possible (vma_merge_copied_range()), else linked as a new VMA. An anonymous VMA that
    /// was never faulted takes the pgoff of its new address, to improve its chance of
    /// merging. Returns the index of the VMA now covering the range. Caller holds the
    /// mmap_lock for write.
    func copyVMA(at index: Int, to addr: UInt64, length: UInt64, pgoff pgoffIn: UInt64) -> Int {
        let source = tree[index]
        var pgoff = pgoffIn
        if source.isAnonymous && source.anonVMA == nil { pgoff = addr >> UserVM.pageShift }
        var request = VMAMergeRequest(
            start: addr, end: addr + length, pgoff: pgoff, flags: source.flags, file: source.file,
            anonVMA: source.anonVMA, copiedFromHadUncowedParents: source.hadUncowedParents)
        if let merged = mergeNewRange(&request) { return merged }
        var copy = source.duplicate(as: newVMAID())
        copy.start = addr
        copy.end = addr + length
        copy.pgoff = pgoff
        return tree.insert(copy)
    }

    /// Linux: `split_vma()` (and `__split_vma()` when `checkMapCount` is false): split the
    /// VMA at `index` at `addr`. With `newBelow` the new VMA is the lower part and the
    /// original keeps the upper; otherwise the new VMA is the upper part. Returns the index
    /// of the original VMA afterwards. Caller holds the mmap_lock for write.
    @discardableResult
    func splitVMA(at index: Int, _ addr: UInt64, newBelow: Bool, checkMapCount: Bool = true) throws(Errno) -> Int {
        if checkMapCount && tree.count >= layout.maxMapCount { throw Errno.ENOMEM }
        var vma = tree[index]
        guard addr > vma.start && addr < vma.end else { return index }
        pageOps.vmaBoundaryWillMove(vma, to: addr)
        var new = vma.duplicate(as: newVMAID())
        if newBelow {
            new.end = addr
            vma.pgoff += (addr - vma.start) >> UserVM.pageShift
            vma.start = addr
        } else {
            new.start = addr
            new.pgoff += (addr - vma.start) >> UserVM.pageShift
            vma.end = addr
        }
        vma.writeSeq += 1
        tree[index] = vma
        tree.insert(new)
        return newBelow ? index + 1 : index
    }

    /// Linux: `vma_modify()` followed by `vm_flags_reset()` (vma_modify_flags() as used by
    /// mprotect_fixup() and madvise_update_vma()): give `[start, end)` of the VMA at `index`
    /// the flags `newFlags`, merging with neighbours where possible and splitting otherwise.
    /// Returns the index of the VMA that now covers exactly `[start, end)`.
    /// Caller holds the mmap_lock for write.
    func modifyFlags(at index: Int, start: UInt64, end: UInt64, newFlags: VMFlags) throws(Errno) -> Int {
        let middle = tree[index]
        var request = VMAMergeRequest(
            start: start, end: end, pgoff: middle.pageOffset(of: start), flags: newFlags,
            file: middle.file, anonVMA: middle.anonVMA, middle: index)
        if let merged = mergeExistingRange(&request) {
            tree[merged].flags = newFlags.union(tree[merged].flags.intersection(.sticky))
            return merged
        }
        var current = index
        if middle.start < start { current = try splitVMA(at: current, start, newBelow: true) }
        if tree[current].end > end { current = try splitVMA(at: current, end, newBelow: false) }
        tree[current].flags = newFlags
        tree[current].writeSeq += 1
        return current
    }
}
