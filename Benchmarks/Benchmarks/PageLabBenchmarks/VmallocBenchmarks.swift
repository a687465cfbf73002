// vmalloc memory mapped to user space (issue 15, speed): vmalloc() + vfree() of 1 MiB
// and of 64 MiB; remap_vmalloc_range() of 64 MiB; pin_user_pages_fast() +
// unpin_user_pages() over 64 MiB of remapped vmalloc memory (mainline's per-page
// refcounts; memdesc8 with scamem and with option 1's per-page memdesc) set against the
// same call over 64 MiB of anonymous memory in the same run; and for each scamem
// placement, pin_user_pages() (GUP through the placement) and page_to_nid() +
// page_zone() of every page of a 64 MiB area. Fixtures are
// built in setup; only the operation is measured.
import Benchmark
import PageLayout
import PageModel

/// A machine, a process, a vmalloc space and (unless `remapped` is false) a 64 MiB
/// VM_USERMAP area mapped into the process, or 64 MiB of faulted anonymous memory.
private final class VmallocFixture: @unchecked Sendable {
    static let bytes: UInt64 = 64 << 20
    let machine: Machine
    let process: Process
    let space: VmallocSpace
    let kaddr: UInt64
    let start: UInt64
    let pages = Int(bytes >> 12)
    let buffer: UnsafeMutableBufferPointer<Page>

    init(design: Design, tracking: VmallocTracking? = nil, placement: ScamemPlacement = .memdescPointer, anonymous: Bool = false, remapped: Bool = true) throws {
        machine = try Machine(ramBytes: 512 << 20, design: design)
        process = try Process(machine: machine)
        space = try VmallocSpace(machine: machine, tracking: tracking, placement: placement)
        buffer = .allocate(capacity: pages)
        if anonymous {
            kaddr = 0
            start = try process.mm.mmap(length: Self.bytes, prot: [.read, .write], flags: [.private, .anonymous])
            try process.touch(start, length: Self.bytes, write: true)
            return
        }
        guard let area = space.vmallocUser(Self.bytes, caller: "benchmark") else { throw VmallocBenchmarkError.noMemory }
        kaddr = area
        start = try process.mm.mmap(length: Self.bytes, prot: [.read, .write], flags: [.shared], file: VmallocDeviceFile(size: Self.bytes))
        if remapped { try process.remapVmallocRange(space, vmaStart: start, kaddr: kaddr, pgoff: 0) }
    }

    deinit { buffer.deallocate() }

    /// One pin of the whole range and its release; the pages pinned.
    @inline(__always)
    func pinAndUnpin() -> Int { pinAndUnpinRange(process, start: start, into: buffer) }
}

private enum VmallocBenchmarkError: Error { case noMemory, short(Int, of: Int) }

nonisolated(unsafe) private var vmallocFixture: VmallocFixture?

private func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18
}

