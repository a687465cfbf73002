// Port of every pin case of tools/testing/selftests/mm/cow.c (v6.19), on every design:
// the anonymous cases of anon_test_cases[] that involve GUP, a pin, vmsplice() or an
// io_uring fixed buffer, over every backing of run_anon_test_case() (`AnonBacking`:
// base page, swapped-out base page, PMD-mapped THP, swapped-out PMD THP, and for every
// THP size the model has (orders 2...9): PTE-mapped, swapped-out PTE-mapped, single PTE,
// swapped-out single PTE, partially mremap()'ed, partially shared), and the
// non-anonymous "R/O longterm GUP(-fast) pin" cases of non_anon_test_cases[] over the
// shared zeropage, memfd, a tmpfs tmpfile and a disk tmpfile. Each outcome is the one
// cow.c asserts (KSFT_PASS; only hugetlb is XFAIL there).
//
// The kernel interfaces the test reaches through are modelled by the GUP calls they
// make: vmsplice() is iter_to_pipe() → iov_iter_get_pages2() → get_user_pages_fast()
// (FOLL_GET, read-only) into a pipe of PIPE_DEF_BUFFERS = 16 pages (fs/splice.c,
// lib/iov_iter.c); io_uring_register_buffers() is io_pin_pages() →
// pin_user_pages_fast(FOLL_WRITE | FOLL_LONGTERM) and IORING_OP_WRITE_FIXED reads the
// pinned pages (io_uring/rsrc.c, io_uring/memmap.c); PIN_LONGTERM_TEST_* is the model
// of mm/gup_test.c.
//
// Not modelled, so not ported: hugetlb (run_with_hugetlb(), run_with_memfd_hugetlb():
// the model has no hugetlbfs). The huge zeropage backing (run_with_huge_zeropage()) of
// the R/O longterm pin cases is in HugeZeroFolioTests.swift. clear_softdirty() has no counterpart (no soft-dirty
// tracking); the mprotect() pair runs as cow.c runs it.
//
// One machine per (test, design) runs every backing in turn, each in a fresh process,
// so that the 12 × 52 × 8 anonymous cases stay within CI's time.
import Testing
@testable import PageModel
import PageLayout

/// The non-anon backings of run_non_anon_test_case() the model has (not hugetlb, not
/// the huge zeropage).
enum NonAnonBacking: CaseIterable, CustomStringConvertible {
    case sharedZeropage, memfd, tmpfsTmpfile, diskTmpfile

    var description: String {
        switch self {
        case .sharedZeropage: "shared zeropage"
        case .memfd: "memfd"
        case .tmpfsTmpfile: "tmpfile (tmpfs)"
        case .diskTmpfile: "tmpfile (disk)"
        }
    }

    /// run_with_zeropage() / run_with_memfd() / run_with_tmpfile(): a private R/W
    /// mapping `mem` and an R/O mapping `smem` (shared; a second private one for the
    /// zeropage) of one page (fallocate()d for a file), both read once.
    func map(_ machine: Machine, _ process: Process) throws -> (mem: UInt64, smem: UInt64) {
        let mem: UInt64, smem: UInt64
        switch self {
        case .sharedZeropage:
            mem = try process.mmapAnon(4096)
            smem = try process.mmapAnon(4096, prot: [.read])
        case .memfd, .tmpfsTmpfile, .diskTmpfile:
            let fs = Filesystem(machine: machine, kind: self == .diskTmpfile ? .disk : .shmem)
            let file = try self == .memfd ? fs.memfdCreate(name: "test") : fs.tmpfile()
            try file.fallocate(mode: [], offset: 0, length: 4096)
            mem = try process.mm.mmap(length: 4096, prot: [.read, .write], flags: [.private], file: file)
            smem = try process.mm.mmap(length: 4096, prot: [.read], flags: [.shared], file: file)
        }
        _ = try process.read(mem, count: 1)
        _ = try process.read(smem, count: 1)
        return (mem, smem)
    }
}

