// mmap() and munmap() of the model address space against Linux v6.19 (mm/mmap.c, mm/vma.c).
@testable import PageModel
import Testing

@Suite struct MMapTests {
    let anon: MapFlags = [.private, .anonymous]

    @Test func firstMappingsGoTopDownBelowMmapBaseAndMerge() throws {
        let mm = MM()
        #expect(UserVM.mmapBase == 0x7fff_f7ff_f000)
        let first = try mm.mmap(length: pageBytes, prot: [.read, .write], flags: anon)
        #expect(first == 0x7fff_f7ff_e000)
        let id = try #require(mm.findVMA(first)?.id)
        // The next mapping lands just below and merges into the same VMA.
        let second = try mm.mmap(length: pageBytes, prot: [.read, .write], flags: anon)
        #expect(second == 0x7fff_f7ff_d000)
        #expect(mm.spans == [Span(0x7fff_f7ff_d000, 0x7fff_f7ff_f000, 0x7_ffff_7ffd)])
        #expect(mm.vmas.first?.id == id)
        // "rd wr mr mw me ac sd", as /proc/PID/smaps shows a private anonymous mapping.
        #expect(mm.vmas.first?.flags == anonRWFlags)
        #expect(mm.vmas.first?.flags.description == "rd wr mr mw me ac sd")
        #expect(mm.totalVMPages == 2)
    }

    @Test func pmdMultipleAnonymousMappingsAreTHPAligned() throws {
        let mm = MM()
        let addr = try mm.mmap(length: 2 << 20, prot: [.read, .write], flags: anon)
        #expect(addr == 0x7fff_f7c0_0000)
        #expect(addr % UserVM.pmdSize == 0)
        let four = try mm.mmap(length: 4 << 20, prot: [.read, .write], flags: anon)
        #expect(four == 0x7fff_f780_0000)
    }

    @Test func hintIsUsedWhenFreeAndRoundedUpToMmapMinAddr() throws {
        let mm = MM()
        #expect(try mm.mmap(addr: 0x1000_0000, length: pageBytes, prot: .read, flags: anon) == 0x1000_0000)
        #expect(try mm.mmap(addr: 0x2000_0123, length: pageBytes, prot: .read, flags: anon) == 0x2000_1000)
        #expect(try mm.mmap(addr: 0x1000, length: pageBytes, prot: .read, flags: anon) == 0x10000)
        // An occupied hint falls back to the top-down search.
        #expect(try mm.mmap(addr: 0x1000_0000, length: pageBytes, prot: .read, flags: anon) == 0x7fff_f7ff_e000)
    }

    @Test func hintInsideTheStackGuardGapIsRefused() throws {
        let mm = MM()
        try mm.mmap(addr: 0x2000_0000, length: 4 * pageBytes, prot: [.read, .write],
                    flags: anon.union([.fixed, .growsDown]))
        #expect(mm.vmas.first?.flags.contains(.growsDown) == true)
        // [0x1ffff000, 0x20000000) ends above vm_start_gap() = 0x20000000 - 1 MiB.
        let addr = try mm.mmap(addr: 0x1fff_f000, length: pageBytes, prot: .read, flags: anon)
        #expect(addr != 0x1fff_f000)
        // Below the gap it is accepted.
        #expect(try mm.mmap(addr: 0x1fef_f000, length: pageBytes, prot: .read, flags: anon) == 0x1fef_f000)
    }

