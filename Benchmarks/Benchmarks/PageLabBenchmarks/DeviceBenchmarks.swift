// Device memory's speed (issue 14): migrating 64 MiB of anonymous memory to the HMM
// mirror device and back (lib/test_hmm.c's MIGRATE_TO_DEV / MIGRATE_TO_SYS over
// migrate_vma_*) in 4 KiB pages; hmm_range_fault() over 64 MiB of present pages, as a
// driver walks a range it subscribed to once with mmu_interval_notifier_insert()
// (read_begin, walk and read_retry timed; the insert not); and, in the same run, the
// same model's move_pages() of 64 MiB between two nodes, the figure a device migration
// is set against (the same unmap, copy and remap). Each reports pages per second, per
// page moved each way.
//
// MIGRATE_TO_DEV copies the migrated range back into the caller's buffer, as the ioctl
// does (dmirror_do_read()); that copy is part of the device figures.
//
// The THP figures start each iteration from 32 freshly written, PMD-mapped 2 MiB THPs
// (built outside the measurement): MIGRATE_TO_DEV moves each one whole into a device THP
// (v6.19's MIGRATE_VMA_SELECT_COMPOUND: one MIGRATE_PFN_COMPOUND source per PMD, a
// device-private PMD entry) and MIGRATE_TO_SYS brings it back whole; move_pages() moves
// each THP whole too (one order-9 folio, PTE-mapped afterwards). Figures are per 4 KiB
// page moved, so they compare with the 4 KiB rows, and per THP in the metric
// "THPs migrated/s".
import Benchmark
import PageLayout
import PageModel

/// A 1 GiB two-node machine whose kernel has DEVICE_PRIVATE, THP in `thp` mode, a
/// process, and a mirror of private device 0 bound to it.
private func deviceMachine(thp: THPMode) throws -> (Machine, Process, DeviceMirror) {
    let kernel = try KernelConfig.preset("x86_64-distro").setting(["DEVICE_PRIVATE": .yes])
    let machine = try Machine(config: MachineConfig(ramBytes: 1 << 30, nodes: 2, kernel: kernel))
    machine.thp.mode = thp
    let process = try Process(machine: machine)
    return (machine, process, DeviceMirror(device: try DeviceMirrorDevice(machine: machine, id: 0), process: process))
}

/// The machine of `deviceMachine`, THP off, with `length` bytes of touched anonymous
/// memory at `addr`.
private final class DeviceFixture: @unchecked Sendable {
    static let length: UInt64 = 64 << 20
    let machine: Machine
    let process: Process
    let mirror: DeviceMirror
    let addr: UInt64
    var buffer: [UInt8] = []

    init() throws {
        (machine, process, mirror) = try deviceMachine(thp: .never)
        addr = try process.mm.mmap(length: Self.length, prot: [.read, .write], flags: [.private, .anonymous])
        try process.touch(addr, length: Self.length, write: true)
    }

    var pages: Int { Int(Self.length >> 12) }

    /// The hmm_range_fault() benchmark's interval notifier over the range, inserted once
    /// as a driver does when it starts mirroring a buffer (mmu_interval_notifier_insert();
    /// its invalidate records the sequence, as dmirror_snapshot_invalidate() does).
    private(set) var notifier: MMUIntervalNotifier?

    func subscribe() throws {
        let sub = MMUIntervalNotifier { sub, _, seq in
            sub.setSeq(seq)
            return true
        }
        try process.mm.mmuIntervalNotifierInsert(sub, start: addr, length: Self.length)
        notifier = sub
    }

    /// MIGRATE_TO_DEV then MIGRATE_TO_SYS of the whole range; the pages moved.
    func roundTrip() throws -> Int {
        let toDevice = try mirror.migrateToDevice(addr: addr, npages: UInt64(pages), into: &buffer).cpages
        let toSystem = try mirror.migrateToSystem(addr: addr, npages: UInt64(pages)).cpages
        return toDevice + toSystem
    }
}

nonisolated(unsafe) private var deviceFixture: DeviceFixture?

/// The THP variant: THP "always", and `length` bytes of 2 MiB-aligned anonymous memory
/// written anew (so PMD-mapped THPs) before each timed round.
private final class THPFixture: @unchecked Sendable {
    static let length: UInt64 = 64 << 20
    static let pmd: UInt64 = 2 << 20
    let machine: Machine
    let process: Process
    let mirror: DeviceMirror
    private var raw: UInt64 = 0
    private(set) var addr: UInt64 = 0
    var buffer: [UInt8] = []

    init() throws {
        (machine, process, mirror) = try deviceMachine(thp: .always)
    }

    var pages: Int { Int(Self.length >> 12) }
    var thps: Int { Int(Self.length / Self.pmd) }

    /// Unmaps the last round's memory and writes `length` bytes of new THPs.
    func refill() throws {
        if raw != 0 { try process.mm.munmap(addr: raw, length: Self.length + Self.pmd) }
        raw = try process.mm.mmap(length: Self.length + Self.pmd, prot: [.read, .write], flags: [.private, .anonymous])
        addr = (raw + Self.pmd - 1) & ~(Self.pmd - 1)
        try process.touch(addr, length: Self.length, write: true)
    }
}

