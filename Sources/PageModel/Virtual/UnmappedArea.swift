// Finding room for a mapping. Mirrors __get_unmapped_area() and
// generic_get_unmapped_area_topdown() of mm/mmap.c, unmapped_area_topdown() and
// unmapped_area() of mm/vma.c, and __thp_get_unmapped_area() of mm/huge_memory.c.

/// struct vm_unmapped_area_info.
struct UnmappedAreaInfo {
    var length: UInt64
    var lowLimit: UInt64
    var highLimit: UInt64
    var alignMask: UInt64 = 0
}

extension MM {
    /// Linux: `__get_unmapped_area()`: the address a mapping of `length` bytes will get.
    /// With MAP_FIXED, `addr` itself (checked); with a hint, the hint if it is free;
    /// otherwise the highest free range below mmap_base, anonymous mappings of a multiple of
    /// PMD_SIZE aligned to PMD_SIZE for THPs. Caller holds the mmap_lock.
    func getUnmappedArea(
        file: FileRef?, addr hint: UInt64, length: UInt64, flags: MapFlags, vmFlags: VMFlags
    ) throws(Errno) -> UInt64 {
        if length > layout.taskSize { throw Errno.ENOMEM }
        let addr: UInt64
        if file == nil && !flags.contains(.fixed) && hint == 0 && length % UserVM.pmdSize == 0
            && !flags.contains(.shared) {
            // thp_get_unmapped_area_vmflags() for larger anonymous mappings.
            addr = try thpGetUnmappedArea(length: length, flags: flags)
        } else {
            addr = try archGetUnmappedAreaTopDown(addr: hint, length: length, flags: flags)
        }
        if addr > layout.taskSize - length { throw Errno.ENOMEM }
        if UserVM.isUnaligned(addr) { throw Errno.EINVAL }
        // security_mmap_addr() -> cap_mmap_addr(): below vm.mmap_min_addr without
        // CAP_SYS_RAWIO (the model's processes are unprivileged).
        if addr < layout.mmapMinAddr { throw Errno.EPERM }
        return addr
    }

    /// Linux: `__thp_get_unmapped_area()`: search for `length + PMD_SIZE` and place the
    /// mapping at a PMD-aligned address inside, the highest one when searching top-down.
    private func thpGetUnmappedArea(length: UInt64, flags: MapFlags) throws(Errno) -> UInt64 {
        let size = UserVM.pmdSize
        let (padded, overflow) = length.addingReportingOverflow(size)
        guard !overflow,
              let found = try? archGetUnmappedAreaTopDown(addr: 0, length: padded, flags: flags)
        else {
            return try archGetUnmappedAreaTopDown(addr: 0, length: length, flags: flags)
        }
        let offSub = (0 &- found) & (size - 1)
        if self.flags.contains(.topDown) && offSub == 0 { return found + size }
        return found + offSub
    }

    /// Linux: `generic_get_unmapped_area_topdown()`.
    private func archGetUnmappedAreaTopDown(addr hint: UInt64, length: UInt64, flags: MapFlags) throws(Errno) -> UInt64 {
        let mmapEnd = layout.taskSize
        if length > mmapEnd - min(mmapEnd, layout.mmapMinAddr) { throw Errno.ENOMEM }
        if flags.contains(.fixed) { return hint }
        if hint != 0 {
            let addr = UserVM.pageAlign(hint)
            let (vma, prev) = lockedFindVMAPrev(addr)
            if addr != 0, mmapEnd - length >= addr, addr >= layout.mmapMinAddr,
               vma.map({ addr + length <= $0.startGap(guardGap: layout.stackGuardGap) }) ?? true,
               prev.map({ addr >= $0.end }) ?? true {
                return addr
            }
        }
        let lowLimit = max(UserVM.pageSize, layout.mmapMinAddr)
        if let found = unmappedAreaTopDown(UnmappedAreaInfo(length: length, lowLimit: lowLimit, highLimit: layout.mmapBase)) {
            return found
        }
        // A failed top-down search falls back to bottom-up from TASK_UNMAPPED_BASE.
        if let found = unmappedAreaBottomUp(UnmappedAreaInfo(length: length, lowLimit: layout.taskUnmappedBase, highLimit: mmapEnd)) {
            return found
        }
        throw Errno.ENOMEM
    }

    /// Linux: `unmapped_area_topdown()`: the highest gap of `length` bytes between
    /// `lowLimit` and `highLimit`, honouring the stack guard gap. O(n) walk of the gaps
    /// from the top (the maple tree's gap tracking makes it O(log n) in the kernel).
    func unmappedAreaTopDown(_ info: UnmappedAreaInfo) -> UInt64? {
        let length = info.length + info.alignMask
        guard length >= info.length, info.highLimit >= info.lowLimit,
              info.highLimit - info.lowLimit >= length else { return nil }
        var index = tree.firstIndex(endAbove: info.highLimit - 1)
        // Walk gaps downwards: the gap below tree[index] (or below highLimit when past the end).
        while true {
            let gapEnd = min(info.highLimit, index < tree.count
                ? tree[index].startGap(guardGap: layout.stackGuardGap) : info.highLimit)
            let gapStart = max(info.lowLimit, index > 0 ? tree[index - 1].end : 0)
            if gapEnd >= gapStart && gapEnd - gapStart >= length {
                var addr = gapEnd - info.length
                addr -= addr & info.alignMask
                return addr
            }
            if index == 0 || tree[index - 1].end <= info.lowLimit { return nil }
            index -= 1
        }
    }

    /// Linux: `unmapped_area()`: the lowest gap of `length` bytes between the limits.
    func unmappedAreaBottomUp(_ info: UnmappedAreaInfo) -> UInt64? {
        let length = info.length + info.alignMask
        guard length >= info.length, info.highLimit >= info.lowLimit,
              info.highLimit - info.lowLimit >= length else { return nil }
        var index = tree.firstIndex(endAbove: info.lowLimit)
        while true {
            let gapStart = max(info.lowLimit, index > 0 ? tree[index - 1].end : 0)
            let gapEnd = min(info.highLimit, index < tree.count
                ? tree[index].startGap(guardGap: layout.stackGuardGap) : info.highLimit)
            if gapEnd >= gapStart && gapEnd - gapStart >= length {
                let addr = (gapStart + info.alignMask) & ~info.alignMask
                return addr
            }
            if index >= tree.count || gapEnd >= info.highLimit { return nil }
            index += 1
        }
    }
}
