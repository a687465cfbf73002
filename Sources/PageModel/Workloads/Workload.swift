// Workloads: scripted sequences of what user space does to memory (mmap, stores, fork,
// file I/O, swap, migration, munmap), run on a model machine of each design, with every
// byte they wrote verified at the end. `pagelab compare` runs one per design.
import PageLayout

/// The workloads `pagelab compare --workload NAME` knows.
public enum WorkloadKind: String, Sendable, CaseIterable {
    /// Anonymous, shmem and disk-file memory, a THP region, fork with COW on both sides,
    /// swap-out and swap-in, migration to another node, munmap; every byte verified.
    case basic
    /// Short-term (O_DIRECT-like) and long-term (RDMA-like) pins of anonymous, THP, memfd,
    /// disk-file and ZONE_DEVICE memory, fork(), migration and reclaim over pinned
    /// ranges, a ZONE_MOVABLE machine, a timed GUP-fast loop; every byte verified and
    /// every pin released.
    case pins
    /// HMM, as a GPU driver uses it: buffers migrated to device-private and
    /// device-coherent memory and back, CPU faults pulling pages home, short-term and
    /// long-term GUP of device-resident memory, fork() with device-private pages, the
    /// device evicted while the process runs; every byte verified.
    case device
    /// Drivers that map vmalloc memory into a process (perf ring buffer, io_uring rings,
    /// BPF ringbuf double mapping, videobuf2 buffer pinned by O_DIRECT) and vfree() it
    /// while mapped or pinned, on every vmalloc tracking option of each design.
    case vmalloc

    /// Linux has no such thing; the name is `pagelab compare`'s. Throws for an unknown
    /// name, listing the known ones.
    public static func named(_ name: String) throws(WorkloadError) -> WorkloadKind {
        guard let kind = WorkloadKind(rawValue: name) else {
            throw .unknownWorkload(name: name, known: allCases.map(\.rawValue))
        }
        return kind
    }
}

/// What a workload measured on one design: the vmstat events it caused, the memory at its
/// peak, and whether every byte read back as written.
public struct WorkloadResult: Sendable, Equatable {
    public var workload: WorkloadKind
    public var design: Design
    public var ramBytes: UInt64
    public var nodes: Int
    /// VM events counted during the workload (pgfault, COW copies, pswpout, pswpin,
    /// pgmigrate_success, thp_fault_alloc, ...).
    public var events: VMEventCounts
    /// Pages allocated (managed minus free, per-cpu lists counted as free) at the peak
    /// sample, and the sample's accounting (memmap, descriptors, page tables).
    public var peakPagesInUse: Int
    public var peakAccounting: Accounting
    /// Separately allocated descriptors (folio, slab, ptdesc) alive at the peak sample;
    /// 0 for designs whose descriptors are all in the memmap.
    public var peakDescriptors: Int { peakAccounting.descriptors.values.reduce(0, +) }
    /// Bytes that did not read back as the workload wrote them (through a mapping or
    /// with pread), plus 4096 for every page that could not be read at all.
    public var dataErrors: Int
    /// The first mismatches, unreadable pages and failed operations, one line each.
    public var failures: [String]
    /// Pages still allocated after every process exited and every file was truncated
    /// and unlinked, compared with before the workload (0 on a model that leaks nothing).
    public var leakedPages: Int
    /// Kernel-style diagnostics the machine recorded (WARN, BUG, bad_page, ...), and the
    /// first lines of the first few.
    public var diagnosticCount: Int
    public var firstDiagnostics: [String]
    /// Wall-clock seconds of the workload itself (the machine's build excluded).
    public var seconds: Double
    /// Bytes the workload wrote and verified.
    public var bytesVerified: Int
    /// The pins workload's pin statistics, costs and timing; nil for other workloads.
    public var pins: PinFigures? = nil
    /// The device workload's migration, fault and pin counts; nil for other workloads.
    public var device: DeviceFigures? = nil
    /// The vmalloc workload's figures of this row's tracking option; nil for others.
    public var vmalloc: VmallocFigures? = nil

