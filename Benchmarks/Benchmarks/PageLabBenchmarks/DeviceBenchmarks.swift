// Device memory's speed (issue 14): migrating 64 MiB of anonymous memory to the HMM
// mirror device and back (lib/test_hmm.c's MIGRATE_TO_DEV / MIGRATE_TO_SYS over
// migrate_vma_*) in 4 KiB pages; hmm_range_fault() over 64 MiB of
// present pages; and, in the same run, the same model's move_pages() of 64 MiB between
// two nodes, the figure a device migration is set against (the same unmap, copy and
// remap). Each reports pages per second, per page moved each way.
//
// MIGRATE_TO_DEV copies the migrated range back into the caller's buffer, as the ioctl
// does (dmirror_do_read()); that copy is part of the device figures. No THP figure yet:
// the model migrates order-0 folios only and cannot split a THP (MigrateVMA.swift), so a
// written THP does not move at all.
import Benchmark
import PageLayout
import PageModel

/// A two-node machine whose kernel has DEVICE_PRIVATE, a process with `length` bytes of
/// touched anonymous memory at `addr`, and a mirror of private device 0 bound to it.
private final class DeviceFixture: @unchecked Sendable {
    static let length: UInt64 = 64 << 20
    let machine: Machine
    let process: Process
    let mirror: DeviceMirror
    let addr: UInt64
    var buffer: [UInt8] = []

    init() throws {
        let kernel = try KernelConfig.preset("x86_64-distro").setting(["DEVICE_PRIVATE": .yes])
        machine = try Machine(config: MachineConfig(ramBytes: 1 << 30, nodes: 2, kernel: kernel))
        machine.thp.mode = .never
        process = try Process(machine: machine)
        mirror = DeviceMirror(device: try DeviceMirrorDevice(machine: machine, id: 0), process: process)
        addr = try process.mm.mmap(length: Self.length, prot: [.read, .write], flags: [.private, .anonymous])
        try process.touch(addr, length: Self.length, write: true)
    }

    var pages: Int { Int(Self.length >> 12) }

    /// MIGRATE_TO_DEV then MIGRATE_TO_SYS of the whole range; the pages moved.
    func roundTrip() throws -> Int {
        let toDevice = try mirror.migrateToDevice(addr: addr, npages: UInt64(pages), into: &buffer).cpages
        let toSystem = try mirror.migrateToSystem(addr: addr, npages: UInt64(pages)).cpages
        return toDevice + toSystem
    }
}

nonisolated(unsafe) private var deviceFixture: DeviceFixture?

func registerDeviceBenchmarks() {
    let pagesPerSecond = BenchmarkMetric.custom("pages migrated/s", polarity: .prefersLarger, useScalingFactor: false)
    let configuration = Benchmark.Configuration(metrics: [.wallClock, pagesPerSecond], maxDuration: .seconds(20), maxIterations: 20)

    Benchmark("HMM: 64 MiB of 4 KiB pages to the mirror device and back", configuration: configuration,
              closure: { benchmark in try roundTrips(benchmark, metric: pagesPerSecond) { try $0.roundTrip() } },
              setup: { deviceFixture = try DeviceFixture() },
              teardown: { deviceFixture = nil })

    let pagesFaulted = BenchmarkMetric.custom("pages/s", polarity: .prefersLarger, useScalingFactor: false)
    Benchmark("HMM: hmm_range_fault() over 64 MiB of present 4 KiB pages",
              configuration: .init(metrics: [.wallClock, pagesFaulted], maxDuration: .seconds(10), maxIterations: 100),
              closure: { benchmark in
                  guard let fixture = deviceFixture else { return }
                  for _ in benchmark.scaledIterations {
                      var range = HMMRange(start: fixture.addr, end: fixture.addr + DeviceFixture.length,
                                           defaultFlags: HMMPFN.reqFault, devPrivateOwner: fixture.mirror.device.owner)
                      let tables = fixture.process.tables
                      let clock = ContinuousClock()
                      benchmark.startMeasurement()
                      let elapsed = try clock.measure {
                          try fixture.process.mm.mmapLock.withReadLock { () throws(Errno) in try tables.hmmRangeFault(&range) }
                      }
                      benchmark.stopMeasurement()
                      blackHole(range.hmmPfns)
                      benchmark.measurement(pagesFaulted, Int(Double(fixture.pages) / seconds(elapsed)))
                  }
              },
              setup: { deviceFixture = try DeviceFixture() },
              teardown: { deviceFixture = nil })

    Benchmark("Reference: move_pages() of 64 MiB of 4 KiB pages to node 1 and back", configuration: configuration,
              closure: { benchmark in
                  try roundTrips(benchmark, metric: pagesPerSecond) { fixture in
                      fixture.process.migrate(fixture.addr, length: DeviceFixture.length, toNode: 1).migrated.count
                          + fixture.process.migrate(fixture.addr, length: DeviceFixture.length, toNode: 0).migrated.count
                  }
              },
              setup: { deviceFixture = try DeviceFixture() },
              teardown: { deviceFixture = nil })
}

/// A round trip that did not move every page: the figure would not be per page.
private enum DeviceBenchmarkError: Error {
    case moved(Int, of: Int)
}

private func seconds(_ elapsed: Duration) -> Double {
    Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
}

/// Times `move` (which returns the pages it moved) once per iteration: every page
/// must have moved both ways.
private func roundTrips(_ benchmark: Benchmark, metric: BenchmarkMetric, _ move: (DeviceFixture) throws -> Int) throws {
    guard let fixture = deviceFixture else { return }
    for _ in benchmark.scaledIterations {
        let clock = ContinuousClock()
        var moved = 0
        benchmark.startMeasurement()
        let elapsed = try clock.measure { moved = try move(fixture) }
        benchmark.stopMeasurement()
        guard moved == 2 * fixture.pages else { throw DeviceBenchmarkError.moved(moved, of: 2 * fixture.pages) }
        benchmark.measurement(metric, Int(Double(moved) / seconds(elapsed)))
    }
}
