// Ports of the kernel's VMA merge tests (tools/testing/vma/tests/merge.c, Linux v6.19):
// test_simple_merge, test_simple_modify, test_merge_new (all 16 sticky permutations),
// test_vma_merge_special_flags, test_vma_merge_with_close, test_vma_merge_new_with_close,
// test_merge_existing (all 8 sticky permutations), test_anon_vma_non_mergeable,
// test_dup_anon_vma, test_simple_expand, test_merge_extend, test_copy_vma,
// test_expand_only_mode.
@testable import PageModel
import Testing

@Suite struct VMAMergeTests {
    @Test func simpleMerge() {
        let mm = MM()
        mm.link(0, 0x1000, 0)
        mm.link(0x2000, 0x3000, 2)
        let merged = mm.mergeNew(0x1000, 0x2000, 1)
        #expect(merged != nil)
        #expect(mm.spans == [Span(0, 0x3000, 0)])
        #expect(mm.vmas.first?.flags == testFlags)
    }

    @Test func simpleModify() throws {
        let mm = MM()
        let initial = mm.link(0, 0x3000, 0)
        // The flags do not change: vma_modify_flags() performs the split only.
        let id = try mm.mmapLock.withWriteLock { () throws(Errno) -> VMAID in
            let index = try mm.modifyFlags(at: 0, start: 0x1000, end: 0x2000, newFlags: testFlags)
            return mm.tree[index].id
        }
        // The provided VMA is modified; the split-off parts are new VMAs.
        #expect(id == initial)
        #expect(mm.vma(initial).map { Span($0.start, $0.end, $0.pgoff) } == Span(0x1000, 0x2000, 1))
        #expect(mm.spans == [Span(0, 0x1000, 0), Span(0x1000, 0x2000, 1), Span(0x2000, 0x3000, 2)])
    }

