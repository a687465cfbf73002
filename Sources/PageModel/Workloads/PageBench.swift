// `pagelab bench`: the model's hot paths timed per design, in the spirit of the kernel's
// `perf bench` (tools/perf/bench/): each design's machine is built once, warmed by one
// untimed round, then timed over K rounds; the result is ns per page (minimum and median
// over the rounds) and pages per second (at the median). The same operations as the
// package-benchmark suites in Benchmarks/ (pin_user_pages_fast + unpin_user_pages,
// anonymous write faults, fork(), munmap()), so that a user can measure on their own
// machine what the README states. Timings are the host's; nothing here is asserted.
import PageLayout

/// What `pagelab bench` times.
public enum BenchKind: String, Sendable, CaseIterable {
    /// `pin_user_pages_fast(FOLL_WRITE)` + `unpin_user_pages()` over the whole faulted
    /// range (the non-allocating entry point, into a preallocated pages[] array).
    case pin
    /// Write faults on a fresh anonymous mapping (`handle_mm_fault()` per page, or per
    /// PMD with `thp`); mmap and munmap are outside the timed part.
    case fault
    /// `fork()` of a process with the range touched (copy_page_range()); the child's
    /// exit is outside the timed part.
    case fork
    /// `munmap()` of the touched range (zap_page_range, freeing every folio); the mmap
    /// and the faults are outside the timed part.
    case munmap
    /// The mirror device's MIGRATE_TO_DEV then MIGRATE_TO_SYS of the touched range
    /// (lib/test_hmm.c over migrate_vma_*; with `thp` each PMD-mapped THP whole,
    /// MIGRATE_VMA_SELECT_COMPOUND), as the package-benchmark's HMM round trip
    /// (PageBenchDevice.swift).
    case deviceMigrate = "device-migrate"
    /// `move_pages()` of the touched range to node 1 and back: the node migration a
    /// device round trip is set against.
    case movePages = "move-pages"
    /// `hmm_range_fault(HMM_PFN_REQ_FAULT)` over the touched range, present already,
    /// with an interval notifier inserted once (read_begin, walk, read_retry timed).
    case hmmFault = "hmm-fault"
}

/// A bench's parameters, checked (`PageBench.init` throws for values out of range).
public struct PageBench: Sendable {
    public let kind: BenchKind
    /// The range every round works on, in MiB (1...4096).
    public let mib: Int
    /// Timed rounds per design (1...1000), after one untimed warm-up round.
    public let rounds: Int
    /// The range is madvise(MADV_HUGEPAGE)d with THP in madvise mode and 2 MiB aligned,
    /// so that it is PMD-mapped (pin: one grab per THP, as gup_fast_pmd_leaf()).
    public let thp: Bool

    public static let mibRange = 1...4096
    public static let roundsRange = 1...1000

    public init(kind: BenchKind, mib: Int = 64, rounds: Int = 10, thp: Bool = false) throws(BenchError) {
        guard Self.mibRange.contains(mib) else { throw .outOfRange(option: "--mib", value: mib, range: Self.mibRange) }
        guard Self.roundsRange.contains(rounds) else { throw .outOfRange(option: "--rounds", value: rounds, range: Self.roundsRange) }
        if thp && mib % 2 != 0 { throw .thpNeedsWholePMDs(mib: mib) }
        self.kind = kind
        self.mib = mib
        self.rounds = rounds
        self.thp = thp
    }

    /// Pages (4 KiB) each round works on.
    public var pages: Int { mib << 8 }

    /// The machine's RAM: room for the range twice (fork shares it, the fault bench maps
    /// a fresh range while nothing else is), three times for the device benches (the
    /// range, the device's backing pages, the pages it comes back into), its page tables
    /// and the boot's own memory, in whole 128 MiB sections.
    var ramBytes: UInt64 {
        let section: UInt64 = 128 << 20
        let wanted = UInt64((kind.isDevice ? 3 : 2) * mib + 256) << 20
        return (wanted + section - 1) / section * section
    }

    /// Builds the design's machine, warms it, times `rounds` rounds.
    public func run(design: Design) throws(BenchError) -> BenchResult {
        do {
            let fixture: any BenchRounds = kind.isDevice ? try DeviceBenchFixture(bench: self, design: design)
                : try BenchFixture(bench: self, design: design)
            _ = try fixture.round()   // warm: host pages, pages[], the shadow's slots
            var samples: [Double] = []
            samples.reserveCapacity(rounds)
            for _ in 0..<rounds { samples.append(try fixture.round()) }
            return BenchResult(design: design, pages: pages, samples: samples)
        } catch let error as BenchError {
            throw error
        } catch {
            throw .failed(design: design, reason: "\(error)")
        }
    }
}

