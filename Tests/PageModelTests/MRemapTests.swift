// mremap() of the model address space against Linux v6.19 (mm/mremap.c), with the VMA-level
// cases of tools/testing/selftests/mm/mremap_test.c (mremap_expand_merge,
// mremap_expand_merge_offset) and mremap_dontunmap.c (partial mapping).
@testable import PageModel
import Testing

@Suite struct MRemapTests: FixedAnonSuite {
    @Test func shrinkInPlace() throws {
        let (mm, ops) = try mapped(pages: 4)
        #expect(try mm.mremap(oldAddr: base, oldLength: 4 * pageBytes, newLength: 2 * pageBytes, flags: []) == base)
        #expect(mm.spans == [Span(base, base + 2 * pageBytes, 0x10000)])
        #expect(ops.events == [
            .boundary(base + 2 * pageBytes), .unmap(base + 2 * pageBytes, base + 4 * pageBytes),
            .freeTables(base + 2 * pageBytes, base + 4 * pageBytes, floor: base + 2 * pageBytes, ceiling: 0),
        ])
        // The same size: nothing to do.
        #expect(try mm.mremap(oldAddr: base, oldLength: 2 * pageBytes, newLength: 2 * pageBytes, flags: []) == base)
    }

    @Test func growInPlace() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: 2 * pageBytes, prot: [.read, .write], flags: anon)
        let id = mm.vmas.first?.id
        #expect(try mm.mremap(oldAddr: base, oldLength: 2 * pageBytes, newLength: 4 * pageBytes, flags: []) == base)
        #expect(mm.spans == [Span(base, base + 4 * pageBytes, 0x10000)])
        #expect(mm.vmas.first?.id == id)
    }

    @Test func growInPlaceMergesTheNextVMAItReaches() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: 2 * pageBytes, prot: [.read, .write], flags: anon)
        try mm.mmap(addr: base + 4 * pageBytes, length: 2 * pageBytes, prot: [.read, .write], flags: anon)
        #expect(mm.mapCount == 2)
        #expect(try mm.mremap(oldAddr: base, oldLength: 2 * pageBytes, newLength: 4 * pageBytes, flags: []) == base)
        #expect(mm.spans == [Span(base, base + 6 * pageBytes, 0x10000)])
    }

    /// mremap_test.c: mremap_expand_merge.
    @Test func expandMerge() throws {
        let mm = MM()
        let start = try mm.mmap(length: 3 * pageBytes, prot: [.read, .write], flags: [.private, .anonymous])
        try mm.munmap(addr: start + pageBytes, length: pageBytes)
        #expect(try mm.mremap(oldAddr: start, oldLength: pageBytes, newLength: 2 * pageBytes, flags: []) == start)
        #expect(mm.spans == [Span(start, start + 3 * pageBytes, start >> 12)])
    }

    /// mremap_test.c: mremap_expand_merge_offset.
    @Test func expandMergeOffset() throws {
        let mm = MM()
        let start = try mm.mmap(length: 3 * pageBytes, prot: [.read, .write], flags: [.private, .anonymous])
        try mm.munmap(addr: start + 2 * pageBytes, length: pageBytes)
        #expect(try mm.mremap(oldAddr: start + pageBytes, oldLength: pageBytes, newLength: 2 * pageBytes, flags: []) == start + pageBytes)
        #expect(mm.spans == [Span(start, start + 3 * pageBytes, start >> 12)])
    }

    /// mremap_dontunmap.c: mremap_dontunmap_partial_mapping: moving part of a VMA with
    /// MREMAP_DONTUNMAP leaves the source VMA whole, with its anon_vma.
    @Test func dontUnmapPartialMapping() throws {
        let mm = MM()
        let source = try mm.mmap(addr: base, length: 10 * pageBytes, prot: [.read, .write], flags: anon)
        let anonVMA = try mm.anonVMAPrepare(at: source)
        let dest = try mm.mremap(oldAddr: source + 5 * pageBytes, oldLength: 5 * pageBytes, newLength: 5 * pageBytes,
                                 flags: [.mayMove, .dontUnmap])
        #expect(mm.vmaLookup(source).map { Span($0.start, $0.end, $0.pgoff) } == Span(base, base + 10 * pageBytes, 0x10000))
        #expect(mm.vmaLookup(source)?.anonVMA === anonVMA)
        #expect(mm.vmaLookup(dest).map { Span($0.start, $0.end, $0.pgoff) } == Span(dest, dest + 5 * pageBytes, 0x10005))
    }

    @Test func growBlockedNeedsMayMoveAndThenMoves() throws {
        let ops = RecordingPageOps()
        let mm = MM(pageOps: ops)
        try mm.mmap(addr: base, length: 2 * pageBytes, prot: [.read, .write], flags: anon)
        try mm.mmap(addr: base + 2 * pageBytes, length: pageBytes, prot: .read, flags: anon)
        #expect(throws: Errno.ENOMEM) { try mm.mremap(oldAddr: base, oldLength: 2 * pageBytes, newLength: 4 * pageBytes, flags: []) }
        ops.clear()
        let moved = try mm.mremap(oldAddr: base, oldLength: 2 * pageBytes, newLength: 4 * pageBytes, flags: .mayMove)
        #expect(moved == 0x7fff_f7ff_b000)
        // Never faulted: the VMA takes the pgoff of its new address.
        #expect(mm.spans == [Span(base + 2 * pageBytes, base + 3 * pageBytes, 0x10002), Span(moved, moved + 4 * pageBytes, 0x7_ffff_7ffb)])
        #expect(ops.events.contains(.move(from: base, to: moved, length: 2 * pageBytes)))
        #expect(ops.events.contains(.unmap(base, base + 2 * pageBytes)))
    }

    @Test func faultedAnonymousMemoryKeepsItsPgoffWhenMoved() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: 2 * pageBytes, prot: [.read, .write], flags: anon)
        let anonVMA = try mm.anonVMAPrepare(at: base)
        let moved = try mm.mremap(oldAddr: base, oldLength: 2 * pageBytes, newLength: 2 * pageBytes,
                                  flags: [.mayMove, .fixed], newAddr: 0x2000_0000)
        #expect(moved == 0x2000_0000)
        #expect(mm.spans == [Span(0x2000_0000, 0x2000_2000, 0x10000)])
        #expect(mm.vmas.first?.anonVMA === anonVMA)
    }

    @Test func fixedMoveReplacesTheDestinationAndMerges() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: 2 * pageBytes, prot: [.read, .write], flags: anon)
        try mm.mmap(addr: 0x2000_0000, length: 2 * pageBytes, prot: [.read, .write], flags: anon)
        try mm.mmap(addr: 0x2000_2000, length: pageBytes, prot: .read, flags: anon)
        // The moved, never-faulted VMA gets pgoff 0x20002 and merges with the VMA below;
        // the read-only page that was at the destination is unmapped first.
        let moved = try mm.mremap(oldAddr: base, oldLength: 2 * pageBytes, newLength: 2 * pageBytes,
                                  flags: [.mayMove, .fixed], newAddr: 0x2000_2000)
        #expect(moved == 0x2000_2000)
        #expect(mm.spans == [Span(0x2000_0000, 0x2000_4000, 0x20000)])
    }

    @Test func dontUnmapLeavesTheOldVMAEmpty() throws {
        let ops = RecordingPageOps()
        let mm = MM(pageOps: ops)
        try mm.mmap(addr: base, length: 2 * pageBytes, prot: [.read, .write], flags: anon.union(.locked))
        let anonVMA = try mm.anonVMAPrepare(at: base)
        ops.clear()
        let moved = try mm.mremap(oldAddr: base, oldLength: 2 * pageBytes, newLength: 2 * pageBytes, flags: [.mayMove, .dontUnmap])
        #expect(moved == 0x7fff_f7ff_d000)
        #expect(mm.spans == [Span(base, base + 2 * pageBytes, 0x10000), Span(moved, moved + 2 * pageBytes, 0x10000)])
        let old = try #require(mm.vmaLookup(base))
        let new = try #require(mm.vmaLookup(moved))
        // The old VMA stays, unlocked and without its anon_vma; the new one has both.
        #expect(!old.flags.contains(.locked) && old.anonVMA == nil)
        #expect(new.flags.contains(.locked) && new.anonVMA === anonVMA)
        #expect(ops.events == [.move(from: base, to: moved, length: 2 * pageBytes)])
    }

    @Test func duplicateASharedMappingWithZeroOldLength() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: 2 * pageBytes, prot: [.read, .write], flags: [.shared, .anonymous, .fixed])
        let copy = try mm.mremap(oldAddr: base, oldLength: 0, newLength: 2 * pageBytes, flags: .mayMove)
        #expect(copy != base)
        let vmas = mm.vmas
        #expect(vmas.count == 2)
        #expect(vmas[0].file == vmas[1].file && vmas.allSatisfy { $0.pgoff == 0 })
        // Not for private mappings.
        try mm.mmap(addr: 0x3000_0000, length: pageBytes, prot: .read, flags: anon)
        #expect(throws: Errno.EINVAL) { try mm.mremap(oldAddr: 0x3000_0000, oldLength: 0, newLength: pageBytes, flags: .mayMove) }
    }

    @Test func fixedMoveOfSeveralVMAsKeepsTheGaps() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: pageBytes, prot: .read, flags: anon)
        try mm.mmap(addr: base + 2 * pageBytes, length: pageBytes, prot: [.read, .write], flags: anon)
        let moved = try mm.mremap(oldAddr: base, oldLength: 3 * pageBytes, newLength: 3 * pageBytes,
                                  flags: [.mayMove, .fixed], newAddr: 0x3000_0000)
        #expect(moved == 0x3000_0000)
        #expect(mm.vmas.map(\.start) == [0x3000_0000, 0x3000_2000])
        #expect(mm.vmas.map(\.length) == [pageBytes, pageBytes])
        // A gap at the start of the range is EFAULT.
        #expect(throws: Errno.EFAULT) {
            try mm.mremap(oldAddr: 0x2fff_f000, oldLength: 2 * pageBytes, newLength: 2 * pageBytes,
                          flags: [.mayMove, .fixed], newAddr: 0x4000_0000)
        }
    }

    @Test func lockedGrowthIsPopulated() throws {
        let ops = RecordingPageOps()
        let mm = MM(pageOps: ops)
        try mm.mmap(addr: base, length: 2 * pageBytes, prot: [.read, .write], flags: anon.union(.locked))
        ops.clear()
        try mm.mremap(oldAddr: base, oldLength: 2 * pageBytes, newLength: 4 * pageBytes, flags: [])
        #expect(ops.events == [.populate(base + 2 * pageBytes, base + 4 * pageBytes)])
        #expect(mm.lockedVM == 4)
    }

    @Test func failedPageTableMoveIsUndone() throws {
        let ops = RecordingPageOps()
        let mm = MM(pageOps: ops)
        try mm.mmap(addr: base, length: 2 * pageBytes, prot: [.read, .write], flags: anon)
        ops.moveLimit.withLock { $0 = pageBytes }
        #expect(throws: Errno.ENOMEM) {
            try mm.mremap(oldAddr: base, oldLength: 2 * pageBytes, newLength: 2 * pageBytes,
                          flags: [.mayMove, .fixed], newAddr: 0x2000_0000)
        }
        #expect(mm.spans == [Span(base, base + 2 * pageBytes, 0x10000)])
        #expect(ops.events.contains(.move(from: 0x2000_0000, to: base, length: pageBytes)))
    }

    @Test func badArgumentsGetTheKernelsErrno() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: 2 * pageBytes, prot: [.read, .write], flags: anon)
        func remap(_ old: UInt64, _ oldLength: UInt64, _ newLength: UInt64, _ flags: MRemapFlags, _ new: UInt64 = 0) throws(Errno) {
            try mm.mremap(oldAddr: old, oldLength: oldLength, newLength: newLength, flags: flags, newAddr: new)
        }
        #expect(throws: Errno.EINVAL) { try remap(base, pageBytes, pageBytes, MRemapFlags(rawValue: 8)) }
        #expect(throws: Errno.EINVAL) { try remap(base + 1, pageBytes, pageBytes, []) }
        #expect(throws: Errno.EINVAL) { try remap(base, pageBytes, 0, []) }
        #expect(throws: Errno.EINVAL) { try remap(base, pageBytes, 1 << 48, .mayMove) }
        #expect(throws: Errno.EINVAL) { try remap(base, pageBytes, pageBytes, .fixed, 0x2000_0000) }
        #expect(throws: Errno.EINVAL) { try remap(base, pageBytes, pageBytes, .dontUnmap) }
        #expect(throws: Errno.EINVAL) { try remap(base, pageBytes, 2 * pageBytes, [.mayMove, .dontUnmap]) }
        #expect(throws: Errno.EINVAL) { try remap(base, pageBytes, pageBytes, [.mayMove, .fixed], 0x2000_0800) }
        #expect(throws: Errno.EINVAL) { try remap(base, 2 * pageBytes, 2 * pageBytes, [.mayMove, .fixed], base + pageBytes) }
        #expect(throws: Errno.EFAULT) { try remap(0x5000_0000, pageBytes, 2 * pageBytes, .mayMove) }
        // The old range runs past the end of its VMA.
        #expect(throws: Errno.EFAULT) { try remap(base, 3 * pageBytes, 4 * pageBytes, .mayMove) }
        // VM_DONTEXPAND cannot grow; VM_PFNMAP cannot be moved with MREMAP_DONTUNMAP.
        mm.link(0x6000_0000, 0x6000_2000, 0, [.read, .write, .dontExpand, .pfnMap, .io])
        #expect(throws: Errno.EFAULT) { try remap(0x6000_0000, 2 * pageBytes, 4 * pageBytes, .mayMove) }
        #expect(throws: Errno.EINVAL) { try remap(0x6000_0000, 2 * pageBytes, 2 * pageBytes, [.mayMove, .dontUnmap]) }
        // Addresses at the very top of the 64-bit space do not trap.
        #expect(throws: Errno.EFAULT) { try remap(0xffff_ffff_ffff_f000, 2 * pageBytes, 2 * pageBytes, [.mayMove, .fixed], 0x2000_0000) }
        #expect(throws: Errno.EFAULT) { try remap(0xffff_ffff_ffff_f000, pageBytes, 2 * pageBytes, .mayMove) }
        #expect(throws: Errno.EINVAL) { try remap(base, pageBytes, pageBytes, [.mayMove, .fixed], 0xffff_ffff_ffff_f000) }
        #expect(mm.checkInvariants().isEmpty)
    }
}
