// mlock(), mlock2(), munlock(), mlockall(), munlockall() and RLIMIT_MEMLOCK, against
// Linux v6.19 (mm/mlock.c).
@testable import PageModel
import Testing

@Suite struct MLockTests: FixedAnonSuite {
    @Test func mlockSplitsPopulatesAndMunlockMergesBack() throws {
        let (mm, ops) = try mapped(pages: 3)
        // An unaligned start widens the range to whole pages.
        try mm.mlock(addr: base + pageBytes + 100, length: 10)
        #expect(mm.spans == [Span(base, base + pageBytes, 0x10000), Span(base + pageBytes, base + 2 * pageBytes, 0x10001),
                             Span(base + 2 * pageBytes, base + 3 * pageBytes, 0x10002)])
        #expect(mm.vmas[1].flags.description == "rd wr mr mw me lo ac sd")
        #expect(mm.lockedVM == 1)
        #expect(ops.events == [
            .boundary(base + pageBytes), .boundary(base + 2 * pageBytes),
            .mlock(base + pageBytes, base + 2 * pageBytes, locked: true), .populate(base + pageBytes, base + 2 * pageBytes),
        ])
        // Locking it again changes nothing and counts nothing.
        try mm.mlock(addr: base + pageBytes, length: pageBytes)
        #expect(mm.lockedVM == 1)
        try mm.munlock(addr: base, length: 3 * pageBytes)
        #expect(mm.spans == [Span(base, base + 3 * pageBytes, 0x10000)])
        #expect(mm.lockedVM == 0)
        #expect(ops.events.last == .mlock(base + pageBytes, base + 2 * pageBytes, locked: false))
    }

    /// mprotect_fixup(): a private VM_LOCKED VMA made writable is populated, to break
    /// COW up front; a shared one, or one already writable, is not. (The model
    /// populates once the write lock is dropped; see MProtect.swift.)
    @Test func mprotectWritableOfLockedPrivateMemoryPopulates() throws {
        let ops = RecordingPageOps()
        let mm = MM(pageOps: ops)
        try mm.mmap(addr: base, length: 2 * pageBytes, prot: [.read], flags: anon.union(.locked))
        ops.clear()
        try mm.mprotect(addr: base, length: 2 * pageBytes, prot: [.read, .write])
        #expect(ops.events.count == 2)
        #expect(ops.events.last == .populate(base, base + 2 * pageBytes))
        ops.clear()
        try mm.mprotect(addr: base, length: 2 * pageBytes, prot: [.read, .write, .exec])
        #expect(!ops.events.contains { if case .populate = $0 { true } else { false } })
        try mm.mmap(addr: base + 4 * pageBytes, length: pageBytes, prot: [.read], flags: [.shared, .anonymous, .fixed, .locked])
        ops.clear()
        try mm.mprotect(addr: base + 4 * pageBytes, length: pageBytes, prot: [.read, .write])
        #expect(!ops.events.contains { if case .populate = $0 { true } else { false } })
    }

    @Test func mlock2OnFaultDoesNotPopulate() throws {
        let (mm, ops) = try mapped(pages: 2)
        try mm.mlock2(addr: base, length: 2 * pageBytes, flags: .onFault)
        #expect(mm.vmas.first?.flags.description == "rd wr mr mw me lo lf ac sd")
        #expect(ops.events == [.mlock(base, base + 2 * pageBytes, locked: true)])
        #expect(throws: Errno.EINVAL) { try mm.mlock2(addr: base, length: pageBytes, flags: MLockFlags(rawValue: 2)) }
    }

    @Test func holesAndSpecialMappings() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: pageBytes, prot: .read, flags: anon)
        #expect(throws: Errno.ENOMEM) { try mm.mlock(addr: base, length: 2 * pageBytes) }
        // The part before the hole was locked, as in the kernel.
        #expect(mm.vmas.first?.flags.contains(.locked) == true)
        #expect(throws: Errno.ENOMEM) { try mm.mlock(addr: 0x5000_0000, length: pageBytes) }
        // VM_SPECIAL is silently left unlocked.
        mm.link(0x6000_0000, 0x6000_1000, 0, [.read, .write, .io, .pfnMap])
        try mm.mlock(addr: 0x6000_0000, length: pageBytes)
        #expect(mm.vmaLookup(0x6000_0000)?.flags.contains(.locked) == false)
    }

    @Test func rlimitMemlock() throws {
        let mm = MM(layout: AddressSpaceLayout(memlockLimit: 2 * UserVM.pageSize))
        try mm.mmap(addr: base, length: 4 * pageBytes, prot: [.read, .write], flags: anon)
        #expect(throws: Errno.ENOMEM) { try mm.mlock(addr: base, length: 3 * pageBytes) }
        try mm.mlock(addr: base, length: 2 * pageBytes)
        // Pages already locked are not counted twice.
        try mm.mlock(addr: base, length: 2 * pageBytes)
        #expect(mm.lockedVM == 2)
        #expect(throws: Errno.EAGAIN) {
            try mm.mmap(addr: 0x2000_0000, length: pageBytes, prot: .read, flags: anon.union(.locked))
        }
        // Growing a locked mapping past the limit.
        #expect(throws: Errno.EAGAIN) {
            try mm.mremap(oldAddr: base, oldLength: 2 * pageBytes, newLength: 3 * pageBytes, flags: .mayMove)
        }
        let forbidden = MM(layout: AddressSpaceLayout(memlockLimit: 0))
        try forbidden.mmap(addr: base, length: pageBytes, prot: .read, flags: anon)
        #expect(throws: Errno.EPERM) { try forbidden.mlock(addr: base, length: pageBytes) }
        #expect(throws: Errno.EPERM) { try forbidden.mmap(length: pageBytes, prot: .read, flags: [.private, .anonymous, .locked]) }
        #expect(throws: Errno.EPERM) { try forbidden.mlockall(flags: .current) }
        // CAP_IPC_LOCK: no limit.
        let privileged = MM(layout: AddressSpaceLayout(memlockLimit: nil))
        try privileged.mmap(addr: base, length: 4096 * pageBytes, prot: .read, flags: anon.union(.locked))
        #expect(privileged.lockedVM == 4096)
    }

    @Test func mlockallAndMunlockall() throws {
        let ops = RecordingPageOps()
        let mm = MM(pageOps: ops)
        try mm.mmap(addr: base, length: pageBytes, prot: .read, flags: anon)
        try mm.mmap(addr: base + 0x10_0000, length: 2 * pageBytes, prot: [.read, .write], flags: anon)
        mm.link(0x6000_0000, 0x6000_1000, 0, [.read, .write, .io, .pfnMap])
        #expect(throws: Errno.EINVAL) { try mm.mlockall(flags: []) }
        #expect(throws: Errno.EINVAL) { try mm.mlockall(flags: .onFault) }
        #expect(throws: Errno.EINVAL) { try mm.mlockall(flags: MLockAllFlags(rawValue: 8)) }
        ops.clear()
        try mm.mlockall(flags: .current)
        #expect(mm.vmas.map { $0.flags.contains(.locked) } == [true, true, false])
        #expect(mm.lockedVM == 3)
        #expect(ops.events.last == .populate(0, UserVM.taskSize))
        mm.munlockall()
        #expect(mm.vmas.allSatisfy { !$0.flags.contains(.locked) })
        #expect(mm.lockedVM == 0)
        // MCL_FUTURE: later mappings are locked (mm->def_flags).
        try mm.mlockall(flags: .future)
        let later = try mm.mmap(length: pageBytes, prot: .read, flags: [.private, .anonymous])
        #expect(mm.vmaLookup(later)?.flags.contains(.locked) == true)
        #expect(mm.vmaLookup(base)?.flags.contains(.locked) == false)
        mm.munlockall()
        let after = try mm.mmap(length: pageBytes, prot: [.read, .write], flags: [.private, .anonymous])
        #expect(mm.vmaLookup(after)?.flags.contains(.locked) == false)
    }
}