    /// True when every byte read back as written, no operation failed, and (pins, device)
    /// the design's `folio_maybe_dma_pinned()` never said no for a pinned folio;
    /// (vmalloc) no page freed while reachable, except on the untracked option, whose
    /// use-after-free and the data errors after it are the seed's warning, not a failure.
    public var passed: Bool {
        if let vmalloc, vmalloc.mayUseAfterFree { return dataErrors == vmalloc.dataErrorsAfterFree }
        return dataErrors == 0 && failures.isEmpty && (pins?.stats.falseNegatives ?? 0) == 0
            && (device?.stats.falseNegatives ?? 0) == 0 && (vmalloc?.useAfterFree ?? 0) == 0
    }
}

/// Bad input to a workload run. `description` is the one line the command line prints
/// before exiting with status 2.
public enum WorkloadError: Error, Equatable, CustomStringConvertible {
    case unknownWorkload(name: String, known: [String])
    /// RAM the workload cannot run in (too small for its regions, or not whole sections
    /// per node).
    case ramTooSmall(bytes: UInt64, minimum: UInt64)
    case machine(MachineError)

    public var description: String {
        switch self {
        case let .unknownWorkload(name, known):
            "unknown workload '\(name)' (known: \(known.joined(separator: ", ")))"
        case let .ramTooSmall(bytes, minimum):
            "the workload needs at least \(minimum >> 20) MiB of RAM (got \(bytes) bytes)"
        case let .machine(error):
            error.description
        }
    }
}

/// What every workload's script shares: the RAM it needs, checked before anything is
/// built, and the unit its regions scale by.
protocol WorkloadScript {
    /// The least RAM the script's regions fit in.
    static var minimumRAM: UInt64 { get }
}

extension WorkloadScript {
    static func validate(ramBytes: UInt64) throws(WorkloadError) {
        guard ramBytes >= minimumRAM else { throw .ramTooSmall(bytes: ramBytes, minimum: minimumRAM) }
    }

    /// The unit region sizes scale with: RAM / 256, at most `cap` bytes, in 4 KiB pages.
    static func unitPages(ramBytes: UInt64, atMost cap: UInt64 = 16 << 20) -> Int {
        Int(min(ramBytes / 256, cap)) / PagePattern.pageSize
    }
}

extension WorkloadKind {
    /// Builds a machine of `design` with `ramBytes` of RAM and runs this workload on it.
    /// Deterministic: the same inputs do the same operations with the same bytes.
    public func run(design: Design, ramBytes: UInt64) throws(WorkloadError) -> WorkloadResult {
        switch self {
        case .basic: try BasicWorkload.run(design: design, ramBytes: ramBytes)
        case .pins: try PinsWorkload.run(design: design, ramBytes: ramBytes)
        case .device: try DeviceWorkload.run(design: design, ramBytes: ramBytes)
        case .vmalloc: try VmallocWorkload.run(design: design, ramBytes: ramBytes)
        }
    }

    /// The rows of `pagelab compare` for `design`: one run for most workloads; one per
    /// vmalloc tracking option that applies to the design for `vmalloc`.
    public func runRows(design: Design, ramBytes: UInt64) throws(WorkloadError) -> [WorkloadResult] {
        switch self {
        case .vmalloc: try VmallocWorkload.runRows(design: design, ramBytes: ramBytes)
        default: [try run(design: design, ramBytes: ramBytes)]
        }
    }

    /// Checks the inputs without building anything (so a command can reject a bad size
    /// before it starts the first design).
    public func validate(ramBytes: UInt64) throws(WorkloadError) {
        switch self {
        case .basic: try BasicWorkload.validate(ramBytes: ramBytes)
        case .pins: try PinsWorkload.validate(ramBytes: ramBytes)
        case .device: try DeviceWorkload.validate(ramBytes: ramBytes)
        case .vmalloc: try VmallocWorkload.validate(ramBytes: ramBytes)
        }
    }
}
