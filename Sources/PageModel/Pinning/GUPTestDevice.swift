// mm/gup_test.c (v6.19): the debugfs file /sys/kernel/debug/gup_test that the mm
// selftests drive GUP through: the six gup_test commands (__gup_test_ioctl(),
// verify_dma_pinned(), dump_pages_test(), put_back_pages()) and the
// PIN_LONGTERM_TEST_START/READ/STOP interface that cow.c and gup_longterm.c use.
// Ioctl numbers and flags from mm/gup_test.h.
import Synchronization

/// The commands of `struct gup_test` ioctls ('g' 1..6) [mm/gup_test.h].
public enum GUPTestCommand: UInt32, Sendable, CaseIterable {
    case gupFastBenchmark = 1
    case pinFastBenchmark = 2
    case pinLongtermBenchmark = 3
    case gupBasicTest = 4
    case pinBasicTest = 5
    case dumpUserPagesTest = 6

    /// Whether the command pins (releases with unpin_user_pages()).
    var pins: Bool { self == .pinFastBenchmark || self == .pinBasicTest || self == .pinLongtermBenchmark }
}

/// `struct gup_test` [mm/gup_test.h].
public struct GUPTestArgs: Sendable, Equatable {
    /// GUP_TEST_FLAG_DUMP_PAGES_USE_PIN.
    public static let dumpPagesUsePin: UInt32 = 0x1
    /// GUP_TEST_MAX_PAGES_TO_DUMP.
    public static let maxPagesToDump = 8

    public var getDeltaUsec: UInt64 = 0
    public var putDeltaUsec: UInt64 = 0
    public var addr: UInt64
    /// In: bytes to GUP; out: bytes done (`addr` reached − start).
    public var size: UInt64
    public var nrPagesPerCall: UInt32
    public var gupFlags: FollFlags
    public var testFlags: UInt32
    /// 1-based page indices to dump; 0 is none (out: out-of-range ones zeroed).
    public var whichPages: [UInt32]

    public init(addr: UInt64, size: UInt64, nrPagesPerCall: UInt32 = 1, gupFlags: FollFlags = [], testFlags: UInt32 = 0,
                whichPages: [UInt32] = []) {
        self.addr = addr
        self.size = size
        self.nrPagesPerCall = nrPagesPerCall
        self.gupFlags = gupFlags
        self.testFlags = testFlags
        self.whichPages = Array((whichPages + [UInt32](repeating: 0, count: Self.maxPagesToDump)).prefix(Self.maxPagesToDump))
    }
}

/// One `dump_page()` of DUMP_USER_PAGES_TEST: the 0-based index, the page's first byte
/// (read through its frame, as the test reads the page), and the descriptor dump.
public struct GUPTestDump: Sendable, Equatable {
    public var index: Int
    public var pfn: Int
    public var firstByte: UInt8?
    public var dump: String
}

/// The gup_test debugfs file of one process (`current` is `process`).
public final class GUPTestDevice: @unchecked Sendable {
    public let process: Process
    /// PIN_LONGTERM_TEST_FLAG_USE_WRITE / _USE_FAST.
    public static let longtermUseWrite: UInt32 = 1
    public static let longtermUseFast: UInt32 = 2

    /// pin_longterm_test_mutex and the pages it guards.
    private let longterm = ModelMutex<[Page]?>(nil)
    /// The dumps made by the last DUMP_USER_PAGES_TEST.
    public private(set) var lastDumps: [GUPTestDump] = []

    public init(process: Process) { self.process = process }

    deinit { stopLongtermPin() }

    private var machine: Machine { process.machine }

