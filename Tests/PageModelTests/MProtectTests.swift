// mprotect() of the model address space against Linux v6.19 (mm/mprotect.c).
@testable import PageModel
import Testing

@Suite struct MProtectTests: FixedAnonSuite {
    @Test func splitIntoThreeThenMergeBack() throws {
        let (mm, ops) = try mapped(pages: 3)
        try mm.mprotect(addr: base + pageBytes, length: pageBytes, prot: .read)
        #expect(mm.spans == [Span(base, base + pageBytes, 0x10000), Span(base + pageBytes, base + 2 * pageBytes, 0x10001),
                             Span(base + 2 * pageBytes, base + 3 * pageBytes, 0x10002)])
        // Read-only and never faulted: VM_ACCOUNT is dropped as well.
        #expect(mm.vmas.map(\.flags.description) == ["rd wr mr mw me ac sd", "rd mr mw me sd", "rd wr mr mw me ac sd"])
        #expect(ops.events == [
            .boundary(base + pageBytes), .boundary(base + 2 * pageBytes),
            .protect(base + pageBytes, base + 2 * pageBytes, [.read, .mayRead, .mayWrite, .mayExec, .softDirty]),
        ])
        // Writable again: VM_ACCOUNT comes back and the three VMAs merge into one.
        try mm.mprotect(addr: base + pageBytes, length: pageBytes, prot: [.read, .write])
        #expect(mm.spans == [Span(base, base + 3 * pageBytes, 0x10000)])
        #expect(mm.vmas.first?.flags == anonRWFlags)
    }

    @Test func faultedAnonymousMemoryStaysAccounted() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: pageBytes, prot: [.read, .write], flags: anon)
        _ = try mm.anonVMAPrepare(at: base)
        try mm.mprotect(addr: base, length: pageBytes, prot: .none)
        #expect(mm.vmas.first?.flags.description == "mr mw me ac sd")
    }

    @Test func rangeOverSeveralVMAsAndLengthRounding() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: 2 * pageBytes, prot: .read, flags: anon)
        try mm.mmap(addr: base + 2 * pageBytes, length: 2 * pageBytes, prot: [.read, .exec], flags: anon)
        #expect(mm.mapCount == 2)
        // One byte into the last page covers it whole.
        try mm.mprotect(addr: base, length: 3 * pageBytes + 1, prot: [.read, .write])
        #expect(mm.spans == [Span(base, base + 4 * pageBytes, 0x10000)])
        #expect(mm.vmas.first?.flags == anonRWFlags)
    }

    @Test func holesAreENOMEMAfterTheFirstPartChanged() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: pageBytes, prot: .read, flags: anon)
        try mm.mmap(addr: base + 2 * pageBytes, length: pageBytes, prot: .read, flags: anon)
        #expect(throws: Errno.ENOMEM) { try mm.mprotect(addr: base, length: 3 * pageBytes, prot: [.read, .write]) }
        // As in the kernel, the VMA before the hole was already changed.
        #expect(mm.vmas.map { $0.flags.contains(.write) } == [true, false])
        // Nothing mapped at the start: ENOMEM, nothing changed.
        #expect(throws: Errno.ENOMEM) { try mm.mprotect(addr: base - pageBytes, length: 2 * pageBytes, prot: .none) }
        #expect(throws: Errno.ENOMEM) { try mm.mprotect(addr: 0x5000_0000, length: pageBytes, prot: .none) }
        // The range ends in a hole.
        #expect(throws: Errno.ENOMEM) { try mm.mprotect(addr: base + 2 * pageBytes, length: 2 * pageBytes, prot: .none) }
    }

    @Test func beyondVMMayIsEACCES() throws {
        let mm = MM()
        let file = TestFile(mode: .read)
        try mm.mmap(addr: base, length: pageBytes, prot: .read, flags: [.shared, .fixed], file: file)
        #expect(throws: Errno.EACCES) { try mm.mprotect(addr: base, length: pageBytes, prot: [.read, .write]) }
        // A private mapping of the same file may become writable (copy on write).
        try mm.mmap(addr: base + pageBytes, length: pageBytes, prot: .read, flags: [.private, .fixed], file: file)
        try mm.mprotect(addr: base + pageBytes, length: pageBytes, prot: [.read, .write])
        #expect(mm.vmaLookup(base + pageBytes)?.flags.contains(.write) == true)
    }

    @Test func badArgumentsGetTheKernelsErrno() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: 2 * pageBytes, prot: .read, flags: anon)
        #expect(throws: Errno.EINVAL) { try mm.mprotect(addr: base + 1, length: pageBytes, prot: .read) }
        #expect(throws: Errno.EINVAL) { try mm.mprotect(addr: base, length: pageBytes, prot: [.read, .growsDown, .growsUp]) }
        #expect(throws: Errno.EINVAL) { try mm.mprotect(addr: base, length: pageBytes, prot: Prot(rawValue: 0x10)) }
        // PROT_GROWSDOWN on a VMA that does not grow down.
        #expect(throws: Errno.EINVAL) { try mm.mprotect(addr: base, length: pageBytes, prot: [.read, .growsDown]) }
        // Wrapping around the address space.
        #expect(throws: Errno.ENOMEM) { try mm.mprotect(addr: base, length: UInt64.max - base, prot: .read) }
        // A zero length is a successful no-op.
        try mm.mprotect(addr: base, length: 0, prot: .none)
        #expect(mm.vmas.first?.flags.contains(.read) == true)
    }

    @Test func memoryDenyWriteExecute() throws {
        let mm = MM()
        mm.setFlags(.hasMDWE)
        #expect(throws: Errno.EACCES) { try mm.mmap(length: pageBytes, prot: [.read, .write, .exec], flags: [.private, .anonymous]) }
        let code = try mm.mmap(length: pageBytes, prot: [.read, .exec], flags: [.private, .anonymous])
        let data = try mm.mmap(length: pageBytes, prot: [.read, .write], flags: [.private, .anonymous])
        #expect(throws: Errno.EACCES) { try mm.mprotect(addr: data, length: pageBytes, prot: [.read, .exec]) }
        #expect(throws: Errno.EACCES) { try mm.mprotect(addr: code, length: pageBytes, prot: [.read, .write, .exec]) }
        try mm.mprotect(addr: code, length: pageBytes, prot: .exec)
    }

    @Test func growsDownExtendsToTheVMAStart() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: 4 * pageBytes, prot: [.read, .write], flags: anon.union(.growsDown))
        try mm.mprotect(addr: base + 2 * pageBytes, length: pageBytes, prot: [.read, .growsDown])
        // PROT_GROWSDOWN applies from the start of the VMA.
        #expect(mm.spans == [Span(base, base + 3 * pageBytes, 0x10000), Span(base + 3 * pageBytes, base + 4 * pageBytes, 0x10003)])
        #expect(mm.vmas.map { $0.flags.contains(.write) } == [false, true])
    }
}