/// The anon_test_cases[] of cow.c that pin or take GUP references.
enum AnonPinTest: CaseIterable, CustomStringConvertible {
    case vmspliceInChild, vmspliceInChildMprotect, vmspliceBeforeFork, vmspliceAfterFork
    case iouringRO, iouringFork
    case roPinOnShared, roFastPinOnShared, roPinOnROPreviouslyShared, roFastPinOnROPreviouslyShared
    case roPinOnROExclusive, roFastPinOnROExclusive

    var description: String {
        switch self {
        case .vmspliceInChild: "vmsplice() + unmap in child"
        case .vmspliceInChildMprotect: "vmsplice() + unmap in child with mprotect() optimization"
        case .vmspliceBeforeFork: "vmsplice() before fork(), unmap in parent after fork()"
        case .vmspliceAfterFork: "vmsplice() + unmap in parent after fork()"
        case .iouringRO: "R/O-mapping a page registered as iouring fixed buffer"
        case .iouringFork: "fork() with an iouring fixed buffer"
        case .roPinOnShared: "R/O GUP pin on R/O-mapped shared page"
        case .roFastPinOnShared: "R/O GUP-fast pin on R/O-mapped shared page"
        case .roPinOnROPreviouslyShared: "R/O GUP pin on R/O-mapped previously-shared page"
        case .roFastPinOnROPreviouslyShared: "R/O GUP-fast pin on R/O-mapped previously-shared page"
        case .roPinOnROExclusive: "R/O GUP pin on R/O-mapped exclusive page"
        case .roFastPinOnROExclusive: "R/O GUP-fast pin on R/O-mapped exclusive page"
        }
    }
}

/// A pipe filled by vmsplice(): the FOLL_GET references of get_user_pages_fast() on
/// at most PIPE_DEF_BUFFERS pages; reading it copies those pages' bytes.
struct VmsplicedPipe {
    static let pipeDefBuffers = 16
    let machine: Machine
    let pages: [Page]

    init(_ process: Process, _ mem: UInt64, _ size: UInt64) throws {
        machine = process.machine
        pages = try process.getUserPagesFast(start: mem, nrPages: min(Int(size >> 12), Self.pipeDefBuffers))
    }

    var transferred: Int { pages.count << 12 }

    /// read(fds[0]) of everything transferred.
    func read() -> [UInt8] { pages.flatMap { machine.frames.read(pfn: $0.pfn, count: 4096) ?? [] } }

    /// close(): each pipe buffer's put_page().
    func release() { for page in pages { machine.putPage(page) } }
}

@Suite struct COWSelftestPinTests {
    /// The bytes a set of pinned pages (or their proxies) holds.
    static func bytes(_ machine: Machine, _ pages: [Page]) -> [UInt8] {
        pages.flatMap { machine.frames.read(pfn: (machine.proxyTarget($0) ?? $0).pfn, count: 4096) ?? [] }
    }

    /// do_test_cow_in_parent(..., child_vmsplice_memcmp_fn): the child vmsplice()s and
    /// unmaps, the parent (after the optional mprotect() pair) memsets; the pipe must
    /// hold the old bytes ("No leak from parent into child").
    func vmspliceInChild(_ process: Process, _ mem: UInt64, _ size: UInt64, mprotect: Bool) throws -> Bool {
        let child = try process.fork()
        defer { child.exit() }
        let old = try child.read(mem, count: Int(size))
        let pipe = try VmsplicedPipe(child, mem, size)
        defer { pipe.release() }
        guard pipe.transferred > 0 else { return false }
        try child.mm.munmap(addr: mem, length: size)
        if mprotect {
            try process.mm.mprotect(addr: mem, length: size, prot: [.read])
            try process.mm.mprotect(addr: mem, length: size, prot: [.read, .write])
        }
        try process.write([UInt8](repeating: 0xff, count: Int(size)), at: mem)
        return pipe.read() == Array(old.prefix(pipe.transferred))
    }

