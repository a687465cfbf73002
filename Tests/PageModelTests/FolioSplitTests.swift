// Splitting a large anonymous folio, split_folio() / __folio_split() (mm/huge_memory.c,
// v6.19), on every design. Expected values from the kernel source: the caller keeps its
// reference and lock on the folio of `lock_at` (kerneldoc of
// __split_huge_page_to_list_to_order(): "the caller's folio reference will be
// transferred to @page"); every other new folio is unfrozen at
// folio_cache_ref_count() + 1 = 1, gets its mapping back from its migration entry
// (remove_migration_pte(): one reference, one mapping, PageAnonExclusive and write from
// the entry) and is unlocked and put (free_folio_and_swap_cache()), so it ends with one
// reference per mapping; it inherits mapping and index + i (__split_folio_to_order()), and
// is put on the LRU after the head (lru_add_split_folio()). A page that reads all zeroes
// is mapped to the shared zero page (remap_page() with RMP_USE_SHARED_ZEROPAGE,
// try_to_map_unused_to_zeropage()). A folio with a reference beyond the caller's and its
// mappings (a GUP pin, in every design) is refused with EAGAIN before anything is
// unmapped (`folio_expected_ref_count(folio) != folio_ref_count(folio) - 1`).
import PageLayout
@testable import PageModel
import Testing

@Suite struct FolioSplitTests {
    static let pmd: UInt64 = 2 << 20

    /// A PMD-mapped THP whose page i holds `pattern(i)` at its start, except page
    /// `zeroPage`, left as the fault zeroed it.
    static func writtenTHP(_ design: Design, zeroPage: Int = 5) throws -> (Machine, Process, UInt64, Folio) {
        let (machine, process) = try makeProcess(design)
        let raw = try process.mmapAnon(2 * pmd)
        let addr = (raw + pmd - 1) & ~(pmd - 1)
        try process.mm.madvise(addr: addr, length: pmd, advice: .hugePage)
        for i in 0..<512 where i != zeroPage { try process.write(pattern(i), at: addr + UInt64(i) << 12) }
        let (entry, huge) = process.tables.entry(at: addr)
        try #require(huge)
        let folio = try #require(machine.page(entry.pfn).flatMap(machine.pageFolio))
        try #require(folio.order == 9)
        return (machine, process, addr, folio)
    }