/// One design's timings: ns per page of each round.
public struct BenchResult: Sendable {
    public let design: Design
    /// Pages per round.
    public let pages: Int
    /// Nanoseconds per page of each timed round, in the order they ran.
    public let nsPerPage: [Double]

    init(design: Design, pages: Int, samples: [Double]) {
        self.design = design
        self.pages = pages
        self.nsPerPage = samples.map { $0 * 1e9 / Double(pages) }
    }

    public var nsPerPageMin: Double { nsPerPage.min() ?? 0 }
    /// The median round (the mean of the two middle ones for an even count).
    public var nsPerPageMedian: Double {
        let sorted = nsPerPage.sorted()
        guard !sorted.isEmpty else { return 0 }
        let mid = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
    }
    /// Pages per second at the median round.
    public var pagesPerSecond: Double { nsPerPageMedian > 0 ? 1e9 / nsPerPageMedian : 0 }
}

/// A bench's parameters out of range, or a model error while it ran.
public enum BenchError: Error, Sendable, Equatable, CustomStringConvertible {
    case outOfRange(option: String, value: Int, range: ClosedRange<Int>)
    case thpNeedsWholePMDs(mib: Int)
    case unknownBench(name: String)
    case failed(design: Design, reason: String)

    public var description: String {
        switch self {
        case let .outOfRange(option, value, range): "\(option) \(value) is out of range (\(range.lowerBound)...\(range.upperBound))"
        case let .thpNeedsWholePMDs(mib): "--thp needs whole 2 MiB PMDs: --mib \(mib) is odd"
        case let .unknownBench(name): "unknown bench '\(name)' (known: \(BenchKind.allCases.map(\.rawValue).joined(separator: ", ")))"
        case let .failed(design, reason): "bench on \(design.rawValue): \(reason)"
        }
    }
}

extension BenchKind {
    /// The bench of that name; throws listing the known ones.
    public static func named(_ name: String) throws(BenchError) -> BenchKind {
        guard let kind = BenchKind(rawValue: name) else { throw .unknownBench(name: name) }
        return kind
    }
}

/// A design's machine, built once; `round()` times one round.
protocol BenchRounds {
    /// Seconds one round's timed part took.
    func round() throws -> Double
}

/// A design's machine and process, built once; `round()` times one round.
private final class BenchFixture: BenchRounds {
    let bench: PageBench
    let machine: Machine
    let process: Process
    /// The touched range (pin, fork), 2 MiB aligned with THP.
    var start: UInt64 = 0
    var buffer: UnsafeMutableBufferPointer<Page>
    let clock = ContinuousClock()

    init(bench: PageBench, design: Design) throws {
        self.bench = bench
        machine = try Machine(ramBytes: bench.ramBytes, design: design)
        process = try Process(machine: machine)
        if bench.thp { machine.thp.mode = .madvise }
        buffer = .allocate(capacity: bench.kind == .pin ? bench.pages : 0)
        if bench.kind != .pin { try prefaultFreeFrames(machine, process) }
        if bench.kind == .pin || bench.kind == .fork { start = try mapAndTouch().start }
    }

    deinit { buffer.deallocate() }

    var bytes: UInt64 { UInt64(bench.mib) << 20 }

    func map() throws -> (start: UInt64, mapping: Range<UInt64>) { try benchMap(process, bytes: bytes, thp: bench.thp) }

    func mapAndTouch() throws -> (start: UInt64, mapping: Range<UInt64>) {
        let range = try map()
        try process.touch(range.start, length: bytes, write: true)
        return range
    }

    /// Seconds one round's timed part took.
    func round() throws -> Double {
        switch bench.kind {
        case .pin:
            var pinned = 0
            let elapsed = clock.measure {
                pinned = process.pinUserPagesFast(start: start, nrPages: bench.pages, flags: .write, into: buffer)
                if pinned > 0 { machine.unpinUserPages(UnsafeBufferPointer(rebasing: buffer[0..<pinned])) }
            }
            guard pinned == bench.pages else {
                throw BenchError.failed(design: machine.config.design, reason: "pin_user_pages_fast pinned \(pinned) of \(bench.pages) pages")
            }
            return elapsed.seconds
        case .fault:
            let range = try map()
            let elapsed = try clock.measure { try process.touch(range.start, length: bytes, write: true) }
            try unmap(range.mapping)
            return elapsed.seconds
        case .fork:
            var child: Process?
            let elapsed = try clock.measure { child = try process.fork() }
            child?.exit()
            return elapsed.seconds
        case .munmap:
            let range = try mapAndTouch()
            let elapsed = try clock.measure { try unmap(range.mapping) }
            return elapsed.seconds
        case .deviceMigrate, .movePages, .hmmFault:
            // Timed by PageBenchDevice.swift's fixture; never built for them.
            throw BenchError.failed(design: machine.config.design, reason: "\(bench.kind.rawValue) needs the device fixture")
        }
    }