    /// do_test_vmsplice_in_parent(): vmsplice() before or after fork(), the parent
    /// unmaps, the child memsets; the pipe must hold the old bytes ("No leak from child
    /// into parent").
    func vmspliceInParent(_ process: Process, _ mem: UInt64, _ size: UInt64, beforeFork: Bool) throws -> Bool {
        let old = try process.read(mem, count: Int(size))
        var pipe = beforeFork ? try VmsplicedPipe(process, mem, size) : nil
        let child = try process.fork()
        if pipe == nil { pipe = try VmsplicedPipe(process, mem, size) }
        guard let pipe, pipe.transferred > 0 else { return false }
        defer { pipe.release() }
        try process.mm.munmap(addr: mem, length: size)
        try child.write([UInt8](repeating: 0xff, count: Int(size)), at: mem)
        child.exit()
        return pipe.read() == Array(old.prefix(pipe.transferred))
    }

    /// do_test_iouring(): register the range as a fixed buffer, then fork() (child kept
    /// alive) or the mprotect() pair; memset; IORING_OP_WRITE_FIXED must write what the
    /// page tables show ("Longterm R/W pin is reliable").
    func iouring(_ process: Process, _ mem: UInt64, _ size: UInt64, fork: Bool) throws -> Bool {
        let machine = process.machine
        let pinned = try process.pinUserPagesFast(start: mem, nrPages: Int(size >> 12), flags: [.write, .longterm])
        defer { machine.unpinUserPages(pinned) }
        guard pinned.count == Int(size >> 12) else { return false }
        let child = fork ? try process.fork() : nil
        defer { child?.exit() }
        if !fork {
            try process.mm.mprotect(addr: mem, length: size, prot: [.read])
            try process.mm.mprotect(addr: mem, length: size, prot: [.read, .write])
        }
        try process.write([UInt8](repeating: 0xff, count: Int(size)), at: mem)
        return Self.bytes(machine, pinned) == (try process.read(mem, count: Int(size)))
    }

    enum ROPinSetup { case shared, previouslyShared, roExclusive, none }

    /// do_test_ro_pin(): PIN_LONGTERM_TEST_START (R/O, GUP or GUP-fast), memset through
    /// the page tables, PIN_LONGTERM_TEST_READ must see it ("Longterm R/O pin is
    /// reliable").
    static func roPin(_ process: Process, _ mem: UInt64, _ size: UInt64, _ setup: ROPinSetup, fast: Bool) throws -> Bool {
        var child: Process?
        defer { child?.exit() }
        switch setup {
        case .shared: child = try process.fork()
        case .previouslyShared: try process.fork().exit()
        case .roExclusive:
            try process.mm.mprotect(addr: mem, length: size, prot: [.read])
            try process.mm.mprotect(addr: mem, length: size, prot: [.read, .write])
        case .none: break
        }
        let device = GUPTestDevice(process: process)
        try device.startLongtermPin(addr: mem, size: size, flags: fast ? GUPTestDevice.longtermUseFast : 0)
        defer { device.stopLongtermPin() }
        try process.write([UInt8](repeating: 0xff, count: Int(size)), at: mem)
        return try device.readLongtermPin() == process.read(mem, count: Int(size))
    }

    func run(_ test: AnonPinTest, _ process: Process, _ mem: UInt64, _ size: UInt64) throws -> Bool {
        switch test {
        case .vmspliceInChild: try vmspliceInChild(process, mem, size, mprotect: false)
        case .vmspliceInChildMprotect: try vmspliceInChild(process, mem, size, mprotect: true)
        case .vmspliceBeforeFork: try vmspliceInParent(process, mem, size, beforeFork: true)
        case .vmspliceAfterFork: try vmspliceInParent(process, mem, size, beforeFork: false)
        case .iouringRO: try iouring(process, mem, size, fork: false)
        case .iouringFork: try iouring(process, mem, size, fork: true)
        case .roPinOnShared: try Self.roPin(process, mem, size, .shared, fast: false)
        case .roFastPinOnShared: try Self.roPin(process, mem, size, .shared, fast: true)
        case .roPinOnROPreviouslyShared: try Self.roPin(process, mem, size, .previouslyShared, fast: false)
        case .roFastPinOnROPreviouslyShared: try Self.roPin(process, mem, size, .previouslyShared, fast: true)
        case .roPinOnROExclusive: try Self.roPin(process, mem, size, .roExclusive, fast: false)
        case .roFastPinOnROExclusive: try Self.roPin(process, mem, size, .roExclusive, fast: true)
        }
    }

