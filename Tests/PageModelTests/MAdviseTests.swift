// madvise() of the model address space against Linux v6.19 (mm/madvise.c).
@testable import PageModel
import Testing

@Suite struct MAdviseTests: FixedAnonSuite {
    @Test func adviceValuesAreTheKernels() {
        #expect([Advice.dontNeed, .free, .dontFork, .doFork, .hugePage, .noHugePage, .pageOut, .collapse]
            .map(\.rawValue) == [4, 8, 10, 11, 14, 15, 21, 25])
        #expect(Advice.collapse.description == "MADV_COLLAPSE")
    }

    @Test func dontForkSplitsAndDoForkMergesBack() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: 3 * pageBytes, prot: [.read, .write], flags: anon)
        try mm.madvise(addr: base + pageBytes, length: pageBytes, advice: .dontFork)
        #expect(mm.spans == [Span(base, base + pageBytes, 0x10000), Span(base + pageBytes, base + 2 * pageBytes, 0x10001),
                             Span(base + 2 * pageBytes, base + 3 * pageBytes, 0x10002)])
        #expect(mm.vmas.map { $0.flags.contains(.dontCopy) } == [false, true, false])
        #expect(mm.vmas[1].flags.rawValue & 0x20000 != 0)
        // Again: nothing changes.
        try mm.madvise(addr: base + pageBytes, length: pageBytes, advice: .dontFork)
        #expect(mm.mapCount == 3)
        try mm.madvise(addr: base, length: 3 * pageBytes, advice: .doFork)
        #expect(mm.spans == [Span(base, base + 3 * pageBytes, 0x10000)])
        #expect(mm.vmas.first?.flags == anonRWFlags)
    }

    @Test func hugePageAndNoHugePageFlags() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: 4 << 20, prot: [.read, .write], flags: anon)
        #expect(!mm.flags.contains(.vmHugePage))
        try mm.madvise(addr: base, length: 2 << 20, advice: .hugePage)
        #expect(mm.flags.contains(.vmHugePage))
        #expect(mm.spans == [Span(base, base + (2 << 20), 0x10000), Span(base + (2 << 20), base + (4 << 20), 0x10200)])
        #expect(mm.vmas.map { $0.flags.contains(.hugePage) } == [true, false])
        try mm.madvise(addr: base, length: 4 << 20, advice: .noHugePage)
        // Both halves now have the same flags again: one VMA.
        #expect(mm.mapCount == 1)
        let flags = try #require(mm.vmas.first?.flags)
        #expect(flags.contains(.noHugePage) && !flags.contains(.hugePage))
        #expect(flags.rawValue & 0x4000_0000 != 0)
    }

    @Test func pageLevelAdviceReachesThePageOps() throws {
        let (mm, ops) = try mapped(pages: 4)
        try mm.madvise(addr: base, length: 2 * pageBytes, advice: .dontNeed)
        try mm.madvise(addr: base + pageBytes, length: pageBytes, advice: .free)
        try mm.madvise(addr: base, length: 4 * pageBytes, advice: .pageOut)
        #expect(ops.events == [.advise(.dontNeed, base, base + 2 * pageBytes), .advise(.free, base + pageBytes, base + 2 * pageBytes),
                               .advise(.pageOut, base, base + 4 * pageBytes)])
        // Page-level advice does not split.
        #expect(mm.mapCount == 1)
    }

    @Test func gapsAreSkippedAndReportedAsENOMEM() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: pageBytes, prot: [.read, .write], flags: anon)
        try mm.mmap(addr: base + 2 * pageBytes, length: pageBytes, prot: [.read, .write], flags: anon)
        #expect(throws: Errno.ENOMEM) { try mm.madvise(addr: base, length: 3 * pageBytes, advice: .dontFork) }
        #expect(mm.vmas.map { $0.flags.contains(.dontCopy) } == [true, true])
        #expect(throws: Errno.ENOMEM) { try mm.madvise(addr: 0x5000_0000, length: pageBytes, advice: .dontNeed) }
        #expect(throws: Errno.ENOMEM) { try mm.madvise(addr: base - pageBytes, length: pageBytes, advice: .dontNeed) }
    }

    @Test func badArgumentsGetTheKernelsErrno() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: 2 * pageBytes, prot: [.read, .write], flags: anon)
        #expect(throws: Errno.EINVAL) { try mm.madvise(addr: base, length: pageBytes, advice: Advice(rawValue: 7)) }
        #expect(throws: Errno.EINVAL) { try mm.madvise(addr: base, length: pageBytes, advice: Advice(rawValue: 999)) }
        #expect(throws: Errno.EINVAL) { try mm.madvise(addr: base + 8, length: pageBytes, advice: .dontNeed) }
        // A "small negative" length rounds up to zero.
        #expect(throws: Errno.EINVAL) { try mm.madvise(addr: base, length: UInt64.max, advice: .dontNeed) }
        #expect(throws: Errno.EINVAL) { try mm.madvise(addr: base, length: UInt64.max - 2 * pageBytes, advice: .dontNeed) }
        // A zero length is a successful no-op, even on an unmapped address.
        try mm.madvise(addr: 0x5000_0000, length: 0, advice: .dontNeed)
        #expect(throws: Errno.EPERM) { try mm.madvise(addr: base, length: pageBytes, advice: .hwPoison) }
    }

    @Test func perVMAChecks() throws {
        let mm = MM()
        // VM_LOCKED: MADV_DONTNEED and MADV_PAGEOUT refuse, MADV_DONTNEED_LOCKED accepts.
        try mm.mmap(addr: base, length: pageBytes, prot: [.read, .write], flags: anon.union(.locked))
        #expect(throws: Errno.EINVAL) { try mm.madvise(addr: base, length: pageBytes, advice: .dontNeed) }
        #expect(throws: Errno.EINVAL) { try mm.madvise(addr: base, length: pageBytes, advice: .pageOut) }
        try mm.madvise(addr: base, length: pageBytes, advice: .dontNeedLocked)
        // MADV_FREE only on anonymous private memory.
        try mm.mmap(addr: base + 0x10_0000, length: pageBytes, prot: [.read, .write], flags: [.shared, .anonymous, .fixed])
        #expect(throws: Errno.EINVAL) { try mm.madvise(addr: base + 0x10_0000, length: pageBytes, advice: .free) }
        try mm.mmap(addr: base + 0x20_0000, length: pageBytes, prot: .read, flags: [.private, .fixed], file: TestFile())
        #expect(throws: Errno.EINVAL) { try mm.madvise(addr: base + 0x20_0000, length: pageBytes, advice: .free) }
        // MADV_WIPEONFORK only on anonymous private memory.
        #expect(throws: Errno.EINVAL) { try mm.madvise(addr: base + 0x10_0000, length: pageBytes, advice: .wipeOnFork) }
        // MADV_DOFORK on VM_IO, MADV_DONTNEED on VM_PFNMAP.
        mm.link(base + 0x30_0000, base + 0x30_1000, 0, [.read, .write, .io, .pfnMap, .dontCopy, .dontExpand])
        #expect(throws: Errno.EINVAL) { try mm.madvise(addr: base + 0x30_0000, length: pageBytes, advice: .doFork) }
        #expect(throws: Errno.EINVAL) { try mm.madvise(addr: base + 0x30_0000, length: pageBytes, advice: .dontNeed) }
        #expect(throws: Errno.EINVAL) { try mm.madvise(addr: base + 0x30_0000, length: pageBytes, advice: .doDump) }
    }

    @Test func collapseChecksTheVMAAndPassesTheAlignedRange() throws {
        let ops = RecordingPageOps()
        let mm = MM(pageOps: ops)
        let pmd = UserVM.pmdSize
        try mm.mmap(addr: 0x4000_0000, length: 3 * pmd, prot: [.read, .write], flags: anon)
        ops.clear()
        try mm.madvise(addr: 0x4000_0000 + pageBytes, length: 2 * pmd, advice: .collapse)
        // Only the whole PMDs inside the range: [0x40200000, 0x40400000).
        #expect(ops.events == [.collapse(0x4020_0000, 0x4040_0000)])
        try mm.madvise(addr: 0x4000_0000, length: 3 * pmd, advice: .noHugePage)
        #expect(throws: Errno.EINVAL) { try mm.madvise(addr: 0x4000_0000, length: pmd, advice: .collapse) }
        // A regular file mapping cannot be collapsed without READ_ONLY_THP_FOR_FS.
        try mm.mmap(addr: 0x8000_0000, length: pmd, prot: .read, flags: [.private, .fixed], file: TestFile(size: 4 << 20))
        #expect(throws: Errno.EINVAL) { try mm.madvise(addr: 0x8000_0000, length: pmd, advice: .collapse) }
        // A VMA too small to hold an aligned PMD.
        try mm.mmap(addr: 0x9000_0000, length: 4 * pageBytes, prot: [.read, .write], flags: anon)
        #expect(throws: Errno.EINVAL) { try mm.madvise(addr: 0x9000_0000, length: 4 * pageBytes, advice: .collapse) }
    }

    @Test func removeAndGuardRegions() throws {
        let ops = RecordingPageOps()
        let mm = MM(pageOps: ops)
        try mm.mmap(addr: base, length: pageBytes, prot: [.read, .write], flags: [.shared, .anonymous, .fixed])
        try mm.madvise(addr: base, length: pageBytes, advice: .remove)
        #expect(ops.events.last == .advise(.remove, base, base + pageBytes))
        try mm.mmap(addr: base + 0x10_0000, length: pageBytes, prot: [.read, .write], flags: [.private, .fixed], file: TestFile())
        #expect(throws: Errno.EACCES) { try mm.madvise(addr: base + 0x10_0000, length: pageBytes, advice: .remove) }
        try mm.mmap(addr: base + 0x20_0000, length: 2 * pageBytes, prot: [.read, .write], flags: anon)
        #expect(throws: Errno.EINVAL) { try mm.madvise(addr: base + 0x20_0000, length: pageBytes, advice: .remove) }
        // Guard regions mark the whole VMA VM_MAYBE_GUARD, a sticky flag: no split.
        try mm.madvise(addr: base + 0x20_0000, length: pageBytes, advice: .guardInstall)
        #expect(mm.vmaLookup(base + 0x20_0000).map { $0.flags.contains(.maybeGuard) && $0.length == 2 * pageBytes } == true)
        try mm.mmap(addr: base + 0x30_0000, length: pageBytes, prot: .read, flags: anon.union(.locked))
        #expect(throws: Errno.EINVAL) { try mm.madvise(addr: base + 0x30_0000, length: pageBytes, advice: .guardInstall) }
        try mm.madvise(addr: base + 0x30_0000, length: pageBytes, advice: .guardRemove)
    }

    @Test func collapseInsideOnePMDIsEINVAL() throws {
        let mm = MM()
        try mm.mmap(addr: 0x4000_0000, length: 2 * UserVM.pmdSize, prot: [.read, .write], flags: anon)
        #expect(throws: Errno.EINVAL) { try mm.madvise(addr: 0x4000_1000, length: pageBytes, advice: .collapse) }
        // An aligned-empty range: nothing to collapse, success.
        try mm.madvise(addr: 0x4000_1000, length: UserVM.pmdSize, advice: .collapse)
    }

    @Test func mergeableSetsTheMMFlag() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: 2 * pageBytes, prot: [.read, .write], flags: anon)
        try mm.madvise(addr: base, length: 2 * pageBytes, advice: .mergeable)
        #expect(mm.flags.contains(.vmMergeable))
        #expect(mm.vmas.first?.flags.contains(.mergeable) == true)
        try mm.madvise(addr: base, length: 2 * pageBytes, advice: .unmergeable)
        #expect(mm.vmas.first?.flags.contains(.mergeable) == false)
    }
}
