// FOLL_* values and is_valid_gup_args() (mm/gup.c:2500-2543) through every entry point.
import Testing
@testable import PageModel
import PageLayout

@Suite struct GUPFlagsTests {
    @Test func flagValuesAreTheKernels() {
        let expected: [(FollFlags, UInt32)] = [
            (.write, 0x1), (.get, 0x2), (.dump, 0x4), (.force, 0x8), (.nowait, 0x10), (.nofault, 0x20),
            (.hwpoison, 0x40), (.anon, 0x80), (.longterm, 0x100), (.splitPMD, 0x200), (.pciP2PDMA, 0x400),
            (.interruptible, 0x800), (.honorNUMAFault, 0x1000),
            (.touch, 1 << 16), (.tried, 1 << 17), (.remote, 1 << 18), (.pin, 1 << 19), (.fastOnly, 1 << 20),
            (.unlockable, 1 << 21), (.madvPopulate, 1 << 22),
        ]
        for (flag, value) in expected { #expect(flag.rawValue == value) }
        #expect(FollFlags.internalFlags.rawValue == 0x7f_0000)
        #expect(FollFlags.longterm.rawValue == GUPPin.follLongterm)
        #expect(FollFlags.pin.rawValue == GUPPin.follPin)
        #expect(FollFlags([.write, .pin]).description == "FOLL_WRITE|FOLL_PIN")
        #expect(FollFlags(rawValue: 1 << 30).description == "0x40000000")
    }

    @Test func isValidGUPArgsRejectsWithAWarn() throws {
        let machine = try Machine(ramBytes: 128 << 20)
        let cases: [(pages: Bool, locked: Int?, flags: FollFlags, toSet: FollFlags)] = [
            (true, nil, .pin, .pin),                      // internal flag passed in
            (true, nil, .touch, .touch),
            (true, nil, .remote, []),
            (true, 0, [], .touch),                        // *locked != 1
            (true, nil, .get, .pin),                      // PIN and GET
            (true, nil, .longterm, .touch),               // LONGTERM without PIN
            (false, nil, [], .pin),                       // PIN without pages
            (false, nil, [], .get),                       // GET without pages
            (true, nil, [.longterm, .pciP2PDMA], .pin),   // LONGTERM with P2PDMA
        ]
        // Each condition is a WARN_ON_ONCE() of its own [mm/gup.c: is_valid_gup_args()]:
        // the first hit of a site records, later hits of it only count. The cases above
        // hit 6 sites: INTERNAL_GUP_FLAGS 3 times, pages-without-GET/PIN twice.
        let recordedAfter = [1, 1, 1, 2, 3, 4, 5, 5, 6]
        for (i, c) in cases.enumerated() {
            var flags = c.flags
            #expect(!machine.isValidGUPArgs(pages: c.pages, locked: c.locked, flags: &flags, toSet: c.toSet))
            #expect(flags == c.flags)
            #expect(machine.diagnostics.of(kind: .warn).count == recordedAfter[i])
        }
        #expect(machine.diagnostics.hits(of: "is_valid_gup_args: gup_flags & INTERNAL_GUP_FLAGS") == 3)
        var flags: FollFlags = .write
        #expect(machine.isValidGUPArgs(pages: true, locked: 1, flags: &flags, toSet: [.pin, .touch, .remote]))
        #expect(flags == [.write, .pin, .touch, .remote, .unlockable])
        flags = []
        #expect(machine.isValidGUPArgs(pages: false, locked: nil, flags: &flags, toSet: .touch))
        #expect(flags == .touch)
        #expect(machine.diagnostics.of(kind: .warn).count == 6)
    }

    @Test(arguments: Design.allCases)
    func entryPointsReturnEINVAL(design: Design) throws {
        let (machine, process) = try makeProcess(design)
        let addr = try process.mmapAnon(4 << 12)
        try process.write([1], at: addr)
        #expect(throws: Errno.EINVAL) { try process.getUserPages(start: addr, nrPages: 1, flags: .longterm) }
        #expect(throws: Errno.EINVAL) { try process.getUserPagesFast(start: addr, nrPages: 1, flags: .longterm) }
        // pin_user_pages() and pin_user_pages_remote() return 0, not -EINVAL, when
        // is_valid_gup_args() refuses [mm/gup.c, v6.19: `return 0;` in both].
        #expect(try process.pinUserPages(start: addr, nrPages: 1, flags: .get).isEmpty)
        #expect(throws: Errno.EINVAL) { try process.pinUserPagesFast(start: addr, nrPages: 1, flags: .pin) }
        #expect(try process.pinUserPages(start: addr, nrPages: 1, flags: [.longterm, .pciP2PDMA]).isEmpty)
        #expect(throws: Errno.EINVAL) { try process.getUserPagesRemote(of: process, start: addr, nrPages: 1, locked: 0) }
        #expect(try process.pinUserPagesRemote(of: process, start: addr, nrPages: 1, flags: .tried).isEmpty)
        #expect(try process.pinUserPagesRemote(of: process, start: addr, nrPages: 1, locked: 2).isEmpty)
        // FOLL_DUMP passes is_valid_gup_args but not gup_fast_fallback's mask.
        #expect(throws: Errno.EINVAL) { try process.pinUserPagesFast(start: addr, nrPages: 1, flags: .dump) }
        // Nine refusals at six WARN_ON_ONCE() sites: five of is_valid_gup_args()
        // (LONGTERM-without-PIN twice, PIN|GET, INTERNAL_GUP_FLAGS twice,
        // LONGTERM|P2PDMA, *locked != 1 twice) and gup_fast_fallback()'s flag mask; each
        // site records once.
        #expect(machine.diagnostics.of(kind: .warn).count == 5 + 1)
        #expect(machine.diagnostics.hits(of: "is_valid_gup_args: *locked != 1") == 2)
        #expect(machine.pinStats.pinsAcquired == 0)
        #expect(!process.mm.hasPinned)
        // An overflowing or out-of-range fast request.
        #expect(throws: Errno.EFAULT) { try process.pinUserPagesFast(start: UserVM.taskSize, nrPages: 1) }
        #expect(throws: Errno.EOVERFLOW) { try process.getUserPagesFast(start: UInt64.max - 0xfff, nrPages: 2) }
        #expect(try process.pinUserPagesFast(start: addr, nrPages: 0).isEmpty)
        #expect(try process.getUserPages(start: addr, nrPages: 0).isEmpty)
    }
}
