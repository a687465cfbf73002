// mprotect() of the model address space against Linux v6.19 (mm/mprotect.c).
@testable import PageModel
import Testing

@Suite struct MProtectTests {
    let anon: MapFlags = [.private, .anonymous, .fixed]
    let base: UInt64 = 0x1000_0000

    @Test func splitIntoThreeThenMergeBack() throws {
        let ops = RecordingPageOps()
        let mm = MM(pageOps: ops)
        try mm.mmap(addr: base, length: 3 * page, prot: [.read, .write], flags: anon)
        ops.clear()
        try mm.mprotect(addr: base + page, length: page, prot: .read)
        #expect(mm.spans == [Span(base, base + page, 0x10000), Span(base + page, base + 2 * page, 0x10001),
                             Span(base + 2 * page, base + 3 * page, 0x10002)])
        // Read-only and never faulted: VM_ACCOUNT is dropped as well.
        #expect(mm.vmas.map(\.flags.description) == ["rd wr mr mw me ac sd", "rd mr mw me sd", "rd wr mr mw me ac sd"])
        #expect(ops.events == [
            .boundary(base + page), .boundary(base + 2 * page),
            .protect(base + page, base + 2 * page, [.read, .mayRead, .mayWrite, .mayExec, .softDirty]),
        ])
        // Writable again: VM_ACCOUNT comes back and the three VMAs merge into one.
        try mm.mprotect(addr: base + page, length: page, prot: [.read, .write])
        #expect(mm.spans == [Span(base, base + 3 * page, 0x10000)])
        #expect(mm.vmas.first?.flags == anonRWFlags)
    }

    @Test func faultedAnonymousMemoryStaysAccounted() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: page, prot: [.read, .write], flags: anon)
        _ = try mm.anonVMAPrepare(at: base)
        try mm.mprotect(addr: base, length: page, prot: .none)
        #expect(mm.vmas.first?.flags.description == "mr mw me ac sd")
    }

    @Test func rangeOverSeveralVMAsAndLengthRounding() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: 2 * page, prot: .read, flags: anon)
        try mm.mmap(addr: base + 2 * page, length: 2 * page, prot: [.read, .exec], flags: anon)
        #expect(mm.mapCount == 2)
        // One byte into the last page covers it whole.
        try mm.mprotect(addr: base, length: 3 * page + 1, prot: [.read, .write])
        #expect(mm.spans == [Span(base, base + 4 * page, 0x10000)])
        #expect(mm.vmas.first?.flags == anonRWFlags)
    }

    @Test func holesAreENOMEMAfterTheFirstPartChanged() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: page, prot: .read, flags: anon)
        try mm.mmap(addr: base + 2 * page, length: page, prot: .read, flags: anon)
        #expect(throws: Errno.ENOMEM) { try mm.mprotect(addr: base, length: 3 * page, prot: [.read, .write]) }
        // As in the kernel, the VMA before the hole was already changed.
        #expect(mm.vmas.map { $0.flags.contains(.write) } == [true, false])
        // Nothing mapped at the start: ENOMEM, nothing changed.
        #expect(throws: Errno.ENOMEM) { try mm.mprotect(addr: base - page, length: 2 * page, prot: .none) }
        #expect(throws: Errno.ENOMEM) { try mm.mprotect(addr: 0x5000_0000, length: page, prot: .none) }
        // The range ends in a hole.
        #expect(throws: Errno.ENOMEM) { try mm.mprotect(addr: base + 2 * page, length: 2 * page, prot: .none) }
    }

    @Test func beyondVMMayIsEACCES() throws {
        let mm = MM()
        let file = TestFile(mode: .read)
        try mm.mmap(addr: base, length: page, prot: .read, flags: [.shared, .fixed], file: file)
        #expect(throws: Errno.EACCES) { try mm.mprotect(addr: base, length: page, prot: [.read, .write]) }
        // A private mapping of the same file may become writable (copy on write).
        try mm.mmap(addr: base + page, length: page, prot: .read, flags: [.private, .fixed], file: file)
        try mm.mprotect(addr: base + page, length: page, prot: [.read, .write])
        #expect(mm.vmaLookup(base + page)?.flags.contains(.write) == true)
    }

    @Test func badArgumentsGetTheKernelsErrno() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: 2 * page, prot: .read, flags: anon)
        #expect(throws: Errno.EINVAL) { try mm.mprotect(addr: base + 1, length: page, prot: .read) }
        #expect(throws: Errno.EINVAL) { try mm.mprotect(addr: base, length: page, prot: [.read, .growsDown, .growsUp]) }
        #expect(throws: Errno.EINVAL) { try mm.mprotect(addr: base, length: page, prot: Prot(rawValue: 0x10)) }
        // PROT_GROWSDOWN on a VMA that does not grow down.
        #expect(throws: Errno.EINVAL) { try mm.mprotect(addr: base, length: page, prot: [.read, .growsDown]) }
        // Wrapping around the address space.
        #expect(throws: Errno.ENOMEM) { try mm.mprotect(addr: base, length: UInt64.max - base, prot: .read) }
        // A zero length is a successful no-op.
        try mm.mprotect(addr: base, length: 0, prot: .none)
        #expect(mm.vmas.first?.flags.contains(.read) == true)
    }

    @Test func memoryDenyWriteExecute() throws {
        let mm = MM()
        mm.setFlags(.hasMDWE)
        #expect(throws: Errno.EACCES) { try mm.mmap(length: page, prot: [.read, .write, .exec], flags: [.private, .anonymous]) }
        let code = try mm.mmap(length: page, prot: [.read, .exec], flags: [.private, .anonymous])
        let data = try mm.mmap(length: page, prot: [.read, .write], flags: [.private, .anonymous])
        #expect(throws: Errno.EACCES) { try mm.mprotect(addr: data, length: page, prot: [.read, .exec]) }
        #expect(throws: Errno.EACCES) { try mm.mprotect(addr: code, length: page, prot: [.read, .write, .exec]) }
        try mm.mprotect(addr: code, length: page, prot: .exec)
    }

    @Test func growsDownExtendsToTheVMAStart() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: 4 * page, prot: [.read, .write], flags: anon.union(.growsDown))
        try mm.mprotect(addr: base + 2 * page, length: page, prot: [.read, .growsDown])
        // PROT_GROWSDOWN applies from the start of the VMA.
        #expect(mm.spans == [Span(base, base + 3 * page, 0x10000), Span(base + 3 * page, base + 4 * page, 0x10003)])
        #expect(mm.vmas.map { $0.flags.contains(.write) } == [false, true])
    }
}