    @Test func mapFixedReplacesAndSplits() throws {
        let ops = RecordingPageOps()
        let mm = MM(pageOps: ops)
        let base: UInt64 = 0x1000_0000
        try mm.mmap(addr: base, length: 4 * pageBytes, prot: [.read, .write], flags: anon.union(.fixed))
        ops.clear()
        #expect(try mm.mmap(addr: base + pageBytes, length: pageBytes, prot: .read, flags: anon.union(.fixed)) == base + pageBytes)
        #expect(mm.spans == [Span(base, base + pageBytes, 0x10000), Span(base + pageBytes, base + 2 * pageBytes, 0x10001),
                             Span(base + 2 * pageBytes, base + 4 * pageBytes, 0x10002)])
        #expect(mm.vmas.map(\.flags.description) == ["rd wr mr mw me ac sd", "rd mr mw me sd", "rd wr mr mw me ac sd"])
        #expect(ops.events == [
            .boundary(base + pageBytes), .boundary(base + 2 * pageBytes), .unmap(base + pageBytes, base + 2 * pageBytes),
            .freeTables(base + pageBytes, base + 2 * pageBytes, floor: base + pageBytes, ceiling: base + 2 * pageBytes),
        ])
    }

    @Test func mapFixedNoReplace() throws {
        let mm = MM()
        let base: UInt64 = 0x1000_0000
        try mm.mmap(addr: base, length: 2 * pageBytes, prot: .read, flags: anon.union(.fixed))
        #expect(throws: Errno.EEXIST) {
            try mm.mmap(addr: base + pageBytes, length: 2 * pageBytes, prot: .read, flags: anon.union(.fixedNoReplace))
        }
        #expect(try mm.mmap(addr: base + 2 * pageBytes, length: pageBytes, prot: .read, flags: anon.union(.fixedNoReplace)) == base + 2 * pageBytes)
        // Same flags, contiguous: merged.
        #expect(mm.spans == [Span(base, base + 3 * pageBytes, 0x10000)])
    }

    @Test func sharedAnonymousMappingsHaveTheirOwnShmemFile() throws {
        let mm = MM()
        let base: UInt64 = 0x1000_0000
        try mm.mmap(addr: base, length: pageBytes, prot: [.read, .write], flags: [.shared, .anonymous, .fixed])
        try mm.mmap(addr: base + pageBytes, length: pageBytes, prot: [.read, .write], flags: [.shared, .anonymous, .fixed])
        let vmas = mm.vmas
        #expect(vmas.count == 2)
        #expect(vmas.map(\.flags.description) == ["rd wr sh mr mw me ms sd", "rd wr sh mr mw me ms sd"])
        #expect(vmas.allSatisfy { $0.pgoff == 0 && $0.file?.file is SharedAnonymousFile && !$0.isAnonymous })
        #expect(vmas[0].file != vmas[1].file)
    }

    @Test func fileMappingsFlagsAndMerging() throws {
        let mm = MM()
        let readOnly = TestFile(mode: .read)
        let base: UInt64 = 0x1000_0000
        // Private: VM_MAYWRITE stays (a private copy may be written after mprotect).
        try mm.mmap(addr: base, length: 2 * pageBytes, prot: .read, flags: [.private, .fixed], file: readOnly)
        #expect(mm.vmas.last?.flags.description == "rd mr mw me sd")
        // Shared of a read-only file: VM_SHARED and VM_MAYWRITE dropped, VM_MAYSHARE kept.
        try mm.mmap(addr: base + 0x10_0000, length: pageBytes, prot: .read, flags: [.shared, .fixed], file: readOnly)
        #expect(mm.vmas.last?.flags.description == "rd mr me ms sd")
        // Shared writable of a writable file.
        let writable = TestFile()
        try mm.mmap(addr: base + 0x20_0000, length: 2 * pageBytes, prot: [.read, .write], flags: [.shared, .fixed], file: writable)
        #expect(mm.vmas.last?.flags.description == "rd wr sh mr mw me ms sd")
        // The next two pages of the same file, placed right after: one VMA.
        try mm.mmap(addr: base + 0x20_0000 + 2 * pageBytes, length: 2 * pageBytes, prot: [.read, .write],
                    flags: [.shared, .fixed], file: writable, offset: 2 * pageBytes)
        #expect(mm.vmas.last.map { Span($0.start, $0.end, $0.pgoff) } == Span(base + 0x20_0000, base + 0x20_0000 + 4 * pageBytes, 0))
        // At a non-contiguous offset: a separate VMA.
        try mm.mmap(addr: base + 0x20_0000 + 4 * pageBytes, length: pageBytes, prot: [.read, .write],
                    flags: [.shared, .fixed], file: writable, offset: 9 * pageBytes)
        #expect(mm.mapCount == 4)
    }

    @Test func flagBitsFromMapFlags() throws {
        let mm = MM()
        let stack = try mm.mmap(length: pageBytes, prot: [.read, .write], flags: anon.union(.stack))
        #expect(mm.vmaLookup(stack)?.flags.contains(.noHugePage) == true)
        let noReserve = try mm.mmap(addr: 0x1000_0000, length: pageBytes, prot: [.read, .write], flags: anon.union(.noReserve))
        let flags = try #require(mm.vmaLookup(noReserve)?.flags)
        #expect(flags.contains(.noReserve) && !flags.contains(.account))
    }

    @Test func droppableAndMapsLine() throws {
        let mm = MM()
        let addr = try mm.mmap(addr: 0x1000_0000, length: pageBytes, prot: [.read, .write], flags: [.droppable, .anonymous])
        #expect(mm.vmaLookup(addr)?.flags.description == "rd wr mr mw me nr wf dd sd dp")
        #expect(throws: Errno.EINVAL) { try mm.mmap(length: pageBytes, prot: .read, flags: [.droppable, .anonymous, .locked]) }
        #expect(throws: Errno.EINVAL) { try mm.mmap(length: pageBytes, prot: .read, flags: .droppable, file: TestFile()) }
        #expect(mm.vmaLookup(addr)?.description == "10000000-10001000 rw-p 10000000 [anon]")
        try mm.mmap(addr: 0x2000_0000, length: pageBytes, prot: .read, flags: [.shared, .fixed], file: TestFile(), offset: 0x3000)
        #expect(mm.procMaps == "10000000-10001000 rw-p 10000000 [anon]\n20000000-20001000 r--s 00003000 test.bin")
    }

    @Test func populateAndLocked() throws {
        let ops = RecordingPageOps()
        let mm = MM(pageOps: ops)
        let addr = try mm.mmap(addr: 0x1000_0000, length: 3 * pageBytes, prot: [.read, .write], flags: anon.union(.populate))
        #expect(ops.events == [.populate(addr, addr + 3 * pageBytes)])
        ops.clear()
        // MAP_POPULATE | MAP_NONBLOCK does not populate.
        try mm.mmap(addr: 0x2000_0000, length: pageBytes, prot: .read, flags: anon.union([.populate, .nonBlock]))
        #expect(ops.events.isEmpty)
        let locked = try mm.mmap(addr: 0x3000_0000, length: 2 * pageBytes, prot: .read, flags: anon.union(.locked))
        #expect(mm.vmaLookup(locked)?.flags.contains(.locked) == true)
        #expect(mm.lockedVM == 2)
        #expect(ops.events == [.populate(locked, locked + 2 * pageBytes)])
        try mm.munmap(addr: locked, length: pageBytes)
        #expect(mm.lockedVM == 1)
    }

    @Test func badArgumentsGetTheKernelsErrno() throws {
        let mm = MM()
        let rw: Prot = [.read, .write]
        #expect(throws: Errno.EINVAL) { try mm.mmap(length: 0, prot: rw, flags: anon) }
        #expect(throws: Errno.EINVAL) { try mm.mmap(addr: 0x1000_0800, length: pageBytes, prot: rw, flags: anon.union(.fixed)) }
        #expect(throws: Errno.EINVAL) { try mm.mmap(length: pageBytes, prot: rw, flags: .anonymous) }
        #expect(throws: Errno.EINVAL) { try mm.mmap(length: pageBytes, prot: rw, flags: [.shared, .private, .anonymous]) }
        #expect(throws: Errno.EINVAL) { try mm.mmap(length: pageBytes, prot: rw, flags: [.shared, .anonymous, .growsDown]) }
        #expect(throws: Errno.EINVAL) { try mm.mmap(length: pageBytes, prot: .read, flags: [], file: TestFile()) }
        #expect(throws: Errno.EINVAL) { try mm.mmap(length: pageBytes, prot: .read, flags: [.private], file: TestFile(), offset: 100) }
        #expect(throws: Errno.EINVAL) { try mm.mmap(length: pageBytes, prot: .read, flags: [.private, .growsDown], file: TestFile()) }
        #expect(throws: Errno.EBADF) { try mm.mmap(length: pageBytes, prot: .read, flags: .private) }
        #expect(throws: Errno.ENOMEM) { try mm.mmap(length: 1 << 47, prot: rw, flags: anon) }
        #expect(throws: Errno.ENOMEM) { try mm.mmap(length: UInt64.max, prot: rw, flags: anon) }
        #expect(throws: Errno.ENOMEM) { try mm.mmap(length: 2 << 20, prot: rw, flags: anon.union(.hugeTLB)) }
        #expect(throws: Errno.EPERM) { try mm.mmap(addr: 0x1000, length: pageBytes, prot: rw, flags: anon.union(.fixed)) }
        #expect(throws: Errno.EACCES) {
            try mm.mmap(length: pageBytes, prot: rw, flags: .shared, file: TestFile(mode: .read))
        }
        #expect(throws: Errno.EACCES) { try mm.mmap(length: pageBytes, prot: .read, flags: .private, file: TestFile(mode: .write)) }
        #expect(throws: Errno.EOPNOTSUPP) {
            try mm.mmap(length: pageBytes, prot: .read, flags: [.sharedValidate, .sync], file: TestFile())
        }
        // Plain MAP_SHARED ignores the flag MAP_SHARED_VALIDATE rejects.
        #expect(throws: Never.self) { try mm.mmap(length: pageBytes, prot: .read, flags: [.shared, .sync], file: TestFile()) }
        #expect(throws: Errno.EOVERFLOW) {
            try mm.mmap(length: 2 * pageBytes, prot: .read, flags: .private, file: TestFile(), offset: 0x7fff_ffff_ffff_f000)
        }
        #expect(mm.checkInvariants().isEmpty)
    }

    @Test func noRoomIsENOMEMAndMapCountIsLimited() throws {
        let small = AddressSpaceLayout(taskSize: 0x10_0000, mmapBase: 0x10_0000, mmapMinAddr: 0x10000, maxMapCount: 4)
        let mm = MM(layout: small)
        #expect(try mm.mmap(length: 0xf0000, prot: .read, flags: anon) == 0x10000)
        #expect(throws: Errno.ENOMEM) { try mm.mmap(length: pageBytes, prot: .read, flags: anon) }

        let counted = MM(layout: AddressSpaceLayout(maxMapCount: 4))
        // Alternate protections so that nothing merges: five VMAs are allowed (the check is
        // map_count > max_map_count), the sixth is not.
        for index in 0..<5 {
            try counted.mmap(addr: 0x1000_0000 + UInt64(index) * pageBytes, length: pageBytes,
                             prot: index % 2 == 0 ? .read : [.read, .write], flags: anon.union(.fixed))
        }
        #expect(counted.mapCount == 5)
        #expect(throws: Errno.ENOMEM) { try counted.mmap(length: pageBytes, prot: .read, flags: anon) }
    }

    /// tools/testing/vma/tests/mmap.c: test_mmap_region_basic.
    @Test func mmapRegionBasic() throws {
        let mm = MM()
        func region(_ addr: UInt64, _ pgoff: UInt64) throws(Errno) -> UInt64 {
            try mm.mmapLock.withWriteLock { () throws(Errno) -> UInt64 in
                try mm.mmapRegion(file: nil, addr: addr, length: 0x3000, vmFlags: testFlags, pgoff: pgoff)
            }
        }
        #expect(try region(0x300000, 0x300) == 0x300000)
        #expect(try region(0x250000, 0x250) == 0x250000)
        // Merging to 0x300000 of length 0x6000, then to 0x24d000 of length 0x6000.
        #expect(try region(0x303000, 0x303) == 0x303000)
        #expect(try region(0x24d000, 0x24d) == 0x24d000)
        #expect(mm.mapCount == 2)
        #expect(mm.spans == [Span(0x24d000, 0x253000, 0x24d), Span(0x300000, 0x306000, 0x300)])
    }

    @Test func fileMmapPrepareAddsFlagsOrRefuses() throws {
        let mm = MM()
        let base: UInt64 = 0x1000_0000
        let device = DeviceFile()
        try mm.mmap(addr: base, length: 2 * pageBytes, prot: [.read, .write], flags: [.shared, .fixed], file: device)
        #expect(mm.vmas.first?.flags.description == "rd wr sh mr mw me ms pf io de dd sd")
        // VM_SPECIAL: the next part of the device does not merge.
        try mm.mmap(addr: base + 2 * pageBytes, length: pageBytes, prot: [.read, .write], flags: [.shared, .fixed],
                    file: device, offset: 2 * pageBytes)
        #expect(mm.mapCount == 2)
        // A refusing mmap_prepare() leaves what MAP_FIXED would have replaced.
        #expect(throws: Errno.ENODEV) {
            try mm.mmap(addr: base, length: pageBytes, prot: .read, flags: [.shared, .fixed], file: DeviceFile(refuse: true))
        }
        #expect(mm.mapCount == 2)
        // MAP_HUGETLB on a file that is not on hugetlbfs.
        #expect(throws: Errno.EINVAL) { try mm.mmap(length: pageBytes, prot: .read, flags: [.shared, .hugeTLB], file: TestFile()) }
    }

    @Test func expandStackGrowsDownToTheFault() throws {
        let mm = MM(layout: AddressSpaceLayout(stackLimit: 64 * UserVM.pageSize))
        let top: UInt64 = 0x2000_0000
        try mm.mmap(addr: top, length: 4 * pageBytes, prot: [.read, .write], flags: anon.union([.fixed, .growsDown]))
        #expect(mm.expandStack(top + 5)?.start == top)
        let grown = try #require(mm.expandStack(top - 2 * pageBytes + 0x123))
        #expect(Span(grown.start, grown.end, grown.pgoff) == Span(top - 2 * pageBytes, top + 4 * pageBytes, 0x1fffe))
        #expect(grown.anonVMA != nil)
        // RLIMIT_STACK: 64 pages in all.
        #expect(mm.expandStack(top + 4 * pageBytes - 65 * pageBytes) == nil)
        #expect(mm.expandStack(top + 4 * pageBytes - 64 * pageBytes)?.pages == 64)
        // Nothing above, or a VMA above that does not grow down: SIGSEGV.
        #expect(mm.expandStack(top + 0x100_0000) == nil)
        try mm.mmap(addr: 0x4000_0000, length: pageBytes, prot: .read, flags: anon.union(.fixed))
        #expect(mm.expandStack(0x3fff_f000) == nil)
    }

    @Test func expandStackKeepsTheGuardGap() throws {
        let mm = MM()
        let top: UInt64 = 0x2000_0000
        try mm.mmap(addr: top, length: pageBytes, prot: [.read, .write], flags: anon.union([.fixed, .growsDown]))
        try mm.mmap(addr: 0x1fe0_0000, length: pageBytes, prot: .read, flags: anon.union(.fixed))
        // 0x1ff00000 is less than 1 MiB above the VMA ending at 0x1fe01000.
        #expect(mm.expandStack(0x1ff0_0000) == nil)
        #expect(mm.expandStack(0x1ff0_1000)?.start == 0x1ff0_1000)
        // An inaccessible (PROT_NONE) VMA below is no obstacle.
        let other = MM()
        try other.mmap(addr: top, length: pageBytes, prot: [.read, .write], flags: anon.union([.fixed, .growsDown]))
        try other.mmap(addr: top - 2 * pageBytes, length: pageBytes, prot: .none, flags: anon.union(.fixed))
        #expect(other.expandStack(top - pageBytes)?.start == top - pageBytes)
    }

    @Test func findVMASemantics() throws {
        let mm = MM()
        try mm.mmap(addr: 0x1000_0000, length: pageBytes, prot: .read, flags: anon.union(.fixed))
        try mm.mmap(addr: 0x2000_0000, length: pageBytes, prot: .read, flags: anon.union(.fixed))
        #expect(mm.findVMA(0)?.start == 0x1000_0000)
        #expect(mm.findVMA(0x1000_0fff)?.start == 0x1000_0000)
        #expect(mm.findVMA(0x1000_1000)?.start == 0x2000_0000)
        #expect(mm.vmaLookup(0x1000_1000) == nil)
        #expect(mm.vmaLookup(0x2000_0000)?.start == 0x2000_0000)
        #expect(mm.findVMA(0x2000_1000) == nil)
        #expect(mm.findVMAIntersection(0x1000_1000, 0x2000_0000) == nil)
        #expect(mm.findVMAIntersection(0x1000_1000, 0x2000_0001)?.start == 0x2000_0000)
    }
}