nonisolated(unsafe) private var thpFixture: THPFixture?

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
                  guard let fixture = deviceFixture, let notifier = fixture.notifier else { return }
                  for _ in benchmark.scaledIterations {
                      var range = HMMRange(start: fixture.addr, end: fixture.addr + DeviceFixture.length,
                                           defaultFlags: HMMPFN.reqFault, devPrivateOwner: fixture.mirror.device.owner,
                                           notifier: notifier)
                      let tables = fixture.process.tables
                      let clock = ContinuousClock()
                      var collided = false
                      benchmark.startMeasurement()
                      // One pass of dmirror_range_fault()'s loop: read_begin, the walk under
                      // the mmap_lock, read_retry (nothing invalidates the range here).
                      let elapsed = try clock.measure {
                          range.notifierSeq = notifier.readBegin()
                          try fixture.process.mm.mmapLock.withReadLock { () throws(Errno) in try tables.hmmRangeFault(&range) }
                          collided = notifier.readRetry(range.notifierSeq)
                      }
                      benchmark.stopMeasurement()
                      blackHole(range.hmmPfns)
                      blackHole(collided)
                      benchmark.measurement(pagesFaulted, Int(Double(fixture.pages) / seconds(elapsed)))
                  }
              },
              setup: {
                  deviceFixture = try DeviceFixture()
                  try deviceFixture?.subscribe()
              },
              teardown: { deviceFixture = nil })

    let thpsPerSecond = BenchmarkMetric.custom("THPs migrated/s", polarity: .prefersLarger, useScalingFactor: false)
    let thpConfiguration = Benchmark.Configuration(metrics: [.wallClock, pagesPerSecond, thpsPerSecond], maxDuration: .seconds(20), maxIterations: 20)
    Benchmark("HMM: 64 MiB of 2 MiB THPs to the mirror device (whole) and back", configuration: thpConfiguration,
              closure: { benchmark in
                  try thpRoundTrips(benchmark, pages: pagesPerSecond, thps: thpsPerSecond) { fixture in
                      // MIGRATE_TO_DEV's cpages counts the pages read back; MIGRATE_TO_SYS's
                      // counts src entries VALID and MIGRATE, one per compound THP.
                      try fixture.mirror.migrateToDevice(addr: fixture.addr, npages: UInt64(fixture.pages), into: &fixture.buffer).cpages
                          + fixture.mirror.migrateToSystem(addr: fixture.addr, npages: UInt64(fixture.pages)).cpages << Paging.pmdOrder
                  }
              },
              setup: { thpFixture = try THPFixture() },
              teardown: { thpFixture = nil })

    Benchmark("Reference: move_pages() of 64 MiB of 2 MiB THPs to node 1 and back", configuration: thpConfiguration,
              closure: { benchmark in
                  try thpRoundTrips(benchmark, pages: pagesPerSecond, thps: thpsPerSecond) { fixture in
                      // Counted before the next move frees the folios counted.
                      let there = fixture.process.migrate(fixture.addr, length: THPFixture.length, toNode: 1).migrated.reduce(0) { $0 + $1.nrPages }
                      let back = fixture.process.migrate(fixture.addr, length: THPFixture.length, toNode: 0).migrated.reduce(0) { $0 + $1.nrPages }
                      return there + back
                  }
              },
              setup: { thpFixture = try THPFixture() },
              teardown: { thpFixture = nil })

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

/// Times `move` (which returns the pages it moved) once per iteration, after `prepare`
/// and outside the timed part: all `pages` must have moved both ways. `record` gets the
/// pages moved and the seconds taken.
private func timedRoundTrips(_ benchmark: Benchmark, pages: Int, prepare: () throws -> Void = {},
                             _ move: () throws -> Int, record: (Int, Double) -> Void) throws {
    for _ in benchmark.scaledIterations {
        try prepare()
        let clock = ContinuousClock()
        var moved = 0
        benchmark.startMeasurement()
        let elapsed = try clock.measure { moved = try move() }
        benchmark.stopMeasurement()
        guard moved == 2 * pages else { throw DeviceBenchmarkError.moved(moved, of: 2 * pages) }
        record(moved, seconds(elapsed))
    }
}

/// `timedRoundTrips` over the 4 KiB fixture, reported per page.
private func roundTrips(_ benchmark: Benchmark, metric: BenchmarkMetric, _ move: (DeviceFixture) throws -> Int) throws {
    guard let fixture = deviceFixture else { return }
    try timedRoundTrips(benchmark, pages: fixture.pages, { try move(fixture) }) { moved, seconds in
        benchmark.measurement(metric, Int(Double(moved) / seconds))
    }
}

/// `timedRoundTrips` over the THP fixture: new THPs before each timed round trip;
/// reported per page and per THP.
private func thpRoundTrips(_ benchmark: Benchmark, pages: BenchmarkMetric, thps: BenchmarkMetric,
                           _ move: (THPFixture) throws -> Int) throws {
    guard let fixture = thpFixture else { return }
    try timedRoundTrips(benchmark, pages: fixture.pages, prepare: fixture.refill, { try move(fixture) }) { moved, seconds in
        benchmark.measurement(pages, Int(Double(moved) / seconds))
        benchmark.measurement(thps, Int(Double(2 * fixture.thps) / seconds))
    }
}
