// The mm_struct side: mm flags with the sticky MMF_HAS_PINNED, Errno, anon_vma_prepare(),
// and the mmap_lock under concurrent use.
@testable import PageModel
import Testing

@Suite struct AddressSpaceTests {
    @Test func hasPinnedIsSticky() {
        let mm = MM()
        #expect(!mm.hasPinned)
        #expect(mm.flags == .topDown)
        #expect(MMFlags.hasPinned.rawValue == 1 << 27 && MMFlags.hasPinnedBit == 27)
        mm.setHasPinned()
        #expect(mm.hasPinned)
        mm.setHasPinned()
        // Never cleared for the life of the mm.
        mm.clearFlags(.hasPinned)
        mm.clearFlags(MMFlags(rawValue: ~0))
        #expect(mm.hasPinned)
        #expect(mm.flags == .hasPinned)
        mm.setFlags(.vmHugePage)
        #expect(mm.flags == [.hasPinned, .vmHugePage])
    }

    @Test func hasPinnedFromManyThreads() async {
        let mm = MM()
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<8 { group.addTask { mm.setHasPinned() } }
            for _ in 0..<8 { group.addTask { mm.setFlags(.vmMergeable) } }
        }
        #expect(mm.flags == [.topDown, .hasPinned, .vmMergeable])
    }

    @Test func vmFlagValuesAreTheKernels() {
        let expected: [(VMFlags, UInt64)] = [
            (.read, 0x1), (.write, 0x2), (.exec, 0x4), (.shared, 0x8), (.mayRead, 0x10),
            (.mayWrite, 0x20), (.mayExec, 0x40), (.mayShare, 0x80), (.growsDown, 0x100),
            (.pfnMap, 0x400), (.locked, 0x2000), (.io, 0x4000), (.dontCopy, 0x20000),
            (.dontExpand, 0x40000), (.account, 0x100000), (.noReserve, 0x200000),
            (.hugeTLB, 0x400000), (.wipeOnFork, 0x2000000), (.softDirty, 0x8000000),
            (.mixedMap, 0x1000_0000), (.hugePage, 0x2000_0000), (.noHugePage, 0x4000_0000),
            (.mergeable, 0x8000_0000), (.sealed, 1 << 42),
        ]
        for (flag, value) in expected { #expect(flag.rawValue == value) }
        #expect(VMFlags.special.rawValue == 0x1004_4400)
        #expect(VMFlags.dontFork == .dontCopy)
    }

    @Test func mmanValuesAreTheKernels() {
        #expect(MapFlags.shared.rawValue == 1 && MapFlags.private.rawValue == 2 && MapFlags.fixed.rawValue == 0x10)
        #expect(MapFlags.anonymous.rawValue == 0x20 && MapFlags.fixedNoReplace.rawValue == 0x100000)
        #expect(MapFlags.noReserve.rawValue == 0x4000 && MapFlags.populate.rawValue == 0x8000)
        #expect(MRemapFlags.mayMove.rawValue == 1 && MRemapFlags.fixed.rawValue == 2 && MRemapFlags.dontUnmap.rawValue == 4)
        #expect(Prot.read.rawValue == 1 && Prot.write.rawValue == 2 && Prot.exec.rawValue == 4)
    }

    @Test func errnoNamesValuesAndText() {
        let expected: [(Errno, Int32, String)] = [
            (.EPERM, 1, "EPERM"), (.ENOENT, 2, "ENOENT"), (.EINTR, 4, "EINTR"), (.EIO, 5, "EIO"),
            (.EAGAIN, 11, "EAGAIN"), (.ENOMEM, 12, "ENOMEM"), (.EACCES, 13, "EACCES"),
            (.EFAULT, 14, "EFAULT"), (.EBUSY, 16, "EBUSY"), (.EEXIST, 17, "EEXIST"),
            (.EINVAL, 22, "EINVAL"), (.ENOSPC, 28, "ENOSPC"), (.EOVERFLOW, 75, "EOVERFLOW"),
            (.EOPNOTSUPP, 95, "EOPNOTSUPP"), (.EBADF, 9, "EBADF"), (.ENODEV, 19, "ENODEV"),
            (.ETXTBSY, 26, "ETXTBSY"), (.EHOSTDOWN, 112, "EHOSTDOWN"), (.EHWPOISON, 133, "EHWPOISON"),
            (.ENOTSUPP, 524, "ENOTSUPP"),
        ]
        for (errno, value, name) in expected {
            #expect(errno.rawValue == value)
            #expect(errno.name == name)
            #expect(errno.kernelReturn == -Int64(value))
        }
        #expect(Errno.EINVAL.description == "EINVAL (22): Invalid argument")
        #expect(Errno(rawValue: 200).name == "E200")
    }

    @Test func anonVMAPrepareReusesAMergeableNeighbours() throws {
        let mm = MM()
        let base: UInt64 = 0x1000_0000
        let anon: MapFlags = [.private, .anonymous, .fixed]
        try mm.mmap(addr: base, length: pageBytes, prot: [.read, .write], flags: anon)
        try mm.mmap(addr: base + pageBytes, length: pageBytes, prot: [.read, .write, .exec], flags: anon)
        #expect(mm.mapCount == 2)
        let first = try mm.anonVMAPrepare(at: base)
        #expect(try mm.anonVMAPrepare(at: base) === first)
        // The neighbour differs only in an access flag (anon_vma_compatible()): it shares
        // the anon_vma, so the two can merge after an mprotect().
        #expect(try mm.anonVMAPrepare(at: base + pageBytes) === first)
        try mm.mprotect(addr: base + pageBytes, length: pageBytes, prot: [.read, .write])
        #expect(mm.spans == [Span(base, base + 2 * pageBytes, 0x10000)])
        // A read-only neighbour lacks VM_ACCOUNT: not compatible, it gets its own.
        try mm.mmap(addr: base + 2 * pageBytes, length: pageBytes, prot: .read, flags: anon)
        #expect(try mm.anonVMAPrepare(at: base + 2 * pageBytes) !== first)
        // A far-away VMA gets its own too.
        try mm.mmap(addr: base + 0x10_0000, length: pageBytes, prot: [.read, .write], flags: anon)
        #expect(try mm.anonVMAPrepare(at: base + 0x10_0000) !== first)
        #expect(throws: Errno.EFAULT) { try mm.anonVMAPrepare(at: 0x5000_0000) }
    }

    @Test func mmapReadTrylockFailsWhileWriteLocked() {
        let mm = MM()
        #expect(mm.mmapLock.tryWithReadLock { 1 } == 1)
        mm.mmapLock.withWriteLock {
            #expect(mm.mmapLock.tryWithReadLock { 1 } == nil)
        }
    }

    @Test func racingAnonVMAPreparesAgree() async throws {
        let mm = MM()
        let addr = try mm.mmap(length: 16 * pageBytes, prot: [.read, .write], flags: [.private, .anonymous])
        let results = await withTaskGroup(of: ObjectIdentifier?.self) { group in
            for index in 0..<8 {
                group.addTask { (try? mm.anonVMAPrepare(at: addr + UInt64(index) * pageBytes)).map(ObjectIdentifier.init) }
            }
            var all: [ObjectIdentifier?] = []
            for await result in group { all.append(result) }
            return all
        }
        #expect(results.count == 8)
        #expect(Set(results.compactMap { $0 }).count == 1)
    }

    @Test func concurrentMappersAndReaders() async throws {
        let mm = MM()
        await withTaskGroup(of: Void.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    let base = 0x1000_0000 + UInt64(worker) * 0x100_0000
                    for round in 0..<200 {
                        let addr = base + UInt64(round % 16) * 2 * pageBytes
                        _ = try? mm.mmap(addr: addr, length: 2 * pageBytes, prot: [.read, .write],
                                         flags: [.private, .anonymous, .fixed])
                        _ = try? mm.mprotect(addr: addr, length: pageBytes, prot: .read)
                        _ = try? mm.madvise(addr: addr, length: 2 * pageBytes, advice: .dontFork)
                        _ = try? mm.madvise(addr: addr, length: 2 * pageBytes, advice: .dontNeed)
                        _ = try? mm.anonVMAPrepare(at: addr)
                        if round % 3 == 0 { _ = try? mm.munmap(addr: addr + pageBytes, length: pageBytes) }
                    }
                }
            }
            for _ in 0..<2 {
                group.addTask {
                    for round in 0..<400 { _ = mm.findVMA(0x1000_0000 + UInt64(round) * pageBytes) }
                }
            }
        }
        #expect(mm.checkInvariants().isEmpty)
        #expect(mm.mapCount > 0)
    }
}
