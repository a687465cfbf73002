// `pagelab bench device-migrate | move-pages | hmm-fault`: issue 14's speed figures
// (Benchmarks/.../DeviceBenchmarks.swift) runnable by a user and under callgrind. A
// two-node machine whose kernel has DEVICE_PRIVATE, a process and a mirror of private
// device 0 (lib/test_hmm.c's dmirror). Each round works on `mib` MiB of written
// anonymous memory: 4 KiB pages touched once (the same range every round, as the
// package-benchmark), or with `thp` 2 MiB THPs written anew before each round (outside
// the timed part), PMD-mapped.
//
// - device-migrate: HMM_DMIRROR_MIGRATE_TO_DEV (which reads the range back into the
//   caller's buffer, dmirror_do_read()) then HMM_DMIRROR_MIGRATE_TO_SYS, with `thp`
//   each THP whole (MIGRATE_VMA_SELECT_COMPOUND, a device-private PMD entry).
// - move-pages: move_pages() of the range to node 1 and back (a THP whole).
// - hmm-fault: one pass of dmirror_range_fault()'s loop over the range: read_begin,
//   hmm_range_fault(HMM_PFN_REQ_FAULT) under the mmap_lock, read_retry, with the
//   interval notifier inserted once, untimed.
//
// A round that does not move (or find) every page fails the bench: the figure would
// not be per page.
import PageLayout

extension BenchKind {
    /// The benches that need `DeviceBenchFixture`'s machine.
    var isDevice: Bool { self == .deviceMigrate || self == .movePages || self == .hmmFault }
}

/// The device benches' machine, built once; `round()` times one round.
final class DeviceBenchFixture: BenchRounds {
    let bench: PageBench
    let machine: Machine
    let process: Process
    let mirror: DeviceMirror
    /// The range of this round, and the mapping made for it (to unmap).
    private var start: UInt64 = 0
    private var mapping: Range<UInt64>?
    private var buffer: [UInt8] = []
    private var notifier: MMUIntervalNotifier?
    let clock = ContinuousClock()

    init(bench: PageBench, design: Design) throws {
        self.bench = bench
        machine = try Machine(config: MachineConfig(ramBytes: bench.ramBytes, nodes: 2, design: design, kernel: DeviceWorkload.kernel()))
        process = try Process(machine: machine)
        if bench.thp { machine.thp.mode = .madvise }
        mirror = DeviceMirror(device: try DeviceMirrorDevice(machine: machine, id: 0), process: process)
        try prefaultFreeFrames(machine, process)
        try refill()
        if bench.kind == .hmmFault {
            // dmirror's own notifier covers the address space; the driver's range gets one
            // of its own, as a driver that mirrors one buffer inserts (the benchmark's).
            let sub = MMUIntervalNotifier { sub, _, seq in
                sub.setSeq(seq)
                return true
            }
            try process.mm.mmuIntervalNotifierInsert(sub, start: start, length: bytes)
            notifier = sub
        }
    }

    var bytes: UInt64 { UInt64(bench.mib) << 20 }

    /// Unmaps the last range and writes a new one.
    private func refill() throws {
        if let mapping { try process.mm.munmap(addr: mapping.lowerBound, length: mapping.upperBound - mapping.lowerBound) }
        let range = try benchMap(process, bytes: bytes, thp: bench.thp)
        try process.touch(range.start, length: bytes, write: true)
        (start, mapping) = (range.start, range.mapping)
    }

    func round() throws -> Double {
        // New THPs each round: move_pages() leaves a THP PTE-mapped.
        if bench.thp, bench.kind != .hmmFault { try refill() }
        let pages = bench.pages
        var done = 0
        let elapsed: Duration
        switch bench.kind {
        case .deviceMigrate:
            let npages = UInt64(pages)
            // MIGRATE_TO_SYS counts src entries, one per compound THP.
            let perEntry = bench.thp ? 1 << Paging.pmdOrder : 1
            elapsed = try clock.measure {
                done = try mirror.migrateToDevice(addr: start, npages: npages, into: &buffer).cpages
                    + mirror.migrateToSystem(addr: start, npages: npages).cpages * perEntry
            }
        case .movePages:
            elapsed = clock.measure {
                // Counted before the move back frees the folios counted.
                done = process.migrate(start, length: bytes, toNode: 1).migrated.reduce(0) { $0 + $1.nrPages }
                done += process.migrate(start, length: bytes, toNode: 0).migrated.reduce(0) { $0 + $1.nrPages }
            }
        case .hmmFault:
            guard let notifier else { throw BenchError.failed(design: machine.config.design, reason: "no interval notifier") }
            var range = HMMRange(start: start, end: start + bytes, defaultFlags: HMMPFN.reqFault,
                                 devPrivateOwner: mirror.device.owner, notifier: notifier)
            let tables = process.tables
            var collided = false
            elapsed = try clock.measure {
                range.notifierSeq = notifier.readBegin()
                try process.mm.mmapLock.withReadLock { () throws(Errno) in try tables.hmmRangeFault(&range) }
                collided = notifier.readRetry(range.notifierSeq)
            }
            let valid = range.hmmPfns.filter { $0 & HMMPFN.valid != 0 }.count
            done = collided ? 0 : 2 * valid
        case .pin, .fault, .fork, .munmap:
            throw BenchError.failed(design: machine.config.design, reason: "\(bench.kind.rawValue) is not a device bench")
        }
        guard done == 2 * pages else {
            throw BenchError.failed(design: machine.config.design, reason: "\(bench.kind.rawValue) moved \(done / 2) of \(pages) pages each way")
        }
        return elapsed.seconds
    }
}
