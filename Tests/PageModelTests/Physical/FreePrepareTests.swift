@testable import PageModel
import PageLayout
import Testing

/// `__free_pages_prepare()` (mm/page_alloc.c) ends with
/// `page->flags.f &= ~PAGE_FLAGS_CHECK_AT_PREP` on every page of the block, and
/// PAGE_FLAGS_CHECK_AT_PREP is every page flag but PG_hwpoison (page-flags.h), so a page
/// comes back from the allocator without PG_anon_exclusive (= PG_owner_2).
@Suite struct FreePrepareTests {
    /// An anonymous page written (so PageAnonExclusive), unmapped (freed), then handed
    /// out again as a page-table page: its flags word must not carry PG_anon_exclusive.
    /// memdesc32 keeps PG_anon_exclusive in the 32-byte page's own flags word; its free
    /// path left the bit there.
    @Test(arguments: [Design.mainline, .memdesc32])
    func freedAnonPageLosesAnonExclusive(_ design: Design) throws {
        let (machine, process) = try makeProcess(design)
        let addr = try process.mmapAnon(1 << 12)
        try process.write([7], at: addr)
        let pfn = process.tables.entry(at: addr).pte.pfn
        let folio = try #require(machine.page(pfn).flatMap(machine.pageFolio))
        #expect(machine.pageAnonExclusive(folio.headPage, folio: folio))
        let bit = machine.flagBits.owner2
        #expect(bit >= 0)
        #expect(Page(unchecked: pfn, machine.context).testFlag(bit))
        try process.mm.munmap(addr: addr, length: 1 << 12)
        for zone in machine.allZones { zone.drainPcp() }
        #expect(!Page(unchecked: pfn, machine.context).testFlag(bit), "PG_anon_exclusive survived the free of pfn \(pfn)")
    }
}
