// mseal() and what a seal refuses, against Linux v6.19 (mm/mseal.c, mm/vma.c, mm/madvise.c).
@testable import PageModel
import Testing

@Suite struct MSealTests: FixedAnonSuite {
    @Test func sealSplitsAndRefusesChanges() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: 4 * pageBytes, prot: .read, flags: anon)
        try mm.mseal(addr: base + pageBytes, length: 2 * pageBytes)
        #expect(mm.spans == [Span(base, base + pageBytes, 0x10000), Span(base + pageBytes, base + 3 * pageBytes, 0x10001),
                             Span(base + 3 * pageBytes, base + 4 * pageBytes, 0x10003)])
        #expect(mm.vmas.map { $0.flags.contains(.sealed) } == [false, true, false])
        #expect(mm.vmas[1].flags.description == "rd mr mw me sd sl")
        // Sealing again is a no-op.
        try mm.mseal(addr: base + pageBytes, length: 2 * pageBytes)
        #expect(mm.mapCount == 3)

        #expect(throws: Errno.EPERM) { try mm.munmap(addr: base + pageBytes, length: pageBytes) }
        #expect(throws: Errno.EPERM) { try mm.mprotect(addr: base + pageBytes, length: pageBytes, prot: [.read, .write]) }
        #expect(throws: Errno.EPERM) {
            try mm.mremap(oldAddr: base + pageBytes, oldLength: pageBytes, newLength: 2 * pageBytes, flags: .mayMove)
        }
        #expect(throws: Errno.EPERM) { try mm.mmap(addr: base, length: 2 * pageBytes, prot: .read, flags: anon) }
        // Discarding read-only anonymous memory is refused; other advice is fine.
        #expect(throws: Errno.EPERM) { try mm.madvise(addr: base + pageBytes, length: pageBytes, advice: .dontNeed) }
        try mm.madvise(addr: base + pageBytes, length: pageBytes, advice: .pageOut)
        // An unmap over sealed and unsealed VMAs changes nothing but the split at its start.
        #expect(throws: Errno.EPERM) { try mm.munmap(addr: base, length: 4 * pageBytes) }
        #expect(mm.mapCount == 3)
        // The unsealed neighbours can still go.
        try mm.munmap(addr: base + 3 * pageBytes, length: pageBytes)
        #expect(mm.mapCount == 2)
    }

    @Test func discardOnWritableOrFileMemoryIsAllowed() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: pageBytes, prot: [.read, .write], flags: anon)
        try mm.mmap(addr: base + 0x10_0000, length: pageBytes, prot: .read, flags: [.private, .fixed], file: TestFile())
        try mm.mseal(addr: base, length: pageBytes)
        try mm.mseal(addr: base + 0x10_0000, length: pageBytes)
        try mm.madvise(addr: base, length: pageBytes, advice: .dontNeed)
        try mm.madvise(addr: base + 0x10_0000, length: pageBytes, advice: .dontNeed)
    }

    @Test func badArgumentsGetTheKernelsErrno() throws {
        let mm = MM()
        try mm.mmap(addr: base, length: pageBytes, prot: .read, flags: anon)
        #expect(throws: Errno.EINVAL) { try mm.mseal(addr: base, length: pageBytes, flags: 1) }
        #expect(throws: Errno.EINVAL) { try mm.mseal(addr: base + 1, length: pageBytes) }
        #expect(throws: Errno.EINVAL) { try mm.mseal(addr: base, length: UInt64.max) }
        #expect(throws: Errno.EINVAL) { try mm.mseal(addr: base, length: UInt64.max - pageBytes) }
        // A hole: ENOMEM, and nothing sealed.
        #expect(throws: Errno.ENOMEM) { try mm.mseal(addr: base, length: 2 * pageBytes) }
        #expect(mm.vmas.first?.flags.contains(.sealed) == false)
        try mm.mseal(addr: base, length: 0)
    }
}
