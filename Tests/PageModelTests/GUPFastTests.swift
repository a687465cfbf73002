// GUP-fast (gup_fast_fallback(), gup_fast()): the lockless walk, where it falls back,
// write_protect_seq, the non-allocating entry point, and FOLL_LONGTERM with ZONE_MOVABLE
// (__gup_longterm_locked(), check_and_migrate_movable_pages()).
import Testing
@testable import PageModel
import PageLayout

@Suite struct GUPFastTests {
    @Test(arguments: Design.allCases)
    func fastPinsMappedPagesWithoutTheSlowPath(design: Design) throws {
        let (machine, process) = try makeProcess(design)
        let addr = try process.mmapAnon(16 << 12)
        for i in 0..<16 { try process.write(pattern(i), at: addr + UInt64(i) << 12) }
        let faults = machine.vmEvents.snapshot.faults
        var buffer = [Page](repeating: Page(unchecked: 0, machine.context), count: 16)
        let nr = buffer.withUnsafeMutableBufferPointer { process.pinUserPagesFast(start: addr, nrPages: 16, flags: .write, into: $0) }
        #expect(nr == 16)
        #expect(machine.vmEvents.snapshot.faults == faults)
        for i in 0..<16 {
            #expect(buffer[i].pfn == process.tables.entry(at: addr + UInt64(i) << 12).pte.pfn)
            #expect(machine.frames.read(pfn: buffer[i].pfn, count: 64) == pattern(i))
        }
        // Calling gup_fast() itself: all 16 again, nothing from the slow path.
        let direct = buffer.withUnsafeMutableBufferPointer {
            process.tables.gupFast(start: addr, end: addr + 16 << 12, flags: [.pin, .write], pages: $0.baseAddress!)
        }
        #expect(direct == 16)
        #expect(machine.pinStats.pinsAcquired == 32)
        buffer.withUnsafeBufferPointer { machine.unpinUserPages($0) }
        #expect(machine.pinStats.outstanding == 16)
        // A buffer shorter than the request.
        let short = buffer.withUnsafeMutableBufferPointer { process.pinUserPagesFast(start: addr, nrPages: 17, into: UnsafeMutableBufferPointer(rebasing: $0[0..<16])) }
        #expect(short == -Int(Errno.EINVAL.rawValue))
        let pages = try process.pinUserPagesFast(start: addr, nrPages: 16)
        machine.unpinUserPages(pages)
        let all = try process.pinUserPagesFast(start: addr, nrPages: 16)
        machine.unpinUserPages(all)
        // The first pin set is still outstanding from the direct call.
        buffer.withUnsafeBufferPointer { machine.unpinUserPages($0) }
        #expect(machine.pinStats.outstanding == 0)
        #expect(machine.diagnostics.count == 0)
    }

    @Test func fastFallsBackWhereTheKernelDoes() throws {
        let (machine, process) = try makeProcess()
        let addr = try process.mmapAnon(8 << 12)
        var buffer = [Page](repeating: Page(unchecked: 0, machine.context), count: 8)
        func fast(_ start: UInt64, _ n: Int, _ flags: FollFlags) -> Int {
            buffer.withUnsafeMutableBufferPointer {
                process.tables.gupFast(start: start, end: start + UInt64(n) << 12, flags: flags, pages: $0.baseAddress!)
            }
        }
        // Nothing mapped; then the zero page (pte_special).
        #expect(fast(addr, 1, .pin) == 0)
        _ = try process.read(addr, count: 1)
        #expect(fast(addr, 1, .pin) == 0)
        // A read-only PTE for a write.
        try process.write([1], at: addr + 1 << 12)
        try process.mm.mprotect(addr: addr + 1 << 12, length: 4096, prot: [.read])
        #expect(fast(addr + 1 << 12, 1, [.pin, .write]) == 0)
        #expect(fast(addr + 1 << 12, 1, .pin) == 1)
        buffer.withUnsafeBufferPointer { machine.unpinUserPages(UnsafeBufferPointer(rebasing: $0[0..<1])) }
        // fork() running: an odd write_protect_seq makes FOLL_PIN take nothing, FOLL_GET
        // does not care; a changed count undoes the pins.
        try process.write([2], at: addr + 2 << 12)
        process.mm.writeProtectSeq.wrappingIncrement(ordering: .relaxed)
        #expect(fast(addr + 2 << 12, 1, .pin) == 0)
        #expect(fast(addr + 2 << 12, 1, .get) == 1)
        machine.putPage(buffer[0])
        process.mm.writeProtectSeq.wrappingIncrement(ordering: .relaxed)
        #expect(fast(addr + 2 << 12, 1, .pin) == 1)
        buffer.withUnsafeBufferPointer { machine.unpinUserPages(UnsafeBufferPointer(rebasing: $0[0..<1])) }
        // A read-only pin of a page shared with a fork child must unshare: slow path.
        let child = try process.fork()
        #expect(fast(addr + 2 << 12, 1, .pin) == 0)
        let pinned = try process.pinUserPagesFast(start: addr + 2 << 12, nrPages: 1)
        #expect(pinned[0].pfn != child.tables.entry(at: addr + 2 << 12).pte.pfn)
        #expect(machine.vmEvents.snapshot.unshareCopies == 1)
        machine.unpinUserPages(pinned)
        #expect(machine.pinStats.outstanding == 0)
        #expect(machine.diagnostics.count == 0)
    }