@Suite struct MUnmapTests: FixedAnonSuite {
    @Test func unmapSplitsAtBothEnds() throws {
        let (mm, ops) = try mapped(pages: 4)
        try mm.munmap(addr: base + pageBytes, length: 2 * pageBytes)
        #expect(mm.spans == [Span(base, base + pageBytes, 0x10000), Span(base + 3 * pageBytes, base + 4 * pageBytes, 0x10003)])
        #expect(ops.events == [
            .boundary(base + pageBytes), .boundary(base + 3 * pageBytes), .unmap(base + pageBytes, base + 3 * pageBytes),
            .freeTables(base + pageBytes, base + 3 * pageBytes, floor: base + pageBytes, ceiling: base + 3 * pageBytes),
        ])
    }

    @Test func unmapAcrossSeveralVMAs() throws {
        let ops = RecordingPageOps()
        let mm = MM(pageOps: ops)
        try mm.mmap(addr: base, length: 2 * pageBytes, prot: .read, flags: anon)
        try mm.mmap(addr: base + 2 * pageBytes, length: 2 * pageBytes, prot: [.read, .write], flags: anon)
        try mm.mmap(addr: base + 4 * pageBytes, length: 2 * pageBytes, prot: .read, flags: anon)
        #expect(mm.mapCount == 3)
        ops.clear()
        try mm.munmap(addr: base + pageBytes, length: 4 * pageBytes)
        #expect(mm.spans == [Span(base, base + pageBytes, 0x10000), Span(base + 5 * pageBytes, base + 6 * pageBytes, 0x10005)])
        #expect(ops.events.filter { if case .unmap = $0 { true } else { false } } == [
            .unmap(base + pageBytes, base + 2 * pageBytes), .unmap(base + 2 * pageBytes, base + 4 * pageBytes),
            .unmap(base + 4 * pageBytes, base + 5 * pageBytes),
        ])
    }

    @Test func lengthIsRoundedAndHolesAreFine() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: 2 * pageBytes, prot: .read, flags: anon)
        try mm.munmap(addr: base, length: 1)
        #expect(mm.spans == [Span(base + pageBytes, base + 2 * pageBytes, 0x10001)])
        // Nothing mapped there: success.
        try mm.munmap(addr: 0x5000_0000, length: 16 * pageBytes)
        try mm.munmap(addr: base, length: 3 * pageBytes)
        #expect(mm.vmas.isEmpty)
    }

    @Test func badArgumentsAreEINVAL() {
        let mm = MM()
        #expect(throws: Errno.EINVAL) { try mm.munmap(addr: base + 1, length: pageBytes) }
        #expect(throws: Errno.EINVAL) { try mm.munmap(addr: base, length: 0) }
        #expect(throws: Errno.EINVAL) { try mm.munmap(addr: UserVM.taskSize + pageBytes, length: pageBytes) }
        #expect(throws: Errno.EINVAL) { try mm.munmap(addr: base, length: UserVM.taskSize) }
    }

    @Test func exitMmapUnmapsEverything() throws {
        let ops = RecordingPageOps()
        let mm = MM(pageOps: ops)
        try mm.mmap(addr: base, length: 2 * pageBytes, prot: .read, flags: anon.union(.locked))
        try mm.mmap(addr: base + 0x10_0000, length: pageBytes, prot: .read, flags: anon)
        try mm.mseal(addr: base + 0x10_0000, length: pageBytes)
        ops.clear()
        mm.exitMmap()
        #expect(mm.vmas.isEmpty && mm.lockedVM == 0)
        #expect(ops.events == [
            .unmap(base, base + 2 * pageBytes), .unmap(base + 0x10_0000, base + 0x10_1000),
            .freeTables(base, base + 0x10_1000, floor: 0, ceiling: 0),
        ])
        mm.exitMmap()
        #expect(ops.events.count == 3)
    }

    @Test func holeAtTheMapCountLimitIsENOMEM() throws {
        let mm = MM(layout: AddressSpaceLayout(maxMapCount: 1))
        try mm.mmap(addr: base, length: 3 * pageBytes, prot: .read, flags: anon)
        #expect(throws: Errno.ENOMEM) { try mm.munmap(addr: base + pageBytes, length: pageBytes) }
        #expect(mm.spans == [Span(base, base + 3 * pageBytes, 0x10000)])
        // Trimming an end does not add a VMA and is allowed.
        try mm.munmap(addr: base, length: pageBytes)
        #expect(mm.spans == [Span(base + pageBytes, base + 3 * pageBytes, 0x10001)])
    }
}
