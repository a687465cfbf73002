// The bookkeeping of one workload run: the operations a script performs on the model,
// each recorded in the expected-content model only when it succeeded, failures kept as
// lines, the peak of memory in use sampled between phases, and verification.
import PageLayout

/// One run of a workload on one machine. Not thread safe: a script drives it from one
/// thread.
final class WorkloadRun {
    let machine: Machine
    private(set) var failures: [String] = []
    private var failureCount = 0
    private(set) var dataErrors = 0
    private(set) var bytesVerified = 0
    private(set) var peakPagesInUse = 0
    private(set) var peakAccounting: Accounting
    /// Pages the kernel keeps by design once allocated, not counted as leaked: init_mm's
    /// page tables of the vmalloc range, which vmalloc never frees (mm/vmalloc.c
    /// vunmap_range_noflush() clears PTEs only).
    var retainedPages = 0
    private var nextSeed: UInt64 = 0x5eed_0000_0000_0001
    /// A page-sized buffer reused for every write.
    private var page = [UInt8](repeating: 0, count: PagePattern.pageSize)
    static let maxFailureLines = 12

    init(machine: Machine) {
        self.machine = machine
        peakAccounting = machine.accounting()
        _ = diagnosticsSeen
    }

    /// Pages allocated now: managed minus free (buddy and per-cpu lists).
    var pagesInUse: Int {
        machine.allZones.reduce(0) { $0 + $1.managed - $1.freePages - $1.pcpPages }
    }

    /// The end of a phase of the script: samples memory in use and notes which phase
    /// the diagnostics recorded since the last checkpoint belong to.
    func checkpoint(_ phase: String) {
        sample()
        let count = machine.diagnostics.count
        if count > diagnosticsSeen {
            diagnosticPhases.append((phase, count - diagnosticsSeen))
            diagnosticsSeen = count
        }
    }

    /// The phase each diagnostic since the start was recorded in, in order.
    private var diagnosticPhases: [(phase: String, count: Int)] = []
    private lazy var diagnosticsSeen = machine.diagnostics.count

    /// The first diagnostics since the run started, first line each, with their phase.
    func firstDiagnostics(since start: Int, limit: Int) -> [String] {
        let all = machine.diagnostics.all.dropFirst(start)
        var phases = diagnosticPhases.flatMap { Array(repeating: $0.phase, count: $0.count) }
        phases += Array(repeating: "end", count: max(0, all.count - phases.count))
        return zip(phases, all).prefix(limit).map { "\($0.0): \($0.1.description.split(separator: "\n").first ?? "")" }
    }

    /// Samples memory in use; keeps the accounting of the highest sample.
    func sample() {
        let inUse = pagesInUse
        guard inUse > peakPagesInUse else { return }
        peakPagesInUse = inUse
        peakAccounting = machine.accounting()
    }

    /// Records a failed operation or a mismatch (the first few as lines).
    func fail(_ line: String) {
        failureCount += 1
        if failureCount <= Self.maxFailureLines { failures.append(line) }
    }

    /// The failure lines, with a last one counting those left out.
    var failureLines: [String] {
        failureCount > failures.count ? failures + ["... and \(failureCount - failures.count) more"] : failures
    }

    /// A new seed, never 0, the same sequence on every run.
    func seed() -> UInt64 {
        nextSeed = nextSeed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return nextSeed | 1
    }

    // MARK: Operations

    /// A new process of the machine, known to the expected-content model as `name`; nil,
    /// with the failure line "`what`: error", when it cannot be made.
    func newProcess(_ name: String, failing what: String) -> ExpectedProcess? {
        do { return ExpectedProcess(name: name, process: try Process(machine: machine)) } catch {
            fail("\(what): \(error)")
            return nil
        }
    }

    /// A new process of the machine with `bytes` of private anonymous memory mapped and
    /// written (every page faulted in), where a timed loop runs; nil, with a failure
    /// naming `what`, when it cannot be had. The caller exits the process.
    func faultedProcess(bytes: UInt64, for what: String) -> (process: Process, addr: UInt64)? {
        do {
            let process = try Process(machine: machine)
            let addr = try process.mmapFaulted(bytes)
            return (process, addr)
        } catch {
            fail("\(what): setup: \(error)")
            return nil
        }
    }

    /// mmap, recording the mapping under `name`; nil (and a failure) when it fails.
    @discardableResult
    func mmap(_ target: ExpectedProcess, _ name: String, pages: Int, flags: MapFlags,
              file: ExpectedFile? = nil, pgoff: Int = 0) -> ExpectedMapping? {
        do {
            let start = try target.process.mm.mmap(length: UInt64(pages * PagePattern.pageSize), prot: [.read, .write],
                                                   flags: flags, file: file?.file, offset: UInt64(pgoff * PagePattern.pageSize))
            let backing: ExpectedMapping.Backing
            if let file { backing = flags.contains(.shared) ? .sharedFile(file, pgoff: pgoff) : .privateFile(file, pgoff: pgoff) } else {
                backing = .anonymous
            }
            let mapping = ExpectedMapping(name: name, start: start, pages: pages, backing: backing)
            target.mappings[name] = mapping
            return mapping
        } catch {
            fail("\(target.name): mmap \(name) (\(pages) pages): \(error)")
            return nil
        }
    }

