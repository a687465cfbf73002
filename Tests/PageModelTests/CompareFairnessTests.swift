// Issue 17, item 4: the pins workload's per-page figures are over the same pfns on every
// design; the ZONE_DEVICE section (memmap and, in the memdesc designs, its device folio
// descriptors) is its own figure.
import Testing
@testable import PageModel
import PageLayout

@Suite struct CompareFairnessTests {
    @Test func bytesPerPageIsOverRAMsPfnsOnEveryDesign() throws {
        let ram: UInt64 = 256 << 20
        let mainline = try WorkloadKind.pins.run(design: .mainline, ramBytes: ram)
        let memdesc8 = try WorkloadKind.pins.run(design: .memdesc8, ramBytes: ram)
        let m = try #require(mainline.pins), d = try #require(memdesc8.pins)
        // Both machines span the same RAM pfns.
        #expect(mainline.peakAccounting.pfns == memdesc8.peakAccounting.pfns)
        #expect(mainline.peakAccounting.pfns == Int(ram) / 4096)
        // Mainline has neither descriptors nor page_ext: RAM costs sizeof(struct page),
        // 64 bytes on x86-64 (include/linux/mm_types.h), per pfn, exactly.
        #expect(m.bytesPerPage == 64)
        // Its one ZONE_DEVICE section (128 MiB, SECTION_SIZE_BITS 27) has a memmap of
        // 32768 struct pages: 2 MiB, counted apart.
        #expect(m.deviceMemmapBytes == (128 << 20) / 4096 * 64)
        // memdesc8's section: 32768 8-byte pages (the memdesc plan's `u64 memdesc`) and a
        // folio descriptor of 80 bytes (kernel-facts.md 5.3, DesignLayoutTests) per page.
        #expect(d.deviceMemmapBytes == (128 << 20) / 4096 * (8 + 80))
        #expect(d.deviceNote == nil)
        #expect(d.bytesPerPage < m.bytesPerPage)
    }
}