    /// Where memdesc8's per-folio PageAnonExclusive makes cow.c's outcome differ.
    static func memdesc8LosesExclusivity(_ test: AnonPinTest, _ backing: AnonBacking, _ design: Design) -> Bool {
        guard design == .memdesc8, test == .iouringRO || test == .iouringFork else { return false }
        if case .partiallySharedTHP = backing { return true }
        return false
    }

    @Test("cow.c anon pin cases", arguments: AnonPinTest.allCases, Design.allCases)
    func anonPinCase(_ test: AnonPinTest, design: Design) throws {
        let machine = try Machine(ramBytes: 128 << 20, design: design)
        _ = try machine.swap.swapon(slots: 1024)
        for backing in AnonBacking.allCases {
            machine.thp.mode = .madvise   // the defaults, as a fresh machine has them
            machine.thp.mthpOrders = 0
            let process = try Process(machine: machine)
            guard let (mem, size) = try CowSelftestTests().prepare(backing, machine, process) else {
                Issue.record("SKIP: \(test) ... with \(backing): not prepared as cow.c requires")
                continue
            }
            if Self.memdesc8LosesExclusivity(test, backing, design) {
                // memdesc8 keeps PageAnonExclusive per folio (a deliberate difference):
                // fork() sharing the first page of a partially shared THP clears it for
                // the whole folio, so after mprotect() or fork() a write to a pinned,
                // never-shared page copies it and the fixed buffer no longer sees the
                // process's writes. cow.c (per-page bits) passes.
                withKnownIssue("memdesc8: PageAnonExclusive per folio") { () throws in
                    #expect(try run(test, process, mem, size), "\(test) ... with \(backing)")
                }
            } else {
                #expect(try run(test, process, mem, size), "\(test) ... with \(backing)")
            }
            process.exit()
            #expect(machine.pinStats.outstanding == 0, "\(test) ... with \(backing): pins left")
        }
        #expect(machine.diagnostics.of(kind: .warn).isEmpty && machine.diagnostics.of(kind: .bug).isEmpty,
                "\(machine.diagnostics.all.prefix(2).map(\.reason))")
    }

    /// run_with_zeropage() / run_with_memfd() / run_with_tmpfile(), then test_ro_pin() or
    /// test_ro_fast_pin(): a R/O longterm pin of the private mapping `mem` (the unshare
    /// fault gives it an anonymous copy), memset(mem), the pin must see it.
    @Test("cow.c non-anon R/O longterm GUP(-fast) pin", arguments: [false, true], Design.allCases)
    func nonAnonROPin(fast: Bool, design: Design) throws {
        let (machine, process) = try makeProcess(design)
        for backing in NonAnonBacking.allCases {
            let (mem, smem) = try backing.map(machine, process)
            let old = try process.read(smem, count: 4096)
            #expect(try Self.roPin(process, mem, 4096, .none, fast: fast), "R/O longterm GUP\(fast ? "-fast" : "") pin ... with \(backing)")
            // The write went to the private copy: the file (and the zero page) kept theirs.
            #expect(try process.read(smem, count: 4096) == old, "\(backing): other mapping modified")
            try process.mm.munmap(addr: mem, length: 4096)
            try process.mm.munmap(addr: smem, length: 4096)
        }
        #expect(machine.pinStats.outstanding == 0)
        #expect(machine.diagnostics.count == 0)
    }
}