    /// A machine whose top 128 MiB is ZONE_MOVABLE; user memory lands there first.
    static func movableMachine(_ design: Design) throws -> (Machine, Process) {
        let machine = try Machine(config: MachineConfig(ramBytes: 512 << 20, design: design, movableBytes: 256 << 20))
        return (machine, try Process(machine: machine))
    }

    @Test(arguments: Design.allCases)
    func longtermPinMigratesOutOfZoneMovable(design: Design) throws {
        let (machine, process) = try Self.movableMachine(design)
        let addr = try process.mmapAnon(32 << 12)
        for i in 0..<32 { try process.write(pattern(i), at: addr + UInt64(i) << 12) }
        for i in 0..<32 {
            #expect(machine.zone(of: process.tables.entry(at: addr + UInt64(i) << 12).pte.pfn)?.type == .movable)
        }
        for fast in [false, true] {
            let before = machine.vmEvents.snapshot.migrations
            let pages = fast ? try process.pinUserPagesFast(start: addr, nrPages: 32, flags: [.longterm, .write])
                             : try process.pinUserPages(start: addr, nrPages: 32, flags: [.longterm, .write])
            #expect(pages.count == 32)
            for (i, page) in pages.enumerated() {
                let real = machine.proxyTarget(page) ?? page
                #expect(machine.zone(of: real.pfn)?.type != .movable)
                #expect(machine.frames.read(pfn: real.pfn, count: 64) == pattern(i))
                #expect(process.tables.entry(at: addr + UInt64(i) << 12).pte.pfn == real.pfn)
                let folio = try #require(machine.pageFolio(real))
                #expect(machine.folioIsLongtermPinnable(folio) && machine.folioMaybeDMAPinned(folio))
            }
            #expect(machine.vmEvents.snapshot.migrations - before == (fast ? 0 : 32))
            machine.unpinUserPages(pages)
        }
        #expect(machine.pinStats.outstanding == 0)
        #expect(try process.read(addr + 5 << 12, count: 64) == pattern(5))
        #expect(machine.diagnostics.count == 0)
    }

    @Test(arguments: [false, true])
    func longtermFaultsAllocateOutsideZoneMovable(fast: Bool) throws {
        let (machine, process) = try Self.movableMachine(.mainline)
        let addr = try process.mmapAnon(8 << 12)
        let pages = fast ? try process.pinUserPagesFast(start: addr, nrPages: 8, flags: [.longterm, .write])
                         : try process.pinUserPages(start: addr, nrPages: 8, flags: [.longterm, .write])
        #expect(pages.count == 8)
        for page in pages { #expect(machine.zone(of: page.pfn)?.type != .movable) }
        #expect(machine.vmEvents.snapshot.migrations == 0)
        // A short-term pin of new memory is allowed to sit in ZONE_MOVABLE.
        let other = try process.mmapAnon(1 << 12)
        let short = try process.pinUserPages(start: other, nrPages: 1, flags: .write)
        #expect(machine.zone(of: short[0].pfn)?.type == .movable)
        machine.unpinUserPages(short)
        machine.unpinUserPages(pages)
    }
}