    /// Linux: `gup_test_ioctl(GUP_*/PIN_*/DUMP_*)` → `__gup_test_ioctl()`. GUPs the range
    /// `nrPagesPerCall` pages at a time (the last chunk truncated); a call that returns
    /// ≤ 0 stops the loop without advancing, a short one advances to the requested chunk
    /// end and stops. `args.size` comes back as the bytes done; a failing GUP does not
    /// fail the ioctl. Then (untimed) `verify_dma_pinned()`: a page of a PIN_* command
    /// that is not maybe-DMA-pinned, or for PIN_LONGTERM_BENCHMARK not longterm-pinnable,
    /// is a WARN with a dump (recorded); DUMP_USER_PAGES_TEST dumps the selected pages;
    /// then `put_back_pages()`: put_page() for GUP_*, unpin_user_pages() for PIN_*.
    /// Bad sizes as v6.19 has them: no -EINVAL for a wrapping addr + size (the loop runs
    /// no call), -ENOMEM when the pages array would exceed kvmalloc's INT_MAX bytes.
    public func ioctl(_ command: GUPTestCommand, _ args: inout GUPTestArgs) throws(Errno) {
        let pageSize = UserVM.pageSize
        // v6.19 checks only `gup->size > ULONG_MAX` (never true on 64-bit) and does not
        // check addr + size for overflow (a later kernel adds check_add_overflow()): a
        // wrapping range ends below its start, so the loop below runs no call and the
        // ioctl succeeds with size 0.
        let end = args.addr &+ args.size
        // kvcalloc(nr_pages, sizeof(void *)): kvmalloc refuses more than INT_MAX bytes
        // with a WARN_ON_ONCE, and the ioctl fails with -ENOMEM.
        try kvcallocPagePointers(args.size / pageSize)
        var pages: [Page] = []
        let perCall = Int(args.nrPagesPerCall)
        var nr = perCall
        var addr = args.addr
        let clock = ContinuousClock()
        let began = clock.now
        while addr < end {
            if nr != perCall { break }
            var next = addr &+ UInt64(nr) * pageSize
            if next > end {
                next = end
                nr = Int((next - addr) / pageSize)
            }
            let got: [Page]
            do {
                switch command {
                case .gupFastBenchmark: got = try process.getUserPagesFast(start: addr, nrPages: nr, flags: args.gupFlags)
                case .pinFastBenchmark: got = try process.pinUserPagesFast(start: addr, nrPages: nr, flags: args.gupFlags)
                case .pinLongtermBenchmark: got = try process.pinUserPages(start: addr, nrPages: nr, flags: args.gupFlags.union(.longterm))
                case .gupBasicTest: got = try process.getUserPages(start: addr, nrPages: nr, flags: args.gupFlags)
                case .pinBasicTest: got = try process.pinUserPages(start: addr, nrPages: nr, flags: args.gupFlags)
                case .dumpUserPagesTest:
                    got = args.testFlags & GUPTestArgs.dumpPagesUsePin != 0
                        ? try process.pinUserPages(start: addr, nrPages: nr, flags: args.gupFlags)
                        : try process.getUserPages(start: addr, nrPages: nr, flags: args.gupFlags)
                }
            } catch {
                break
            }
            if got.isEmpty { break }
            nr = got.count
            pages += got
            addr = next
        }
        args.getDeltaUsec = Self.microseconds(clock.now - began)
        args.size = addr &- args.addr
        verifyDMAPinned(command, pages)
        if command == .dumpUserPagesTest { dumpPagesTest(&args, pages) }
        let putBegan = clock.now
        putBackPages(command, pages, testFlags: args.testFlags)
        args.putDeltaUsec = Self.microseconds(clock.now - putBegan)
    }

    /// `kvcalloc(nr_pages, sizeof(void *), GFP_KERNEL)` of the page array:
    /// `__kvmalloc_node_noprof()` refuses more than INT_MAX bytes with a WARN_ON_ONCE
    /// [mm/slub.c], and the ioctl fails with -ENOMEM. (The model's array grows as
    /// pages come in; it allocates nothing up front.)
    private func kvcallocPagePointers(_ nrPages: UInt64) throws(Errno) {
        guard nrPages > UInt64(Int32.max) / 8 else { return }
        machine.diagnostics.recordOnce(site: "__kvmalloc_node_noprof:size > INT_MAX",
                                       Diagnostic(kind: .warn, reason: "__kvmalloc_node: WARN_ON_ONCE(size > INT_MAX): \(nrPages) page pointers (ENOMEM)"))
        throw .ENOMEM
    }

