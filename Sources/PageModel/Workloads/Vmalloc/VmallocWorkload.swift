// The `vmalloc` workload (seed 004): four drivers that map vmalloc memory into a process
// (a perf ring buffer, io_uring's rings, a BPF ringbuf's double mapping, a videobuf2
// capture buffer handed to O_DIRECT), each freeing it with vfree() while the mapping or
// a pin still exists, on every design and every vmalloc tracking option that applies.
import PageLayout

/// What one (design, vmalloc tracking option) row measured.
public struct VmallocFigures: Sendable, Equatable {
    /// How the vmalloc pages mapped to user space were kept alive.
    public var option: VmallocTracking
    /// Where the page → scamem link lives ("-" where there is no scamem).
    public var placement: String
    /// Bytes vmalloc_user() gave the drivers.
    public var vmallocBytes: Int
    /// The descriptor heap's scamem objects at their peak (option 3 keeps its refcount
    /// in the same object; the kernel would add 4 bytes to vm_struct instead).
    public var scamemBytes: Int
    /// Pages pinned (FOLL_PIN), pages GUP refused.
    public var pins: Int
    public var gupRefused: Int
    /// References besides vmalloc's own held on the areas when the drivers vfree()d them.
    public var references: Int
    /// Pages vfree() gave back while a user PTE still mapped them without a reference
    /// (one per PTE: the BPF ring's data pages count twice).
    public var useAfterFree: Int
    /// Data errors found after the drivers' vfree() (all of them on a correct model).
    public var dataErrorsAfterFree: Int
    /// pin_user_pages_fast() + unpin_user_pages() per page of remapped vmalloc memory;
    /// nil where GUP is refused.
    public var nsPerGupPage: Double?

    /// The seed's warning: only the untracked option may free pages user space still
    /// reaches.
    public var mayUseAfterFree: Bool { option == .untracked }
}

enum VmallocWorkload {
    static let minimumRAM: UInt64 = 256 << 20
    static let nodes = 2

    static func validate(ramBytes: UInt64) throws(WorkloadError) {
        guard ramBytes >= minimumRAM else { throw .ramTooSmall(bytes: ramBytes, minimum: minimumRAM) }
    }

    /// The options that apply to `design`: the per-page refcount where the memmap holds
    /// each page's folio (the struct-page designs, v6.19), every other option on the
    /// memdesc designs, whose vmalloc pages have no refcount of their own.
    static func options(for design: Design) -> [VmallocTracking] {
        let structPage = MemmapKind(design: design) == .structPage
        return VmallocTracking.allCases.filter { ($0 == .pageRefcount) == structPage }
    }

    /// The scamem placement of a row.
    // placements: wired at merge
    static func placement(_ option: VmallocTracking) -> String {
        option == .scamem ? "memdesc-pointer" : "-"
    }

    /// One machine per applicable option.
    static func runRows(design: Design, ramBytes: UInt64) throws(WorkloadError) -> [WorkloadResult] {
        var rows: [WorkloadResult] = []
        for option in options(for: design) { rows.append(try run(design: design, ramBytes: ramBytes, option: option)) }
        return rows
    }

    /// The four drivers, one after another, on a fresh machine of `design` with
    /// `option`; then every process gone and every area purged.
    static func run(design: Design, ramBytes: UInt64, option: VmallocTracking? = nil) throws(WorkloadError) -> WorkloadResult {
        try validate(ramBytes: ramBytes)
        let option = option ?? options(for: design)[0]
        var figures: VmallocFigures?
        var result = try WorkloadRun.measure(.vmalloc, design: design, ramBytes: ramBytes, nodes: nodes) { run in
            let d: VmallocDriverRun
            do throws(Errno) { d = try VmallocDriverRun(run: run, tracking: option) } catch {
                run.fail("vmalloc: setting up: \(error)")
                return nil
            }
            PerfRingBuffer.run(d)
            IoUringRings.run(d)
            BPFRingbuf.run(d)
            VideobufCapture.run(d)
            d.process.exit()
            d.space.purgeLazy()
            if d.space.nrPages != 0 { run.fail("vmalloc: \(d.space.nrPages) vmalloc pages left after every vfree()") }
            run.retainedPages = d.space.tables.tablePages
            figures = VmallocFigures(
                option: option, placement: placement(option), vmallocBytes: d.vmallocBytes, scamemBytes: d.peakScamemBytes,
                pins: d.pinnedPages, gupRefused: d.refusedPages, references: d.references, useAfterFree: d.space.useAfterFree,
                dataErrorsAfterFree: d.dataErrorsAfterFree, nsPerGupPage: d.nsPerGupPage)
            return nil
        }
        result.vmalloc = figures
        return result
    }
}
