// The census's classification of /proc/kpageflags as each kernel version writes it: a
// model machine of that version (its memmap in that version's encoding) read through
// stable_page_flags() of that version (PageModel's StablePageFlags.swift), classified
// by PageCensus. Expected kinds are what each version's fs/proc/page.c makes of the
// pages the test allocates, cited at each check.
import Testing
import PageCensus
import PageLayout
@testable import PageModel

@Suite struct KpageflagsOfModelMachinesTests {
    /// A 256 MiB machine of `version` with one slab, one page table, and one anonymous
    /// PMD-mapped THP; its census from the model's own kpageflags.
    /// `free` is the zones' NR_FREE_PAGES while the THP is mapped (the process exits when
    /// the scene returns).
    func scene(_ version: KernelVersion) throws -> (Machine, Census, slab: Int, table: Int, thp: Int, words: [UInt64], free: Int) {
        var kernel = try KernelConfig.preset(Arch.x86_64.defaultPresetName)
        kernel.kernel = version
        let machine = try Machine(config: MachineConfig(ramBytes: 256 << 20, kernel: kernel))
        let cache = try machine.kmemCacheCreate(name: "kpf-\(version)", size: 512)
        let object = try #require(machine.kmemCacheAlloc(cache))
        // An object of a slab of RAM lies in the direct map of RAM (virt_to_pfn()).
        // Checked here, where the address is known, rather than trapping at the first
        // words[slab] (an unexplained "Index out of range" there was seen twice).
        let offset = object &- machine.addressMap.directMapBase
        try #require(offset >> 12 < UInt64(machine.config.spannedPfns),
                     "kmem_cache_alloc() returned 0x\(String(object, radix: 16)), outside the direct map of RAM")
        let slab = Int(offset >> 12)
        let table = try #require(machine.pagetableAlloc()).pfn
        let process = try Process(machine: machine)
        let raw = try process.mm.mmap(length: 4 << 20, prot: [.read, .write], flags: [.private, .anonymous])
        let addr = (raw + (1 << 21) - 1) & ~((1 << 21) - 1)
        try process.mm.madvise(addr: addr, length: 2 << 20, advice: .hugePage)
        try process.write([1], at: addr)
        let (pmd, huge) = process.tables.entry(at: addr)
        #expect(huge)
        let pfns = machine.config.spannedPfns
        let words = (0..<pfns).map(machine.stablePageFlags)
        try #require(words.count == pfns && table < pfns && pmd.pfn < pfns,
                     "\(words.count) words for \(pfns) pfns; page table pfn \(table), THP pfn \(pmd.pfn)")
        var builder = CensusBuilder(info: SnapshotInfo(kernelRelease: "\(version).0"))
        builder.consume(flags: words, counts: [UInt64](repeating: 0, count: pfns), cgroups: [UInt64](repeating: 0, count: pfns))
        let free = machine.allZones.reduce(0) { $0 + $1.freePages }
        return (machine, builder.finish(), slab, table, pmd.pfn, words, free)
    }

    /// Every version: the slab's page is KPF_SLAB (5.15-6.6 PG_slab, kpf_copy_bit();
    /// 6.12 on folio_test_slab(), PGTY_slab) and classified slab; the page table is
    /// KPF_PGTABLE (PageTable(): PG_table 0x200 cleared under PAGE_TYPE_BASE before 6.12,
    /// PGTY_table 0xf2 after) and classified a page table; every page of every free block
    /// is KPF_BUDDY (PageBuddy() or is_free_buddy_page()), so the census's free pages are
    /// the zones' free pages; the THP is one anonymous order-9 compound unit with KPF_THP
    /// on its head.
    @Test(arguments: KernelVersion.known)
    func eachVersionClassifiesItsOwnBytes(_ version: KernelVersion) throws {
        let (_, census, slab, table, thp, words, free) = try scene(version)
        // The scene checked the pfns against the words it read; the words must still be
        // those (the machine has been freed since).
        try #require(words.count == (256 << 20) / 4096 && [slab, table, thp].allSatisfy { $0 < words.count },
                     "\(words.count) words; slab pfn \(slab), page table pfn \(table), THP pfn \(thp)")
        #expect(words[slab] & KernelPageFlags.slab.rawValue != 0)
        #expect(PageKind.classify(words[slab]) == .slab)
        #expect(words[table] & KernelPageFlags.pgtable.rawValue != 0)
        #expect(PageKind.classify(words[table]) == .pageTable)
        #expect(census[.free].pages == free)
        #expect(words[thp] & KernelPageFlags([.compoundHead, .thp, .anon]).rawValue == KernelPageFlags([.compoundHead, .thp, .anon]).rawValue)
        #expect(census.units[Int(PageKind.anon.rawValue)][9] == 1)
        #expect(census.thpHeads[9] == 1)
        #expect(census[.slab].pages >= 1 && census[.pageTable].pages >= 1)
    }

    /// What differs: a THP tail reports its own page->flags before 6.12 (`k =
    /// page->flags`: none of the head's KPF_LRU, KPF_UPTODATE, KPF_SWAPBACKED on page 2)
    /// and the folio's from 6.12 (`k = folio->flags`: the head's); page 1's own flags word
    /// is 6.6's `_flags_1`, whose low byte is the order (mm/internal.h:405-413
    /// folio_set_order()), so 6.6 reports order 9 = 0b1001 there as PG_locked (0) and
    /// PG_uptodate (3, linux-6.6.y page-flags.h:100-104): KPF_LOCKED and KPF_UPTODATE,
    /// where 5.15 and 6.1 keep the order in compound_order and report neither; holes read
    /// KPF_NOPAGE before 6.18 and 0 after (kpage_read()).
    @Test func whatTheVersionsWriteDifferently() throws {
        let headBits = KernelPageFlags([.lru, .uptodate, .swapbacked]).rawValue
        let orderBits = KernelPageFlags([.locked, .uptodate]).rawValue
        for version in KernelVersion.known {
            let (machine, _, _, _, thp, words, _) = try scene(version)
            let headFlags = words[thp] & headBits
            #expect(headFlags != 0)
            #expect(words[thp + 2] & KernelPageFlags.compoundTail.rawValue != 0)
            #expect(words[thp + 2] & headBits == (version >= .v6_12 ? headFlags : 0), "\(version)")
            if version < .v6_12 {
                #expect(words[thp + 1] & orderBits == (version == .v6_6 ? orderBits : 0), "\(version)")
            }
            #expect(machine.stablePageFlags(machine.config.spannedPfns + 1) == (version < .v6_18 ? KernelPageFlags.nopage.rawValue : 0))
        }
    }

    /// The huge zero folio (mm/huge_memory.c get_huge_zero_folio(), mapped by a read fault
    /// in a MADV_HUGEPAGE range): fs/proc/page.c stable_page_flags() reports each of its
    /// 512 pages KPF_ZERO_PAGE | KPF_THP (is_huge_zero_pfn(); is_huge_zero_page(head)
    /// before 6.12), so the census counts 1 (empty_zero_page) + 512 zero pages, what
    /// KernelCounterChecks' "zero pages" line expects once the folio is allocated.
    @Test(arguments: KernelVersion.known)
    func theHugeZeroFolioIsCountedAsZeroPages(_ version: KernelVersion) throws {
        var kernel = try KernelConfig.preset(Arch.x86_64.defaultPresetName)
        kernel.kernel = version
        let machine = try Machine(config: MachineConfig(ramBytes: 256 << 20, kernel: kernel))
        let process = try Process(machine: machine)
        let raw = try process.mm.mmap(length: 4 << 20, prot: [.read, .write], flags: [.private, .anonymous])
        let addr = (raw + (1 << 21) - 1) & ~((1 << 21) - 1)
        try process.mm.madvise(addr: addr, length: 2 << 20, advice: .hugePage)
        _ = try process.read(addr, count: 1)
        let zero = try #require(machine.hugeZero.pfn)
        let pfns = machine.config.spannedPfns
        let words = (0..<pfns).map(machine.stablePageFlags)
        let both = KernelPageFlags([.zeroPage, .thp]).rawValue
        #expect(words[zero] & both == both && words[zero + 511] & both == both, "\(version)")
        #expect(PageKind.classify(words[zero]) == .zeroPage)
        var builder = CensusBuilder(info: SnapshotInfo(kernelRelease: "\(version).0"))
        builder.consume(flags: words, counts: [UInt64](repeating: 0, count: pfns), cgroups: [UInt64](repeating: 0, count: pfns))
        #expect(builder.finish()[.zeroPage].pages == 513, "\(version)")
    }
}