    @Test(arguments: Design.allCases)
    func splitOfAPMDMappedAnonTHP(_ design: Design) throws {
        let (machine, process, addr, folio) = try Self.writtenTHP(design)
        let mapping = folio.mapping, index = folio.index, pfn = folio.pfn
        folio.get()
        folio.lock()
        try machine.splitFolio(folio)
        #expect(!process.tables.entry(at: addr).huge)
        #expect(!folio.isLarge && folio.order == 0)
        // The head keeps the caller's reference and lock, plus its one mapping.
        #expect(folio.refcount == 2 && machine.folioMapcount(folio) == 1 && folio.isLocked)
        for i in 1..<512 {
            let pte = process.tables.entry(at: addr + UInt64(i) << 12).pte
            if i == 5 {
                #expect(pte.isPresent && pte.pfn == machine.zeroPagePfn && pte.isSpecial && !pte.isWritable)
                continue
            }
            #expect(pte.isPresent && pte.pfn == pfn + i && pte.isWritable)
            let page = try #require(machine.page(pfn + i))
            let new = try #require(machine.pageFolio(page))
            #expect(new.pfn == pfn + i && !new.isLarge && new.order == 0)
            #expect(new.refcount == 1 && machine.folioMapcount(new) == 1 && !new.isLocked)
            #expect(new.mapping == mapping && new.index == index + UInt64(i))
            #expect(new.testFlag(machine.flagBits.lru) && new.testFlag(machine.flagBits.swapbacked))
            #expect(machine.pageAnonExclusive(page, folio: new))
        }
        #expect(machine.vmEvents.snapshot.thpSplitPage == 1)
        folio.unlock()
        machine.folioPut(folio)
        for i in 0..<512 {
            #expect(try process.read(addr + UInt64(i) << 12, count: 64) == (i == 5 ? [UInt8](repeating: 0, count: 64) : pattern(i)))
        }
        // Writes after the split: each small folio is exclusive and reused in place.
        try process.write(pattern(3, 1), at: addr + 3 << 12)
        #expect(process.tables.entry(at: addr + 3 << 12).pte.pfn == pfn + 3)
        #expect(try process.read(addr + 3 << 12, count: 64) == pattern(3, 1))
        process.exit()
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption || $0.kind == .badPage }.isEmpty)
    }

    /// A pin is a reference beyond the caller's and the mappings' in every design: the
    /// split is refused with EAGAIN and nothing changes; unpinned, it goes through.
    @Test(arguments: Design.allCases)
    func pinnedTHPRefusesToSplit(_ design: Design) throws {
        let (machine, process, addr, folio) = try Self.writtenTHP(design)
        let pages = try process.pinUserPages(start: addr + 3 << 12, nrPages: 1, flags: [.write])
        let before = folio.refcount
        folio.get()
        folio.lock()
        #expect(throws: Errno.EAGAIN) { try machine.splitFolio(folio) }
        #expect(process.tables.entry(at: addr).huge)
        #expect(folio.isLarge && folio.order == 9 && folio.refcount == before + 1)
        machine.unpinUserPages(pages)
        try machine.splitFolio(folio)
        #expect(!process.tables.entry(at: addr).huge && !folio.isLarge)
        folio.unlock()
        machine.folioPut(folio)
        #expect(try process.read(addr + 3 << 12, count: 64) == pattern(3))
        process.exit()
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption || $0.kind == .badPage }.isEmpty)
    }

    /// With `lock_at` a tail page, the caller's reference and lock end on that page's
    /// folio; the head is unlocked and keeps only its mapping's reference. A PTE-mapped
    /// THP (half of it made read-only) keeps each PTE's permission through the split.
    @Test(arguments: [Design.mainline, .memdesc32, .memdesc8])
    func splitAtATailOfAPTEMappedTHP(_ design: Design) throws {
        let (machine, process, addr, folio) = try Self.writtenTHP(design)
        try process.mm.mprotect(addr: addr + Self.pmd / 2, length: Self.pmd / 2, prot: [.read])
        #expect(!process.tables.entry(at: addr).huge)
        let pfn = folio.pfn
        let tail = try #require(machine.page(pfn + 300))
        folio.get()
        folio.lock()
        try machine.splitFolio(folio, lockAt: tail)
        #expect(folio.refcount == 1 && !folio.isLocked)
        let kept = try #require(machine.pageFolio(tail))
        #expect(kept.pfn == pfn + 300 && kept.refcount == 2 && kept.isLocked)
        #expect(process.tables.entry(at: addr + 10 << 12).pte.isWritable)
        #expect(!process.tables.entry(at: addr + 300 << 12).pte.isWritable)
        #expect(process.tables.entry(at: addr + 300 << 12).pte.pfn == pfn + 300)
        kept.unlock()
        machine.folioPut(kept)
        #expect(try process.read(addr + 300 << 12, count: 64) == pattern(300))
    }

    /// folio_check_splittable() and __folio_split()'s first checks: EINVAL for a small
    /// folio and for a page outside the folio.
    @Test func splitRefusesASmallFolioAndAForeignPage() throws {
        let (machine, process, addr, folio) = try Self.writtenTHP(.mainline)
        let small = try process.mmapAnon(4096)
        try process.write([1], at: small)
        let smallFolio = try #require(machine.page(process.tables.entry(at: small).pte.pfn).flatMap(machine.pageFolio))
        #expect(throws: Errno.EINVAL) { try machine.splitFolio(smallFolio) }
        #expect(throws: Errno.EINVAL) { try machine.splitFolio(folio, lockAt: smallFolio.headPage) }
        #expect(process.tables.entry(at: addr).huge && folio.isLarge)
    }

    /// migrate_pages_batch() (mm/migrate.c): when no order-9 target can be had (ENOMEM,
    /// injected with fail_page_alloc's min-order 9) a THP is split (try_split_folio())
    /// and its 512 pages migrated one by one, all of them to the node asked for.
    @Test(arguments: Design.allCases)
    func moveOfATHPWithoutALargeTargetSplitsIt(_ design: Design) throws {
        let machine = try Machine(ramBytes: 256 << 20, design: design, nodes: 2)
        let process = try Process(machine: machine)
        let raw = try process.mmapAnon(2 * Self.pmd)
        let addr = (raw + Self.pmd - 1) & ~(Self.pmd - 1)
        try process.mm.madvise(addr: addr, length: Self.pmd, advice: .hugePage)
        for i in 0..<512 { try process.write(pattern(i), at: addr + UInt64(i) << 12) }
        try #require(process.tables.entry(at: addr).huge)
        machine.injectAllocationFailures(FailInjection(times: 1, minOrder: 9))
        let result = process.migrate(addr, length: Self.pmd, toNode: 1)
        #expect(result.failed.isEmpty && result.migrated.count == 512)
        #expect(result.migrated.allSatisfy { $0.order == 0 && machine.memmap.nid(of: $0.pfn) == 1 })
        #expect(machine.vmEvents.snapshot.thpSplitPage == 1)
        #expect(!process.tables.entry(at: addr).huge)
        for i in 0..<512 { #expect(try process.read(addr + UInt64(i) << 12, count: 64) == pattern(i)) }
        process.exit()
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption || $0.kind == .badPage }.isEmpty)
    }
}
