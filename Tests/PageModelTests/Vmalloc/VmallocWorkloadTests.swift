// The vmalloc workload (`pagelab compare --workload vmalloc`): four drivers that map
// vmalloc memory into a process and vfree() it while mapped or pinned, on every design
// and tracking option. Expected counts are derived from the drivers' sequences as written
// in each driver's comment, not from the model's output:
//   perf      vmalloc_user(1 + 2^4 = 17 pages), all 17 mapped at vfree()
//   io_uring  rings 2 pages + SQEs 1 page, all 3 mapped at vfree()
//   bpf       meta 2 + data 8 = 10 pages; mapped meta + data + data = 18 PTEs at vfree()
//   videobuf2 256 pages mapped; three O_DIRECT requests pin all 256 (fast, slow, fast),
//             the third still pinned at vfree()
import Testing
@testable import PageModel
import PageLayout

@Suite struct VmallocWorkloadTests {
    static let ram: UInt64 = 256 << 20
    /// PTEs mapping a driver's pages when it vfree()s them: 17 + 3 + 18 + 256.
    static let mappedAtFree = 17 + 3 + 18 + 256
    /// vmalloc_user() pages: 17 + 2 + 1 + 10 + 256.
    static let vmallocPages = 17 + 2 + 1 + 10 + 256
    static let pins = 3 * 256

    static let rows: [(Design, VmallocTracking)] = Design.allCases.flatMap { design in
        VmallocWorkload.options(for: design).map { (design, $0) }
    }

    /// The struct-page designs keep v6.19's per-page refcount only; the memdesc designs
    /// run every other option.
    @Test func everyDesignGetsTheOptionsThatApplyToIt() {
        #expect(VmallocWorkload.options(for: .mainline) == [.pageRefcount])
        #expect(VmallocWorkload.options(for: .proxy) == [.pageRefcount])
        // Every other option (VmallocTracking.allCases: a new option joins these rows).
        #expect(Set(VmallocWorkload.options(for: .memdesc8)) == Set(VmallocTracking.allCases).subtracting([.pageRefcount]))
        #expect(Set(VmallocWorkload.options(for: .memdesc8)).isSuperset(of: [.untracked, .scamem, .vmStruct]))
        // The seed's three placements need the 8-byte word's room (ScamemPlacement):
        // every one on memdesc8, the memdesc pointer on memdesc32, none without scamem.
        #expect(VmallocWorkload.placements(.scamem, design: .memdesc8) == [.memdescPointer, .vmaPrivate, .memdescNodeZone])
        #expect(VmallocWorkload.placements(.scamem, design: .memdesc32) == [.memdescPointer])
        #expect(VmallocWorkload.placements(.untracked, design: .memdesc8) == [nil])
    }

    @Test(arguments: rows)
    func theDriversCountsFollowFromTheirSequences(_ design: Design, _ option: VmallocTracking) throws {
        let result = try VmallocWorkload.run(design: design, ramBytes: Self.ram, option: option)
        let v = try #require(result.vmalloc)
        #expect(v.option == option)
        #expect(v.vmallocBytes == Self.vmallocPages * 4096)
        #expect(result.leakedPages == 0)
        #expect(result.passed, "\(result.failures)")
        if option == .untracked {
            // Option 2: every PTE of every driver maps a page vfree() frees; GUP is refused
            // (-EEXIST) on each of the three O_DIRECT requests.
            #expect(v.useAfterFree == Self.mappedAtFree)
            #expect(v.pins == 0 && v.gupRefused == Self.pins)
            #expect(v.references == 0)
            #expect(v.nsPerGupPage == nil)
            #expect(result.dataErrors > 0 && result.dataErrors == v.dataErrorsAfterFree)
        } else {
            #expect(v.useAfterFree == 0)
            #expect(v.pins == Self.pins && v.gupRefused == 0)
            #expect(result.dataErrors == 0, "\(result.failures)")
            #expect(result.failures.isEmpty)
            #expect(result.diagnosticCount == 0, "\(result.firstDiagnostics)")
            #expect((v.nsPerGupPage ?? 0) > 0)
        }
        switch option {
        case .scamem, .vmStruct:
            // One reference per PTE and per pin (the in-flight request's 256).
            #expect(v.references == Self.mappedAtFree + 256)
            // The largest scamem: 8 + 256 * 8 bytes in a 16-byte object (Scamem.swift).
            #expect(v.scamemBytes == 2064)
        case .vmallocMemdesc:
            // Option 1: each page's own descriptor takes one reference per PTE and per pin
            // (VmallocMemdesc.swift: no pin bias); no scamem.
            #expect(v.references == Self.mappedAtFree + 256)
            #expect(v.scamemBytes == 0)
        case .pageRefcount where design == .mainline:
            // A folio reference per PTE; GUP_PIN_COUNTING_BIAS per pin (mm/gup.c).
            #expect(v.references == Self.mappedAtFree + 256 * 1024)
            #expect(v.scamemBytes == 0)
        default:
            #expect(v.scamemBytes == 0)
        }
    }

    /// The VMA placements: unpin_user_pages() has only the page, so it cannot reach the
    /// scamem (ScamemPlacement.unreachableReason) and the videobuf2 buffer's pins are never
    /// put: its 256 pages stay allocated after every vfree(), unmap and unpin. The memdesc
    /// pointer placement gives every page back.
    @Test(arguments: ScamemPlacement.allCases)
    func vmaPlacementsStrandThePinnedBuffer(_ placement: ScamemPlacement) throws {
        let result = try VmallocWorkload.run(design: .memdesc8, ramBytes: Self.ram, option: .scamem, placement: placement)
        let v = try #require(result.vmalloc)
        #expect(v.placement == placement)
        #expect(result.dataErrors == 0 && result.leakedPages == 0, "\(result.failures)")
        #expect(v.useAfterFree == 0 && v.pins == Self.pins)
        #expect(v.strandedPages == (placement.needsVMA ? 256 : 0))
        #expect((v.unreachableWithoutVMA > 0) == placement.needsVMA)
    }

    /// Bad input: too little RAM is the typed error `pagelab compare` prints (status 2).
    @Test func tooLittleRAMIsATypedError() {
        #expect(throws: WorkloadError.ramTooSmall(bytes: 128 << 20, minimum: 256 << 20)) {
            try WorkloadKind.vmalloc.runRows(design: .memdesc8, ramBytes: 128 << 20)
        }
        #expect(throws: WorkloadError.ramTooSmall(bytes: 0, minimum: 256 << 20)) { try WorkloadKind.vmalloc.validate(ramBytes: 0) }
    }

    /// Where nothing holds the pages, the bytes user space reads after vfree() are the
    /// kernel's next user's (the reuse fills them with 0xdd), reported as data errors.
    @Test func untrackedPagesAreReusedUnderUserSpace() throws {
        let result = try VmallocWorkload.run(design: .memdesc8, ramBytes: Self.ram, option: .untracked)
        #expect(result.failures.contains { $0.contains("after vfree") })
        #expect(result.firstDiagnostics.contains { $0.contains("use-after-free") })
    }
}
