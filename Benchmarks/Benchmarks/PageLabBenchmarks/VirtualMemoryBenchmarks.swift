// The virtual memory model's speed targets (issue 4): anonymous write faults on 4 KiB
// pages, fork() of a process with 1 GiB of touched anonymous memory, and munmap() of
// 1 GiB touched. Each measures only the operation: mapping and touching happen before
// startMeasurement(), tearing down after stopMeasurement().
import Benchmark
import PageLayout
import PageModel

/// A machine and a parent process with 1 GiB of touched anonymous memory, built once
/// (setup) for the fork benchmark.
private final class ForkFixture: @unchecked Sendable {
    let machine: Machine
    let parent: Process

    init() throws {
        machine = try Machine(ramBytes: 4 << 30)
        parent = try Process(machine: machine)
        let addr = try parent.mm.mmap(length: 1 << 30, prot: [.read, .write], flags: [.private, .anonymous])
        try parent.touch(addr, length: 1 << 30, write: true)
    }
}

nonisolated(unsafe) private var forkFixture: ForkFixture?

func registerVirtualMemoryBenchmarks() {
    let faultsPerSecond = BenchmarkMetric.custom("faults/s", polarity: .prefersLarger, useScalingFactor: false)
    Benchmark("Anonymous write faults: 64 MiB of 4 KiB pages",
              configuration: .init(metrics: [.wallClock, faultsPerSecond], maxDuration: .seconds(10), maxIterations: 40)) { benchmark in
        let machine = try Machine(ramBytes: 1 << 30)
        let process = try Process(machine: machine)
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
    }

    Benchmark("fork(): 1 GiB of touched anonymous memory",
              configuration: .init(metrics: [.wallClock], maxDuration: .seconds(20), maxIterations: 20),
              closure: { benchmark in
                  guard let fixture = forkFixture else { return }
                  var children: [Process] = []
                  for _ in benchmark.scaledIterations { children.append(try fixture.parent.fork()) }
                  benchmark.stopMeasurement()
                  for child in children { child.exit() }
              },
              setup: { forkFixture = try ForkFixture() },
              teardown: { forkFixture = nil })

    Benchmark("munmap(): 1 GiB of touched anonymous memory",
              configuration: .init(metrics: [.wallClock], maxDuration: .seconds(30), maxIterations: 10)) { benchmark in
        let machine = try Machine(ramBytes: 2 << 30)
        let process = try Process(machine: machine)
        for _ in benchmark.scaledIterations {
            let addr = try process.mm.mmap(length: 1 << 30, prot: [.read, .write], flags: [.private, .anonymous])
            try process.touch(addr, length: 1 << 30, write: true)
            benchmark.startMeasurement()
            try process.mm.munmap(addr: addr, length: 1 << 30)
            benchmark.stopMeasurement()
        }
    }
}