    /// A file `name` created on `fs` and truncated up to `pages` pages; nil (and a
    /// failure) when it cannot be.
    func createFile(_ fs: Filesystem, _ name: String, pages: Int) -> ExpectedFile? {
        do {
            let file = try fs.create(name: name)
            try file.ftruncate(Int64(pages * PagePattern.pageSize))
            return ExpectedFile(file: file, name: name)
        } catch {
            fail("create \(name): \(error)")
            return nil
        }
    }

    /// A private anonymous mapping `name` of `pages` pages, each written in order (after
    /// madvise `advice`, when given), as a program fills a fresh buffer.
    func mmapWritten(_ target: ExpectedProcess, _ name: String, pages: Int, advice: Advice? = nil) {
        guard mmap(target, name, pages: pages, flags: [.private, .anonymous]) != nil else { return }
        if let advice { madvise(target, name, advice) }
        for page in 0..<pages { write(target, name, page: page) }
    }

    /// Writes a fresh pattern over whole page `index` of the mapping named `name`, as a
    /// program's stores would (faulting, breaking COW).
    func write(_ target: ExpectedProcess, _ name: String, page index: Int) {
        guard let mapping = target.mappings[name], index < mapping.pages else {
            return fail("\(target.name): no page \(index) in mapping \(name)")
        }
        let seed = seed()
        page.withUnsafeMutableBytes { PagePattern.fill($0, seed: seed) }
        do {
            try target.process.write(page, at: mapping.address(ofPage: index))
            target.wrote(mapping, page: index, seed: seed)
        } catch {
            fail("\(target.name): write to \(name) page \(index) at 0x\(String(mapping.address(ofPage: index), radix: 16)): \(error)")
        }
    }

    /// pwrite of a fresh pattern over page `index` of `file`.
    func pwrite(_ file: ExpectedFile, page index: Int) {
        let seed = seed()
        page.withUnsafeMutableBytes { PagePattern.fill($0, seed: seed) }
        do {
            let written = try file.file.pwrite(page, offset: Int64(index * PagePattern.pageSize))
            guard written == PagePattern.pageSize else {
                return fail("\(file.name): pwrite of page \(index) wrote \(written) bytes")
            }
            file.pages[index] = seed
        } catch {
            fail("\(file.name): pwrite of page \(index): \(error)")
        }
    }

    /// madvise of pages of a mapping, a failure recorded when it fails; MADV_DONTNEED
    /// updates the expected contents.
    func madvise(_ target: ExpectedProcess, _ name: String, first: Int = 0, count: Int? = nil, _ advice: Advice) {
        guard let mapping = target.mappings[name] else { return fail("\(target.name): madvise of unknown mapping \(name)") }
        let pages = count ?? mapping.pages - first
        do {
            try target.process.mm.madvise(addr: mapping.address(ofPage: first), length: UInt64(pages * PagePattern.pageSize), advice: advice)
            if advice == .dontNeed { target.droppedPages(name, first: first, count: pages) }
        } catch {
            fail("\(target.name): madvise(\(advice)) of \(name): \(error)")
        }
    }

    /// munmap of pages `[first, first + count)` of a mapping.
    func munmap(_ target: ExpectedProcess, _ name: String, first: Int = 0, count: Int? = nil) {
        guard let mapping = target.mappings[name] else { return fail("\(target.name): munmap of unknown mapping \(name)") }
        let pages = count ?? mapping.pages - first
        do {
            try target.process.mm.munmap(addr: mapping.address(ofPage: first), length: UInt64(pages * PagePattern.pageSize))
            target.unmapped(name, first: first, count: pages)
        } catch {
            fail("\(target.name): munmap of \(name): \(error)")
        }
    }

    /// Migrates the pages of a mapping to node `nid`; every folio that moved must now be
    /// on that node. Returns how many folios moved.
    @discardableResult
    func migrate(_ target: ExpectedProcess, _ name: String, toNode nid: Int) -> Int {
        guard let mapping = target.mappings[name] else {
            fail("\(target.name): migrate of unknown mapping \(name)")
            return 0
        }
        let result = target.process.migrate(mapping.start, length: UInt64(mapping.pages * PagePattern.pageSize), toNode: nid)
        for folio in result.migrated {
            let node = machine.memmap.nid(of: folio.pfn)
            if node != nid { fail("\(target.name): \(name): folio at pfn \(folio.pfn) migrated to node \(node.map(String.init) ?? "?"), not \(nid)") }
        }
        return result.migrated.count
    }

    // MARK: Verification