func registerVmallocBenchmarks() {
    let pagesPerSecond = BenchmarkMetric.custom("pages/s", polarity: .prefersLarger, useScalingFactor: false)
    let psPerPage = BenchmarkMetric.custom("ps/page", polarity: .prefersSmaller, useScalingFactor: false)
    let perPage: [BenchmarkMetric] = [.wallClock, pagesPerSecond, psPerPage]

    /// Runs `body` once per iteration, timing it and reporting it per page of `pages`.
    func perPageBenchmark(_ name: String, maxIterations: Int = 200, setup: @escaping () throws -> Void,
                          _ body: @escaping (VmallocFixture) throws -> Int) {
        Benchmark(name,
                  configuration: .init(metrics: perPage, maxDuration: .seconds(4), maxIterations: maxIterations),
                  closure: { benchmark in
                      guard let fixture = vmallocFixture else { return }
                      let clock = ContinuousClock()
                      for _ in benchmark.scaledIterations {
                          var done = 0
                          let elapsed = try clock.measure { done = try body(fixture) }
                          let s = seconds(elapsed)
                          benchmark.measurement(pagesPerSecond, Int(Double(done) / s))
                          benchmark.measurement(psPerPage, Int(s * 1e12 / Double(max(1, done))))
                      }
                  },
                  setup: setup,
                  teardown: { vmallocFixture = nil })
    }

    for (label, bytes) in [("1 MiB", UInt64(1) << 20), ("64 MiB", UInt64(64) << 20)] {
        for design in [Design.mainline, .memdesc8] {
            perPageBenchmark("vmalloc + vfree: \(label), \(design.rawValue)",
                             setup: { vmallocFixture = try VmallocFixture(design: design, anonymous: true) }) { fixture in
                guard let addr = fixture.space.vmalloc(bytes) else { throw VmallocBenchmarkError.noMemory }
                fixture.space.vfree(addr)
                return Int(bytes >> 12)
            }
        }
    }

    for design in [Design.mainline, .memdesc8] {
        perPageBenchmark("remap_vmalloc_range + munmap: 64 MiB, \(design.rawValue)", maxIterations: 100,
                         setup: { vmallocFixture = try VmallocFixture(design: design, remapped: false) }) { fixture in
            let uaddr = try fixture.process.mm.mmap(length: VmallocFixture.bytes, prot: [.read, .write], flags: [.shared],
                                                    file: VmallocDeviceFile(size: VmallocFixture.bytes))
            try fixture.process.remapVmallocRange(fixture.space, vmaStart: uaddr, kaddr: fixture.kaddr, pgoff: 0)
            try fixture.process.mm.munmap(addr: uaddr, length: VmallocFixture.bytes)
            return fixture.pages
        }
    }

    let pinCases: [(name: String, design: Design, tracking: VmallocTracking?, anonymous: Bool)] = [
        ("64 MiB of anonymous memory, mainline", .mainline, nil, true),
        ("64 MiB of remapped vmalloc memory, mainline", .mainline, nil, false),
        ("64 MiB of anonymous memory, memdesc8", .memdesc8, nil, true),
        ("64 MiB of remapped vmalloc memory, memdesc8 scamem", .memdesc8, .scamem, false),
        ("64 MiB of remapped vmalloc memory, memdesc8 vmalloc-memdesc", .memdesc8, .vmallocMemdesc, false),
    ]
    for entry in pinCases {
        perPageBenchmark("pin_user_pages_fast + unpin_user_pages: \(entry.name)",
                         setup: {
                             vmallocFixture = try VmallocFixture(design: entry.design, tracking: entry.tracking, anonymous: entry.anonymous)
                             _ = vmallocFixture?.pinAndUnpin()   // warm the pages[] array
                         }) { fixture in
            let pinned = fixture.pinAndUnpin()
            guard pinned == fixture.pages else { throw VmallocBenchmarkError.short(pinned, of: fixture.pages) }
            return pinned
        }
    }

    // GUP per page through each placement: pin_user_pages() (the slow path, which has
    // the VMA) is timed alone; the unpin after it cannot drop the references in the VMA
    // placements (the scamem's count only grows), so it is left out of the figure.
    for placement in ScamemPlacement.allCases {
        Benchmark("pin_user_pages: 64 MiB of remapped vmalloc memory, memdesc8 scamem \(placement.rawValue)",
                  configuration: .init(metrics: perPage, maxDuration: .seconds(4), maxIterations: 100),
                  closure: { benchmark in
                      guard let fixture = vmallocFixture else { return }
                      let clock = ContinuousClock()
                      for _ in benchmark.scaledIterations {
                          var pinned: [Page] = []
                          let elapsed = try clock.measure {
                              pinned = try fixture.process.pinUserPages(start: fixture.start, nrPages: fixture.pages, flags: .write)
                          }
                          fixture.machine.unpinUserPages(pinned)
                          let s = seconds(elapsed)
                          benchmark.measurement(pagesPerSecond, Int(Double(pinned.count) / s))
                          benchmark.measurement(psPerPage, Int(s * 1e12 / Double(max(1, pinned.count))))
                      }
                  },
                  setup: { vmallocFixture = try VmallocFixture(design: .memdesc8, tracking: .scamem, placement: placement) },
                  teardown: { vmallocFixture = nil })
    }

    for placement in ScamemPlacement.allCases {
        perPageBenchmark("page_to_nid + page_zone: 64 MiB of vmalloc pages, memdesc8 \(placement.rawValue)",
                         setup: { vmallocFixture = try VmallocFixture(design: .memdesc8, tracking: .scamem, placement: placement, remapped: false) }) { fixture in
            guard let vm = fixture.space.findVMArea(fixture.kaddr) else { throw VmallocBenchmarkError.noMemory }
            var sum = 0
            for page in vm.pages { sum &+= fixture.space.pageToNid(page) &+ (fixture.space.pageZone(page) == nil ? 1 : 0) }
            blackHole(sum)
            return vm.pages.count
        }
    }
}