    @Test(arguments: 0..<16)
    func mergeNew(permutation: Int) {
        let isSticky = permutation & 1 != 0
        let aSticky = permutation & 2 != 0
        let bSticky = permutation & 4 != 0
        let cSticky = permutation & 8 != 0
        let mm = MM()
        let dummy = mm.dummyAnonVMA()
        var flags = testFlags
        if isSticky { flags.formUnion(.sticky) }
        func sticky(_ id: VMAID) -> Bool { mm.vma(id).map { !$0.flags.isDisjoint(with: .sticky) } ?? false }

        // 0123456789abc
        // AA B       CC
        let a = mm.link(0, 0x2000, 0, aSticky ? flags.union(.sticky) : flags)
        let b = mm.link(0x3000, 0x4000, 3, bSticky ? flags.union(.sticky) : flags)
        let c = mm.link(0xb000, 0xc000, 0xb, cSticky ? flags.union(.sticky) : flags)

        // NO merge: AA B   **  CC
        let (d, dMerged) = mm.tryMergeNew(0x7000, 0x9000, 7, flags)
        #expect(!dMerged)
        #expect(mm.mapCount == 4)

        // Merge BOTH sides: AA*B   DD  CC
        mm.setAnon(b, dummy)
        var (id, merged) = mm.tryMergeNew(0x2000, 0x3000, 2, flags)
        #expect(merged && id == a)
        #expect(mm.vma(a).map { Span($0.start, $0.end, $0.pgoff) } == Span(0, 0x4000, 0))
        #expect(mm.vma(a)?.anonVMA === dummy)
        #expect((mm.vma(a)?.writeSeq ?? 0) > 0)
        #expect(mm.mapCount == 3)
        if isSticky || aSticky || bSticky { #expect(sticky(a)) }

        // Merge to PREVIOUS VMA: AAAA*  DD  CC
        (id, merged) = mm.tryMergeNew(0x4000, 0x5000, 4, flags)
        #expect(merged && id == a)
        #expect(mm.vma(a).map { Span($0.start, $0.end, $0.pgoff) } == Span(0, 0x5000, 0))
        #expect(mm.vma(a)?.anonVMA === dummy)
        #expect(mm.mapCount == 3)
        if isSticky || aSticky { #expect(sticky(a)) }

        // Merge to NEXT VMA: AAAAA *DD  CC
        mm.setAnon(d, dummy)
        (id, merged) = mm.tryMergeNew(0x6000, 0x7000, 6, flags)
        #expect(merged && id == d)
        #expect(mm.vma(d).map { Span($0.start, $0.end, $0.pgoff) } == Span(0x6000, 0x9000, 6))
        #expect(mm.vma(d)?.anonVMA === dummy)
        #expect(mm.mapCount == 3)
        if isSticky { #expect(sticky(d)) }

        // Merge BOTH sides: AAAAA*DDD  CC
        (id, merged) = mm.tryMergeNew(0x5000, 0x6000, 5, flags)
        #expect(merged && id == a)
        #expect(mm.vma(a).map { Span($0.start, $0.end, $0.pgoff) } == Span(0, 0x9000, 0))
        #expect(mm.mapCount == 2)
        if isSticky || aSticky { #expect(sticky(a)) }

        // Merge to NEXT VMA: AAAAAAAAA *CC
        mm.setAnon(c, dummy)
        (id, merged) = mm.tryMergeNew(0xa000, 0xb000, 0xa, flags)
        #expect(merged && id == c)
        #expect(mm.vma(c).map { Span($0.start, $0.end, $0.pgoff) } == Span(0xa000, 0xc000, 0xa))
        #expect(mm.mapCount == 2)
        if isSticky || cSticky { #expect(sticky(c)) }

        // Merge BOTH sides: AAAAAAAAA*CCC
        (id, merged) = mm.tryMergeNew(0x9000, 0xa000, 0x9, flags)
        #expect(merged && id == a)
        #expect(mm.mapCount == 1)
        if isSticky || aSticky || cSticky { #expect(sticky(a)) }

        // Final state: AAAAAAAAAAAAA
        #expect(mm.spans == [Span(0, 0xc000, 0)])
        #expect(mm.vmas.first?.anonVMA === dummy)
        #expect(mm.cleanup() == 1)
    }

    @Test func specialFlagsNeverMerge() {
        let mm = MM()
        let specials: [VMFlags] = [.io, .dontExpand, .pfnMap, .mixedMap]
        // Make sure there are no new VM_SPECIAL flags.
        #expect(specials.reduce(VMFlags()) { $0.union($1) } == VMFlags.special)
        // AAA*: would merge but for the special flag.
        let left = mm.link(0, 0x3000, 0)
        for special in specials {
            mm.setVMAFlags(left, testFlags.union(special))
            #expect(mm.mergeNew(0x3000, 0x4000, 3, testFlags.union(special)) == nil)
        }
        // AAAB: modifying B in a way that would otherwise merge.
        let middle = mm.link(0x3000, 0x4000, 3)
        for special in specials {
            mm.setVMAFlags(left, testFlags.union(special))
            #expect(mm.mergeExisting(middle: middle, 0x3000, 0x4000, 3, testFlags.union(special)) == nil)
        }
        #expect(mm.cleanup() == 2)
    }

    @Test func mergeWithClose() {
        let mm = MM()
        let file = TestFile(hasVMClose: true)
        // PPP**NNNN -> PPPPPNNNN: next has a close hook, so it is not deleted.
        let prev = mm.link(0, 0x3000, 0, file: file)
        let next = mm.link(0x5000, 0x9000, 5, file: file)
        #expect(mm.mergeNew(0x3000, 0x5000, 3, file: file) == prev)
        #expect(mm.vma(prev).map { Span($0.start, $0.end, $0.pgoff) } == Span(0, 0x5000, 0))
        #expect(mm.vma(next) != nil)
        #expect(mm.cleanup() == 2)

        // PPPVV: modifying all of V, which has a close hook, would delete it: no merge.
        mm.link(0, 0x3000, 0, file: file)
        let vma = mm.link(0x3000, 0x5000, 3, file: file)
        #expect(mm.mergeExisting(middle: vma, 0x3000, 0x5000, 3) == nil)
        #expect(mm.cleanup() == 2)

        // VVNNNN: likewise when merging with next.
        let vma2 = mm.link(0x3000, 0x5000, 3, file: file)
        mm.link(0x5000, 0x9000, 5, file: file)
        #expect(mm.mergeExisting(middle: vma2, 0x3000, 0x5000, 3) == nil)
        #expect(mm.cleanup() == 2)

        // PPPVVNNNN: V has a close hook, no merge can proceed.
        mm.link(0, 0x3000, 0, file: file)
        let vma3 = mm.link(0x3000, 0x5000, 3, file: file)
        mm.link(0x5000, 0x9000, 5, file: file)
        #expect(mm.mergeExisting(middle: vma3, 0x3000, 0x5000, 3) == nil)
        #expect(mm.cleanup() == 3)
    }

    @Test func mergeNewWithClose() {
        // Partial merge of a new range between two VMAs with close hooks: expand A, keep B.
        let mm = MM()
        let file = TestFile(hasVMClose: true)
        let prev = mm.link(0, 0x2000, 0, file: file)
        mm.link(0x5000, 0x7000, 5, file: file)
        #expect(mm.mergeNew(0x2000, 0x5000, 2, file: file) == prev)
        #expect(mm.spans == [Span(0, 0x5000, 0), Span(0x5000, 0x7000, 5)])
        #expect(mm.mapCount == 2)
    }

    @Test(arguments: 0..<8)
    func mergeExisting(permutation: Int) {
        let prevSticky = permutation & 1 != 0
        let middleSticky = permutation & 2 != 0
        let nextSticky = permutation & 4 != 0
        let mm = MM()
        let dummy = mm.dummyAnonVMA()
        let prevFlags = prevSticky ? testFlags.union(.sticky) : testFlags
        let flags = middleSticky ? testFlags.union(.sticky) : testFlags
        let nextFlags = nextSticky ? testFlags.union(.sticky) : testFlags
        func span(_ id: VMAID) -> Span? { mm.vma(id).map { Span($0.start, $0.end, $0.pgoff) } }
        func sticky(_ id: VMAID) -> Bool { mm.vma(id).map { !$0.flags.isDisjoint(with: .sticky) } ?? false }

        // Merge right, partial span:   VVVVNNN -> VNNNNNN
        var vma = mm.link(0x2000, 0x6000, 2, flags)
        var next = mm.link(0x6000, 0x9000, 6, nextFlags)
        mm.setAnon(vma, dummy)
        #expect(mm.mergeExisting(middle: vma, 0x3000, 0x6000, 3, flags, anon: dummy) == next)
        #expect(span(next) == Span(0x3000, 0x9000, 3))
        #expect(mm.vma(next)?.anonVMA === dummy)
        #expect(span(vma) == Span(0x2000, 0x3000, 2))
        #expect((mm.vma(vma)?.writeSeq ?? 0) > 0 && (mm.vma(next)?.writeSeq ?? 0) > 0)
        #expect(mm.mapCount == 2)
        if middleSticky || nextSticky { #expect(sticky(next)) }
        #expect(mm.cleanup() == 2)

        // Merge right, full span:   VVVVNNN -> NNNNNNN
        vma = mm.link(0x2000, 0x6000, 2, flags)
        next = mm.link(0x6000, 0x9000, 6, nextFlags)
        mm.setAnon(vma, dummy)
        #expect(mm.mergeExisting(middle: vma, 0x2000, 0x6000, 2, flags, anon: dummy) == next)
        #expect(span(next) == Span(0x2000, 0x9000, 2))
        #expect(mm.vma(next)?.anonVMA === dummy)
        #expect(mm.mapCount == 1)
        if middleSticky || nextSticky { #expect(sticky(next)) }
        #expect(mm.cleanup() == 1)

        // Merge left, partial span: PPPVVVV -> PPPPPPV
        var prev = mm.link(0, 0x3000, 0, prevFlags)
        vma = mm.link(0x3000, 0x7000, 3, flags)
        mm.setAnon(vma, dummy)
        #expect(mm.mergeExisting(middle: vma, 0x3000, 0x6000, 3, flags, anon: dummy) == prev)
        #expect(span(prev) == Span(0, 0x6000, 0))
        #expect(mm.vma(prev)?.anonVMA === dummy)
        #expect(span(vma) == Span(0x6000, 0x7000, 6))
        #expect(mm.mapCount == 2)
        if prevSticky || middleSticky { #expect(sticky(prev)) }
        #expect(mm.cleanup() == 2)

        // Merge left, full span: PPPVVVV -> PPPPPPP
        prev = mm.link(0, 0x3000, 0, prevFlags)
        vma = mm.link(0x3000, 0x7000, 3, flags)
        mm.setAnon(vma, dummy)
        #expect(mm.mergeExisting(middle: vma, 0x3000, 0x7000, 3, flags, anon: dummy) == prev)
        #expect(span(prev) == Span(0, 0x7000, 0))
        #expect(mm.vma(prev)?.anonVMA === dummy)
        #expect(mm.mapCount == 1)
        if prevSticky || middleSticky { #expect(sticky(prev)) }
        #expect(mm.cleanup() == 1)

        // Merge both: PPPVVVVNNN -> PPPPPPPPPP
        prev = mm.link(0, 0x3000, 0, prevFlags)
        vma = mm.link(0x3000, 0x7000, 3, flags)
        mm.link(0x7000, 0x9000, 7, nextFlags)
        mm.setAnon(vma, dummy)
        #expect(mm.mergeExisting(middle: vma, 0x3000, 0x7000, 3, flags, anon: dummy) == prev)
        #expect(span(prev) == Span(0, 0x9000, 0))
        #expect(mm.vma(prev)?.anonVMA === dummy)
        #expect(mm.mapCount == 1)
        if prevSticky || middleSticky || nextSticky { #expect(sticky(prev)) }
        #expect(mm.cleanup() == 1)

        // Non-merge ranges inside the middle VMA: PPPVVVVVNNN
        mm.link(0, 0x3000, 0, prevFlags)
        vma = mm.link(0x3000, 0x8000, 3, flags)
        mm.link(0x8000, 0xa000, 8, nextFlags)
        for (start, end) in [(0x4000, 0x5000), (0x5000, 0x6000), (0x6000, 0x7000),
                             (0x4000, 0x7000), (0x4000, 0x6000), (0x5000, 0x6000)] as [(UInt64, UInt64)] {
            #expect(mm.mergeExisting(middle: vma, start, end, start >> 12, flags) == nil)
        }
        #expect(mm.cleanup() == 3)
    }

    @Test func anonVMANonMergeable() {
        let mm = MM()
        let anon1 = mm.dummyAnonVMA()
        let anon2 = mm.dummyAnonVMA()
        // Modified VMA between prev and next with incompatible anon_vmas: merge prev and
        // the VMA only.  PPPVVVVNNN -> PPPPPPPNNN
        let prev = mm.link(0, 0x3000, 0, anon: anon1)
        let vma = mm.link(0x3000, 0x7000, 3)
        let next = mm.link(0x7000, 0x9000, 7, anon: anon2)
        #expect(mm.mergeExisting(middle: vma, 0x3000, 0x7000, 3) == prev)
        #expect(mm.spans == [Span(0, 0x7000, 0), Span(0x7000, 0x9000, 7)])
        #expect((mm.vma(prev)?.writeSeq ?? 0) > 0)
        #expect(mm.vma(next)?.writeSeq == 0)
        #expect(mm.cleanup() == 2)

        // The new VMA case: PPP****NNN -> PPPPPPPNNN
        mm.link(0, 0x3000, 0, anon: anon1)
        mm.link(0x7000, 0x9000, 7, anon: anon2)
        #expect(mm.mergeNew(0x3000, 0x7000, 3) != nil)
        #expect(mm.spans == [Span(0, 0x7000, 0), Span(0x7000, 0x9000, 7)])
        #expect(mm.cleanup() == 2)
    }

    @Test func anonVMAWithUncowedParentsDoesNotMerge() {
        // is_mergeable_anon_vma() case 2: a target whose anon_vma chain is longer than one
        // (a fork child that has not COWed) cannot take a VMA without an anon_vma.
        let mm = MM()
        let anon = mm.dummyAnonVMA()
        let prev = mm.link(0, 0x3000, 0)
        mm.setAnon(prev, anon, chainLength: 2)
        #expect(mm.mergeNew(0x3000, 0x4000, 3) == nil)
        mm.setAnon(prev, anon, chainLength: 1)
        #expect(mm.mergeNew(0x3000, 0x4000, 3) == prev)
    }

    @Test func pgoffMustBeContiguous() {
        let mm = MM()
        let file = TestFile()
        mm.link(0, 0x2000, 0, file: file)
        // The same file at a non-contiguous offset, and another file at the right offset.
        #expect(mm.mergeNew(0x2000, 0x3000, 5, file: file) == nil)
        #expect(mm.mergeNew(0x2000, 0x3000, 2, file: TestFile()) == nil)
        #expect(mm.mergeNew(0x2000, 0x3000, 2, file: file) != nil)
        #expect(mm.spans == [Span(0, 0x3000, 0)])
    }

    @Test func simpleExpand() {
        let mm = MM()
        let id = mm.link(0, 0x1000, 0)
        let result = mm.mmapLock.withWriteLock { mm.mergeExtend(at: 0, delta: 0x2000).map { mm.tree[$0].id } }
        #expect(result == id)
        #expect(mm.spans == [Span(0, 0x3000, 0)])
    }

    @Test func mergeExtend() {
        // Extend a VMA into the gap between itself and the following VMA: they merge.
        let mm = MM()
        let vma = mm.link(0, 0x1000, 0)
        mm.link(0x3000, 0x4000, 3)
        let result = mm.mmapLock.withWriteLock { mm.mergeExtend(at: 0, delta: 0x2000).map { mm.tree[$0].id } }
        #expect(result == vma)
        #expect(mm.spans == [Span(0, 0x4000, 0)])
        #expect((mm.vma(vma)?.writeSeq ?? 0) > 0)
        #expect(mm.mapCount == 1)
    }

    @Test func copyVMA() {
        let mm = MM()
        // Move backwards and do not merge.
        let vma = mm.link(0x3000, 0x5000, 3)
        let copied = mm.mmapLock.withWriteLock { mm.tree[mm.copyVMA(at: 0, to: 0, length: 0x2000, pgoff: 0)].id }
        #expect(copied != vma)
        #expect(mm.vma(copied).map { Span($0.start, $0.end, $0.pgoff) } == Span(0, 0x2000, 0))
        #expect(mm.cleanup() == 2)

        // Move a VMA into position next to another and merge the two.
        mm.link(0, 0x2000, 0)
        let next = mm.link(0x6000, 0x8000, 6)
        let merged = mm.mmapLock.withWriteLock { mm.tree[mm.copyVMA(at: 0, to: 0x4000, length: 0x2000, pgoff: 4)].id }
        #expect(merged == next)
        #expect(mm.vma(next).map { Span($0.start, $0.end, $0.pgoff) } == Span(0x4000, 0x8000, 4))
    }

    @Test func expandOnlyMode() {
        // just_expand merges with the previous VMA only, ignoring the one before it.
        let mm = MM()
        mm.link(0, 0x2000, 0)
        let prev = mm.link(0x3000, 0x5000, 3)
        #expect(mm.mergeNew(0x5000, 0x9000, 5, justExpand: true) == prev)
        #expect(mm.vma(prev).map { Span($0.start, $0.end, $0.pgoff) } == Span(0x3000, 0x9000, 3))
        #expect(mm.mapCount == 2)
    }

    @Test func dupAnonVMA() {
        let mm = MM()
        let dummy = mm.dummyAnonVMA()
        func span(_ id: VMAID) -> Span? { mm.vma(id).map { Span($0.start, $0.end, $0.pgoff) } }

        // Expanding prev over next, deleting it, gives prev next's anon_vma.
        var prev = mm.link(0, 0x3000, 0)
        var next = mm.link(0x3000, 0x5000, 3, anon: dummy)
        #expect(mm.mergeExisting(middle: next, 0x3000, 0x5000, 3, anon: dummy) == prev)
        #expect(span(prev) == Span(0, 0x5000, 0))
        #expect(mm.vma(prev)?.anonVMA === dummy)
        mm.cleanup()

        // next has the anon_vma; prev extends, vma and next are deleted.
        prev = mm.link(0, 0x3000, 0)
        var vma = mm.link(0x3000, 0x5000, 3)
        next = mm.link(0x5000, 0x8000, 5, anon: dummy)
        #expect(mm.mergeExisting(middle: vma, 0x3000, 0x5000, 3) == prev)
        #expect(span(prev) == Span(0, 0x8000, 0))
        #expect(mm.vma(prev)?.anonVMA === dummy)
        mm.cleanup()

        // vma has the anon_vma; prev extends, vma and next are deleted.
        prev = mm.link(0, 0x3000, 0)
        vma = mm.link(0x3000, 0x5000, 3, anon: dummy)
        mm.link(0x5000, 0x8000, 5)
        #expect(mm.mergeExisting(middle: vma, 0x3000, 0x5000, 3, anon: dummy) == prev)
        #expect(span(prev) == Span(0, 0x8000, 0))
        #expect(mm.vma(prev)?.anonVMA === dummy)
        mm.cleanup()

        // vma has the anon_vma; prev extends over part of it.
        prev = mm.link(0, 0x3000, 0)
        vma = mm.link(0x3000, 0x8000, 3, anon: dummy)
        #expect(mm.mergeExisting(middle: vma, 0x3000, 0x5000, 3, anon: dummy) == prev)
        #expect(span(prev) == Span(0, 0x5000, 0))
        #expect(mm.vma(prev)?.anonVMA === dummy)
        mm.cleanup()

        // vma has the anon_vma; next extends down over part of it.
        vma = mm.link(0, 0x5000, 0, anon: dummy)
        next = mm.link(0x5000, 0x8000, 5)
        #expect(mm.mergeExisting(middle: vma, 0x3000, 0x5000, 3, anon: dummy) == next)
        #expect(span(next) == Span(0x3000, 0x8000, 3))
        #expect(mm.vma(next)?.anonVMA === dummy)
        #expect(span(vma) == Span(0, 0x3000, 0))
    }
}