    /// Reads back every page of every mapping of `target` that must hold written bytes
    /// and counts the bytes that differ.
    func verify(_ target: ExpectedProcess, phase: String) {
        for (name, mapping) in target.mappings.sorted(by: { $0.value.start < $1.value.start }) {
            for index in target.expectedPages(mapping) {
                let seed = target.expectedSeed(mapping, page: index)
                let address = mapping.address(ofPage: index)
                do {
                    let bytes = try target.process.read(address, count: PagePattern.pageSize)
                    check(bytes, seed: seed, what: "\(phase): \(target.name) \(name) page \(index) at 0x\(String(address, radix: 16))")
                } catch {
                    unreadable("\(phase): \(target.name) \(name) page \(index): read: \(error)")
                }
            }
        }
    }

    /// Reads back every written page of `file` with pread.
    func verify(_ file: ExpectedFile, phase: String) {
        for (index, seed) in file.pages.sorted(by: { $0.key < $1.key }) {
            do {
                let bytes = try file.file.pread(count: PagePattern.pageSize, offset: Int64(index * PagePattern.pageSize))
                check(bytes, seed: seed, what: "\(phase): \(file.name) page \(index) (pread)")
            } catch {
                dataErrors += PagePattern.pageSize
                fail("\(phase): \(file.name) page \(index): pread: \(error)")
            }
        }
    }

    /// A page that could not be read at all: all its bytes count as data errors.
    func unreadable(_ what: String) {
        dataErrors += PagePattern.pageSize
        fail(what)
    }

    func check(_ bytes: [UInt8], seed: UInt64, what: String) {
        bytesVerified += PagePattern.pageSize
        let wrong = PagePattern.mismatches(bytes, seed: seed)
        guard wrong > 0 else { return }
        dataErrors += wrong
        let zero = bytes.allSatisfy { $0 == 0 }
        fail("\(what): \(wrong) bytes differ\(zero ? " (reads as zeroes)" : "")")
    }

    /// Counts the bytes of `bytes` that differ from `expected` (a part of a page, as a
    /// record read across a ring's wrap), as `check` does for whole pages.
    func check(_ bytes: [UInt8], expected: ArraySlice<UInt8>, what: String) {
        bytesVerified += expected.count
        let wrong = zip(bytes, expected).reduce(max(0, expected.count - bytes.count)) { $0 + ($1.0 == $1.1 ? 0 : 1) }
        guard wrong > 0 else { return }
        dataErrors += wrong
        fail("\(what): \(wrong) bytes differ")
    }

    /// Counts a page that could not be read at all.
    func unreadable(_ what: String, _ error: any Error) {
        dataErrors += PagePattern.pageSize
        fail("\(what): read: \(error)")
    }

    /// Takes in what a run on another machine of the same workload found: its data
    /// errors, verified bytes and failures (prefixed), and its diagnostics as failures.
    func absorb(_ other: WorkloadRun, prefix: String) {
        dataErrors += other.dataErrors
        bytesVerified += other.bytesVerified
        for line in other.failureLines { fail(prefix + line) }
        for diagnostic in other.machine.diagnostics.all.prefix(Self.maxFailureLines) {
            fail(prefix + "diagnostic: " + (diagnostic.description.split(separator: "\n").first.map(String.init) ?? ""))
        }
    }
}

extension WorkloadRun {
    /// The frame every workload runs in: a fresh machine of `design`, the per-cpu lists
    /// drained so that pages in use are counted exactly, THP in "madvise" mode, then
    /// `script`, then the same accounting again: leaked pages, the VM events and the
    /// diagnostics of the run, and its wall-clock time (the machine's build excluded).
    /// `script` returns the pins workload's figures (nil for the others). `kernel`: the
    /// architecture's default preset unless given.
    static func measure(_ workload: WorkloadKind, design: Design, ramBytes: UInt64, nodes: Int, kernel: KernelConfig? = nil,
                        _ script: (WorkloadRun) -> PinFigures?) throws(WorkloadError) -> WorkloadResult {
        let machine: Machine
        do throws(MachineError) {
            machine = try Machine(config: MachineConfig(ramBytes: ramBytes, nodes: nodes, design: design, kernel: kernel))
        } catch { throw .machine(error) }
        let started = ContinuousClock.now
        for zone in machine.allZones { zone.drainPcp() }
        let run = WorkloadRun(machine: machine)
        let inUseBefore = run.pagesInUse
        let eventsBefore = machine.vmEvents.snapshot
        let diagnosticsBefore = machine.diagnostics.count
        machine.thp.mode = .madvise

        let pins = script(run)

        for zone in machine.allZones { zone.drainPcp() }
        let leaked = run.pagesInUse - inUseBefore - run.retainedPages
        let seconds = (ContinuousClock.now - started).seconds
        var events = machine.vmEvents.snapshot
        events.subtract(eventsBefore)
        return WorkloadResult(
            workload: workload, design: design, ramBytes: ramBytes, nodes: nodes, events: events,
            peakPagesInUse: run.peakPagesInUse, peakAccounting: run.peakAccounting,
            dataErrors: run.dataErrors, failures: run.failureLines, leakedPages: leaked,
            diagnosticCount: machine.diagnostics.count - diagnosticsBefore,
            firstDiagnostics: run.firstDiagnostics(since: diagnosticsBefore, limit: 5),
            seconds: seconds, bytesVerified: run.bytesVerified, pins: pins)
    }
}
