// The virtual memory model's speed targets (issue 4): anonymous write faults on 4 KiB
// pages, fork() of a process with 1 GiB of touched anonymous memory, and munmap() of
// 1 GiB touched. Each measures only the operation: mapping and touching happen before
// startMeasurement(), tearing down after stopMeasurement().
import Benchmark
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import PageLayout
import PageModel

/// A machine and a process on it, built once (setup) and reused by every sample. Every
/// free frame is written once first, through the model (map, touch, unmap): the frame
/// contents are a sparse host reservation, and the host's own first-touch page faults
/// on frames the buddy allocator has not handed out before are not the model's cost.
/// Then `touched` bytes of anonymous memory are mapped and written.
private final class Fixture: @unchecked Sendable {
    let machine: Machine
    let process: Process

    init(ramBytes: UInt64, touched: UInt64 = 0) throws {
        machine = try Machine(ramBytes: ramBytes)
        process = try Process(machine: machine)
        let free = UInt64(machine.allZones.reduce(0) { $0 + $1.freePages })
        let prefault = (free - free / 16) << 12   // leave room for the page tables
        let scratch = try process.mm.mmap(length: prefault, prot: [.read, .write], flags: [.private, .anonymous])
        try process.touch(scratch, length: prefault, write: true)
        try process.mm.munmap(addr: scratch, length: prefault)
        if touched > 0 {
            let addr = try process.mm.mmap(length: touched, prot: [.read, .write], flags: [.private, .anonymous])
            try process.touch(addr, length: touched, write: true)
        }
    }
}

nonisolated(unsafe) private var fixture: Fixture?
nonisolated(unsafe) private var zeroingBuffer: UnsafeMutableRawPointer?

func registerVirtualMemoryBenchmarks() {
    let faultsPerSecond = BenchmarkMetric.custom("faults/s", polarity: .prefersLarger, useScalingFactor: false)
    Benchmark("Anonymous write faults: 64 MiB of 4 KiB pages",
              configuration: .init(metrics: [.wallClock, faultsPerSecond], maxDuration: .seconds(10), maxIterations: 40),
              closure: { benchmark in
                  guard let process = fixture?.process else { return }
                  let length: UInt64 = 64 << 20
                  let pages = Int(length >> 12)
                  for _ in benchmark.scaledIterations {
                      let addr = try process.mm.mmap(length: length, prot: [.read, .write], flags: [.private, .anonymous])
                      let clock = ContinuousClock()
                      benchmark.startMeasurement()
                      let elapsed = try clock.measure { try process.touch(addr, length: length, write: true) }
                      benchmark.stopMeasurement()
                      try process.mm.munmap(addr: addr, length: length)
                      let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                      benchmark.measurement(faultsPerSecond, Int(Double(pages) / seconds))
                  }
              },
              setup: { fixture = try Fixture(ramBytes: 1 << 30) },
              teardown: { fixture = nil })

    // The floor under the fault rate on this host, measured in the same run: what
    // clear_page() of 16 384 frames costs by itself (the host's memory speed varies over
    // time on a shared machine, and the fault path is bound by it).
    let pagesPerSecond = BenchmarkMetric.custom("pages cleared/s", polarity: .prefersLarger, useScalingFactor: false)
    Benchmark("Reference: clear_page() (memset) of 64 MiB in 4 KiB pages",
              configuration: .init(metrics: [.wallClock, pagesPerSecond], maxDuration: .seconds(10), maxIterations: 40),
              closure: { benchmark in
                  guard let buffer = zeroingBuffer else { return }
                  let length = 64 << 20
                  for _ in benchmark.scaledIterations {
                      let clock = ContinuousClock()
                      benchmark.startMeasurement()
                      let elapsed = clock.measure {
                          for offset in stride(from: 0, to: length, by: 4096) { memset(buffer + offset, 0, 4096) }
                      }
                      benchmark.stopMeasurement()
                      let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
                      benchmark.measurement(pagesPerSecond, Int(Double(length >> 12) / seconds))
                  }
              },
              setup: {
                  let buffer = UnsafeMutableRawPointer.allocate(byteCount: 64 << 20, alignment: 4096)
                  memset(buffer, 1, 64 << 20)   // host pages faulted in before measuring
                  zeroingBuffer = buffer
              },
              teardown: {
                  zeroingBuffer?.deallocate()
                  zeroingBuffer = nil
              })

    Benchmark("fork(): 1 GiB of touched anonymous memory",
              configuration: .init(metrics: [.wallClock], maxDuration: .seconds(20), maxIterations: 20),
              closure: { benchmark in
                  guard let parent = fixture?.process else { return }
                  var children: [Process] = []
                  for _ in benchmark.scaledIterations { children.append(try parent.fork()) }
                  benchmark.stopMeasurement()
                  for child in children { child.exit() }
              },
              setup: { fixture = try Fixture(ramBytes: 4 << 30, touched: 1 << 30) },
              teardown: { fixture = nil })

    Benchmark("munmap(): 1 GiB of touched anonymous memory",
              configuration: .init(metrics: [.wallClock], maxDuration: .seconds(30), maxIterations: 10),
              closure: { benchmark in
                  guard let process = fixture?.process else { return }
                  for _ in benchmark.scaledIterations {
                      let addr = try process.mm.mmap(length: 1 << 30, prot: [.read, .write], flags: [.private, .anonymous])
                      try process.touch(addr, length: 1 << 30, write: true)
                      benchmark.startMeasurement()
                      try process.mm.munmap(addr: addr, length: 1 << 30)
                      benchmark.stopMeasurement()
                  }
              },
              setup: { fixture = try Fixture(ramBytes: 2 << 30) },
              teardown: { fixture = nil })
}
