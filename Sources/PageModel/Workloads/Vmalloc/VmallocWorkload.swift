// The `vmalloc` workload (seed 004): four drivers that map vmalloc memory into a process
// (a perf ring buffer, io_uring's rings, a BPF ringbuf's double mapping, a videobuf2
// capture buffer handed to O_DIRECT), each freeing it with vfree() while the mapping or
// a pin still exists, on every design and every vmalloc tracking option that applies.
import PageLayout

/// What one (design, vmalloc tracking option) row measured.
public struct VmallocFigures: Sendable, Equatable {
    /// How the vmalloc pages mapped to user space were kept alive.
    public var option: VmallocTracking
    /// Where the page → scamem link lives (nil where there is no scamem).
    public var placement: ScamemPlacement?
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
    /// Puts that had only the page and could not reach its scamem (the VMA placements:
    /// unpin_user_pages() has no VMA), and the vmalloc pages those references strand
    /// after every vfree(), unmap and unpin: the placements' price, not a model leak.
    public var unreachableWithoutVMA: Int = 0
    public var strandedPages: Int = 0

    /// The seed's warning: only the untracked option may free pages user space still
    /// reaches.
    public var mayUseAfterFree: Bool { option == .untracked }
}

enum VmallocWorkload: WorkloadScript {
    static let minimumRAM: UInt64 = 256 << 20
    static let nodes = 2

    /// The options that apply to `design`: the per-page refcount where the memmap holds
    /// each page's folio (the struct-page designs, v6.19), every other option on the
    /// memdesc designs, whose vmalloc pages have no refcount of their own.
    static func options(for design: Design) -> [VmallocTracking] {
        let structPage = !MemmapKind(design: design).foliosAreDescriptors
        return VmallocTracking.allCases.filter { ($0 == .pageRefcount) == structPage }
    }

    /// The scamem placements of an option's rows: every placement of the seed on
    /// memdesc8 (the only word with room for them), the memdesc pointer on memdesc32;
    /// none where there is no scamem.
    static func placements(_ option: VmallocTracking, design: Design) -> [ScamemPlacement?] {
        guard option == .scamem else { return [nil] }
        return MemmapKind(design: design).wordHoldsScamemPlacements ? ScamemPlacement.allCases : [.memdescPointer]
    }

    /// One machine per applicable option.
    static func runRows(design: Design, ramBytes: UInt64) throws(WorkloadError) -> [WorkloadResult] {
        var rows: [WorkloadResult] = []
        for option in options(for: design) {
            for placement in placements(option, design: design) {
                rows.append(try run(design: design, ramBytes: ramBytes, option: option, placement: placement))
            }
        }
        return rows
    }

    /// The four drivers, one after another, on a fresh machine of `design` with
    /// `option`; then every process gone and every area purged.
    static func run(design: Design, ramBytes: UInt64, option: VmallocTracking? = nil,
                    placement: ScamemPlacement? = nil) throws(WorkloadError) -> WorkloadResult {
        try validate(ramBytes: ramBytes)
        let option = option ?? options(for: design)[0]
        var figures: VmallocFigures?
        var result = try WorkloadRun.measure(.vmalloc, design: design, ramBytes: ramBytes, nodes: nodes) { run in
            let inUseBefore = run.pagesInUse
            let d: VmallocDriverRun
            do throws(Errno) { d = try VmallocDriverRun(run: run, tracking: option, placement: placement ?? .memdescPointer) } catch {
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
            // A VMA placement strands the pages its page-only puts could not release
            // (vfree() already took the area off the vmalloc counts); elsewhere any page
            // still in use is a leak, counted as one.
            let stranded = d.space.unreachableWithoutVMA > 0
                ? max(0, run.pagesInUse - inUseBefore - d.space.tables.tablePages) : 0
            run.retainedPages = d.space.tables.tablePages + stranded
            figures = VmallocFigures(
                option: option, placement: option == .scamem ? (placement ?? .memdescPointer) : nil, vmallocBytes: d.vmallocBytes, scamemBytes: d.peakScamemBytes,
                pins: d.pinnedPages, gupRefused: d.refusedPages, references: d.references, useAfterFree: d.space.useAfterFree,
                dataErrorsAfterFree: d.dataErrorsAfterFree, nsPerGupPage: d.nsPerGupPage,
                unreachableWithoutVMA: d.space.unreachableWithoutVMA, strandedPages: stranded)
            return nil
        }
        result.vmalloc = figures
        return result
    }
}