    func unmap(_ mapping: Range<UInt64>) throws {
        try process.mm.munmap(addr: mapping.lowerBound, length: mapping.upperBound - mapping.lowerBound)
    }
}

/// Writes every free frame once through the model (map, touch, unmap), as the
/// package-benchmark's fixture does: frame contents are a sparse host reservation, and
/// the host's own first-touch faults on frames the buddy allocator never handed out
/// before are not the model's cost. A sixteenth is left for the page tables.
func prefaultFreeFrames(_ machine: Machine, _ process: Process) throws {
    let free = UInt64(machine.allZones.reduce(0) { $0 + $1.freePages })
    let length = (free - free / 16) << 12
    let scratch = try process.mm.mmap(length: length, prot: [.read, .write], flags: [.private, .anonymous])
    try process.touch(scratch, length: length, write: true)
    try process.mm.munmap(addr: scratch, length: length)
}

/// An anonymous range of `bytes` (PMD-aligned and MADV_HUGEPAGE with `thp`): where the
/// range starts, and the whole mapping made for it (to unmap).
func benchMap(_ process: Process, bytes: UInt64, thp: Bool) throws -> (start: UInt64, mapping: Range<UInt64>) {
    guard thp else {
        let start = try process.mm.mmap(length: bytes, prot: [.read, .write], flags: [.private, .anonymous])
        return (start, start..<start + bytes)
    }
    let pmd: UInt64 = 2 << 20
    // Over-map by one PMD so that a 2 MiB-aligned start lies inside.
    let raw = try process.mm.mmap(length: bytes + pmd, prot: [.read, .write], flags: [.private, .anonymous])
    let start = (raw + pmd - 1) & ~(pmd - 1)
    try process.mm.madvise(addr: start, length: bytes, advice: .hugePage)
    return (start, raw..<raw + bytes + pmd)
}

/// Every design's result of one bench, as `pagelab bench` prints it. JSON keys:
/// `bench`, `mib`, `rounds`, `thp`, `pages`, and per design `design`,
/// `ns_per_page_min`, `ns_per_page_median`, `pages_per_second`, `ns_per_page` (each
/// round's).
public struct BenchReport: Encodable, Sendable {
    public let bench: String
    public let mib: Int
    public let rounds: Int
    public let thp: Bool
    public let pages: Int
    public let designs: [Row]

    public struct Row: Encodable, Sendable {
        public let design: String
        public let nsPerPageMin: Double
        public let nsPerPageMedian: Double
        public let pagesPerSecond: Double
        public let nsPerPage: [Double]

        enum CodingKeys: String, CodingKey {
            case design
            case nsPerPageMin = "ns_per_page_min"
            case nsPerPageMedian = "ns_per_page_median"
            case pagesPerSecond = "pages_per_second"
            case nsPerPage = "ns_per_page"
        }
    }

    public init(_ bench: PageBench, results: [BenchResult]) {
        self.bench = bench.kind.rawValue
        mib = bench.mib
        rounds = bench.rounds
        thp = bench.thp
        pages = bench.pages
        // Rounded to 0.01 ns (and whole pages per second): finer is noise.
        func r(_ x: Double) -> Double { (x * 100).rounded() / 100 }
        designs = results.map {
            Row(design: $0.design.rawValue, nsPerPageMin: r($0.nsPerPageMin), nsPerPageMedian: r($0.nsPerPageMedian),
                pagesPerSecond: $0.pagesPerSecond.rounded(), nsPerPage: $0.nsPerPage.map(r))
        }
    }

    /// One line per design: ns per page (min, median) and pages per second.
    public var text: String {
        let what = "\(bench)\(thp ? " (PMD-mapped THP)" : ""): \(mib) MiB = \(pages) pages, \(rounds) round\(rounds == 1 ? "" : "s") after one warm-up"
        let width = max(8, designs.map(\.design.count).max() ?? 0)
        func pad(_ s: String, _ n: Int, left: Bool = false) -> String {
            let fill = String(repeating: " ", count: max(0, n - s.count))
            return left ? s + fill : fill + s
        }
        func ns(_ x: Double) -> String {
            let hundredths = Int((x * 100).rounded())
            let frac = hundredths % 100
            return "\(hundredths / 100).\(frac < 10 ? "0" : "")\(frac)"
        }
        var lines = [what, pad("design", width, left: true) + "  " + pad("ns/page min", 12) + "  " + pad("ns/page median", 14) + "  " + pad("pages/s", 13)]
        for row in designs {
            lines.append(pad(row.design, width, left: true) + "  " + pad(ns(row.nsPerPageMin), 12) + "  "
                         + pad(ns(row.nsPerPageMedian), 14) + "  " + pad(String(Int(row.pagesPerSecond)), 13))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