    private static func microseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return UInt64(max(0, seconds)) * 1_000_000 + UInt64(max(0, attoseconds)) / 1_000_000_000_000
    }

    /// Linux: `verify_dma_pinned()`.
    private func verifyDMAPinned(_ command: GUPTestCommand, _ pages: [Page]) {
        guard command.pins else { return }
        for (i, page) in pages.enumerated() {
            let real = machine.proxyTarget(page) ?? page
            guard let folio = machine.pageFolio(real) else { continue }
            if !machine.folioMaybeDMAPinned(folio) {
                machine.diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(folio.pfn), reason: "gup_test: pages[\(i)] is NOT dma-pinned",
                                                      dump: machine.dumpPage(folio.headPage, reason: "gup_test failure")))
                break
            }
            if command == .pinLongtermBenchmark, !machine.folioIsLongtermPinnable(folio) {
                machine.diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(folio.pfn), reason: "gup_test: pages[\(i)] is NOT pinnable but pinned",
                                                      dump: machine.dumpPage(folio.headPage, reason: "gup_test failure")))
                break
            }
        }
    }

    /// Linux: `dump_pages_test()`: out-of-range indices are zeroed, the others dumped.
    private func dumpPagesTest(_ args: inout GUPTestArgs, _ pages: [Page]) {
        var dumps: [GUPTestDump] = []
        for i in args.whichPages.indices where Int(args.whichPages[i]) > pages.count { args.whichPages[i] = 0 }
        for which in args.whichPages where which != 0 {
            let index = Int(which) - 1
            let page = machine.proxyTarget(pages[index]) ?? pages[index]
            dumps.append(GUPTestDump(index: index, pfn: page.pfn, firstByte: machine.frames.read(pfn: page.pfn, count: 1)?.first,
                                     dump: machine.dumpPage(page, reason: "gup_test: dump_pages() test")))
        }
        lastDumps = dumps
    }

    /// Linux: `put_back_pages()`.
    private func putBackPages(_ command: GUPTestCommand, _ pages: [Page], testFlags: UInt32) {
        let unpin = command.pins || (command == .dumpUserPagesTest && testFlags & GUPTestArgs.dumpPagesUsePin != 0)
        if unpin { machine.unpinUserPages(pages) } else { for page in pages { machine.putPage(page) } }
    }

    // MARK: PIN_LONGTERM_TEST_*

    /// Linux: `pin_longterm_test_start()`: -EINVAL for unknown flags, a pin set already
    /// active, an unaligned or empty range or one past LONG_MAX; otherwise every page is
    /// pinned FOLL_LONGTERM (| FOLL_WRITE), through GUP-fast with USE_FAST, looping until
    /// all are; any error unpins what was pinned and is returned.
    public func startLongtermPin(addr: UInt64, size: UInt64, flags: UInt32) throws(Errno) {
        try longterm.withLock { (active: inout [Page]?) throws(Errno) in
            if active != nil { throw .EINVAL }
            if flags & ~(Self.longtermUseWrite | Self.longtermUseFast) != 0 { throw .EINVAL }
            if (addr | size) & (UserVM.pageSize - 1) != 0 { throw .EINVAL }
            if size > UInt64(Int.max) { throw .EINVAL }
            let total = Int(size / UserVM.pageSize)
            if total == 0 { throw .EINVAL }
            try kvcallocPagePointers(UInt64(total))
            var gupFlags: FollFlags = .longterm
            if flags & Self.longtermUseWrite != 0 { gupFlags.insert(.write) }
            let fast = flags & Self.longtermUseFast != 0
            var pinned: [Page] = []
            while pinned.count < total {
                let at = addr &+ UInt64(pinned.count) * UserVM.pageSize
                do throws(Errno) {
                    let got = fast ? try process.pinUserPagesFast(start: at, nrPages: total - pinned.count, flags: gupFlags)
                                   : try process.pinUserPages(start: at, nrPages: total - pinned.count, flags: gupFlags)
                    if got.isEmpty { throw Errno.EFAULT }   // a model guard: the kernel would spin
                    pinned += got
                } catch {
                    machine.unpinUserPages(pinned)
                    throw error
                }
            }
            active = pinned
        }
    }

    /// Linux: `pin_longterm_test_read()`: the bytes of every pinned page, in order (what
    /// the pin sees, whatever the page tables map now). -EINVAL when nothing is pinned.
    public func readLongtermPin() throws(Errno) -> [UInt8] {
        try longterm.withLock { (active: inout [Page]?) throws(Errno) -> [UInt8] in
            guard let pages = active else { throw .EINVAL }
            var bytes: [UInt8] = []
            bytes.reserveCapacity(pages.count * Int(UserVM.pageSize))
            for page in pages {
                guard let frame = machine.frames.read(pfn: page.pfn, count: Int(UserVM.pageSize)) else { throw .EFAULT }
                bytes += frame
            }
            return bytes
        }
    }

    /// Linux: `pin_longterm_test_stop()`: unpins and forgets the pin set; always fine.
    public func stopLongtermPin() {
        let pages = longterm.withLock { active -> [Page]? in
            defer { active = nil }
            return active
        }
        if let pages { machine.unpinUserPages(pages) }
    }

    /// The pages of the active pin set (tests).
    public var longtermPinnedPages: [Page] { longterm.withLock { $0 ?? [] } }
}
