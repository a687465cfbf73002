// The pinning fast path (issue 6, speed): pin_user_pages_fast(FOLL_WRITE) +
// unpin_user_pages() over 64 MiB of already-faulted anonymous memory, on 4 KiB pages for
// every design and on PMD-mapped THPs (one grab per folio). Each fixture (machine,
// process, faulted range, the pages[] array) is built once in setup, so only the pin and
// the unpin are measured; the non-allocating entry point writes into the preallocated
// array. The C baseline of the same per-page work is Benchmarks/CPinBaseline.
import Benchmark
import PageLayout
import PageModel

/// A machine of one design with `bytes` of faulted anonymous memory (PMD-mapped THPs
/// with `huge`) and a pages[] array for it.
private final class PinFixture: @unchecked Sendable {
    let machine: Machine
    let process: Process
    let start: UInt64
    let pages: Int
    let buffer: UnsafeMutableBufferPointer<Page>

    init(design: Design, bytes: UInt64, huge: Bool) throws {
        machine = try Machine(ramBytes: 512 << 20, design: design)
        process = try Process(machine: machine)
        pages = Int(bytes >> 12)
        let pmd: UInt64 = 2 << 20
        if huge {
            machine.thp.mode = .madvise
            // Over-map by one PMD so that a 2 MiB-aligned start lies inside.
            let raw = try process.mm.mmap(length: bytes + pmd, prot: [.read, .write], flags: [.private, .anonymous])
            start = (raw + pmd - 1) & ~(pmd - 1)
            try process.mm.madvise(addr: start, length: bytes, advice: .hugePage)
        } else {
            start = try process.mm.mmap(length: bytes, prot: [.read, .write], flags: [.private, .anonymous])
        }
        let before = machine.vmEvents.snapshot.thpFaultAlloc
        try process.touch(start, length: bytes, write: true)
        if huge, machine.vmEvents.snapshot.thpFaultAlloc - before != Int(bytes / pmd) {
            throw PinBenchmarkError.notHuge
        }
        buffer = .allocate(capacity: pages)
    }

    deinit { buffer.deallocate() }

    /// One pin of the whole range and its release; the pages pinned.
    @inline(__always)
    func pinAndUnpin() -> Int { pinAndUnpinRange(process, start: start, into: buffer) }
}

/// pin_user_pages_fast(FOLL_WRITE) of `buffer.count` pages from `start` into the
/// preallocated `buffer`, then unpin_user_pages() of those pinned; the pages pinned.
@inline(__always)
func pinAndUnpinRange(_ process: Process, start: UInt64, into buffer: UnsafeMutableBufferPointer<Page>) -> Int {
    let pinned = process.pinUserPagesFast(start: start, nrPages: buffer.count, flags: .write, into: buffer)
    if pinned > 0 { process.machine.unpinUserPages(UnsafeBufferPointer(rebasing: buffer[0..<pinned])) }
    return pinned
}

private enum PinBenchmarkError: Error { case notHuge, short(Int, of: Int) }

nonisolated(unsafe) private var pinFixture: PinFixture?

func registerPinBenchmarks() {
    let pagesPerSecond = BenchmarkMetric.custom("pages/s", polarity: .prefersLarger, useScalingFactor: false)
    let nsPerPage = BenchmarkMetric.custom("ps/page", polarity: .prefersSmaller, useScalingFactor: false)
    let bytes: UInt64 = 64 << 20
    let cases: [(name: String, design: Design, huge: Bool)] =
        Design.allCases.map { ("pin_user_pages_fast + unpin_user_pages: 64 MiB of 4 KiB pages, \($0.rawValue)", $0, false) }
        + [Design.mainline, .memdesc8].map { ("pin_user_pages_fast + unpin_user_pages: 64 MiB of PMD-mapped THPs, \($0.rawValue)", $0, true) }
    for entry in cases {
        Benchmark(entry.name,
                  configuration: .init(metrics: [.wallClock, pagesPerSecond, nsPerPage], maxDuration: .seconds(4), maxIterations: 200),
                  closure: { benchmark in
                      guard let fixture = pinFixture else { return }
                      let clock = ContinuousClock()
                      for _ in benchmark.scaledIterations {
                          var pinned = 0
                          let elapsed = clock.measure { pinned = fixture.pinAndUnpin() }
                          guard pinned == fixture.pages else { throw PinBenchmarkError.short(pinned, of: fixture.pages) }
                          let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                          benchmark.measurement(pagesPerSecond, Int(Double(fixture.pages) / seconds))
                          benchmark.measurement(nsPerPage, Int(seconds * 1e12 / Double(fixture.pages)))
                      }
                  },
                  setup: {
                      pinFixture = try PinFixture(design: entry.design, bytes: bytes, huge: entry.huge)
                      _ = pinFixture?.pinAndUnpin()   // warm the pages[] array and the shadow counters
                  },
                  teardown: { pinFixture = nil })
    }
}
