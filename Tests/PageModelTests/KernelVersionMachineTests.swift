// A model machine of an older kernel version: the memmap in that version's struct page,
// folio and enum pageflags, run by the model's (v6.19) code.
@testable import PageModel
import PageLayout
import Testing

@Suite struct KernelVersionMachineTests {
    func machine(_ version: KernelVersion) throws -> Machine {
        var kernel = try KernelConfig.preset(Arch.x86_64.defaultPresetName)
        kernel.kernel = version
        return try Machine(config: MachineConfig(ramBytes: 256 << 20, kernel: kernel))
    }

    /// 6.12's enum pageflags (linux-6.12.y include/linux/page-flags.h:93-129) has
    /// PG_unevictable at 18 and PG_mlocked right after it at 19; 6.14 put PG_dropbehind
    /// there, so v6.19's PG_mlocked is 20. The flag the model sets lands on 6.12's bit.
    @Test func flagsWordHas612Positions() throws {
        let m612 = try machine(.v6_12)
        let page = try #require(m612.allocPages([.kernel], order: 0))
        page.setFlag(m612.flagBits.mlocked)
        #expect(page.loadWord(atOffset: 0).map { $0 & (1 << 19) != 0 } == true)
        #expect(page.loadWord(atOffset: 0).map { $0 & (1 << 20) == 0 } == true)
        let m619 = try machine(.v6_19)
        let other = try #require(m619.allocPages([.kernel], order: 0))
        other.setFlag(m619.flagBits.mlocked)
        #expect(other.loadWord(atOffset: 0).map { $0 & (1 << 20) != 0 } == true)
        #expect(m612.selfCheck().passed)
    }

    /// prep_compound_head() of 6.12 (mm/internal.h) on its struct folio (mm_types.h): page
    /// 1 holds _flags_1 (order in bits 0-7) at 64, _large_mapcount 80 = -1,
    /// _entire_mapcount 84 = -1, _nr_pages_mapped 88 = 0, _pincount 92 = 0 and
    /// _folio_nr_pages 96 = 1 << order.
    @Test func largeFolioIn612Layout() throws {
        let machine = try machine(.v6_12)
        let head = try #require(machine.allocPages([.kernel, .comp], order: 2))
        let page1 = try #require(machine.page(head.pfn + 1))
        #expect(page1.loadWord(atOffset: 0).map { $0 & 0xff } == 2)
        #expect(page1.load32(atOffset: 80 - 64) == UInt32.max)
        #expect(page1.load32(atOffset: 84 - 64) == UInt32.max)
        #expect(page1.load32(atOffset: 88 - 64) == 0)
        #expect(page1.load32(atOffset: 92 - 64) == 0)
        #expect(page1.load32(atOffset: 96 - 64) == 4)
    }

    /// 6.6 (linux-6.6.y include/linux/page-flags.h:100-139): PG_slab is flag 11 and
    /// PG_mlocked 21; page_type is PAGE_TYPE_BASE 0xf0000000 with a cleared bit, so a free
    /// block's head reads 0xffffff7f (PG_buddy 0x80) and a slab keeps _mapcount's -1.
    @Test func memmapIn66Encoding() throws {
        let machine = try machine(.v6_6)
        let page = try #require(machine.allocPages([.kernel], order: 0))
        page.setFlag(machine.flagBits.mlocked)
        #expect(page.loadWord(atOffset: 0).map { $0 & (1 << 21) != 0 } == true)
        let cache = try machine.kmemCacheCreate(name: "test-6.6", size: 256)
        let object = try #require(machine.kmemCacheAlloc(cache))
        var slabHeads = 0, buddyHeads = 0, pgtyBuddy = 0
        for pfn in 0..<(256 << 8) {
            guard let p = machine.page(pfn), let flags = p.loadWord(atOffset: 0), let type = p.load32(atOffset: 48) else { continue }
            if flags & (1 << 11) != 0 {
                slabHeads += 1
                #expect(type == UInt32.max)
            }
            if type == 0xffff_ff7f { buddyHeads += 1 }
            if type >> 24 == 0xf0 { pgtyBuddy += 1 }
        }
        #expect(slabHeads >= 1 && buddyHeads >= 1 && pgtyBuddy == 0)
        machine.kmemCacheFree(cache, object)
        #expect(machine.selfCheck().passed)
    }

    /// prep_compound_head() of 6.6 (mm/internal.h) on its folio (mm_types.h): page 1's
    /// _flags_1 holds the order, _entire_mapcount 88 = -1, _nr_pages_mapped 92 = 0,
    /// _pincount 96 = 0, _folio_nr_pages 100 = 1 << order.
    @Test func largeFolioIn66Layout() throws {
        let machine = try machine(.v6_6)
        let head = try #require(machine.allocPages([.kernel, .comp], order: 2))
        let page1 = try #require(machine.page(head.pfn + 1))
        #expect(page1.loadWord(atOffset: 0).map { $0 & 0xff } == 2)
        #expect(page1.load32(atOffset: 88 - 64) == UInt32.max)
        #expect(page1.load32(atOffset: 92 - 64) == 0)
        #expect(page1.load32(atOffset: 96 - 64) == 0)
        #expect(page1.load32(atOffset: 100 - 64) == 4)
    }

    /// An order-2 compound page of a 5.15 or 6.1 machine, with what both versions'
    /// prep_compound_page() writes alike: PG_head (flag 16 in both enum pageflags),
    /// compound_dtor = COMPOUND_PAGE_DTOR (1) and compound_order = 2 at page[1]+16/17,
    /// compound_mapcount = -1 at page[1]+20.
    func compoundPage(_ machine: Machine) throws -> (Page, Page, Page) {
        let head = try #require(machine.allocPages([.kernel, .comp], order: 2))
        let page1 = try #require(machine.page(head.pfn + 1))
        let page2 = try #require(machine.page(head.pfn + 2))
        #expect(head.loadWord(atOffset: 0).map { $0 & (1 << 16) != 0 } == true)
        #expect(page1.loadWord(atOffset: 16).map { $0 & 0xffff } == 0x0201)
        #expect(page1.load32(atOffset: 20) == UInt32.max)
        return (head, page1, page2)
    }

    /// prep_compound_page()/prep_compound_head() of 6.1 (linux-6.1.y 6.1.166
    /// mm/page_alloc.c:807-813) on its struct page's tail arm (include/linux/mm_types.h:
    /// 137-149, 64-bit): page 1 has compound_dtor 16 = COMPOUND_PAGE_DTOR (1, enum
    /// compound_dtor_id in mm.h), compound_order 17, compound_mapcount 20 = -1,
    /// compound_pincount 24 = 0, compound_nr 28 = 1 << order; page 2's deferred_list (24)
    /// is an empty list; PG_head is flag 16 (page-flags.h:100-117). The mapcounts 6.1
    /// lacks sit in page[1].index (32: _large_mapcount -1, 36: _nr_pages_mapped 0), the
    /// placement ModelLayoutCompound.swift documents.
    @Test func largeFolioIn61Layout() throws {
        let machine = try machine(.v6_1)
        let (head, page1, page2) = try compoundPage(machine)
        #expect(page1.load32(atOffset: 24) == 0)
        #expect(page1.load32(atOffset: 28) == 4)
        #expect(page1.load32(atOffset: 32) == UInt32.max)
        #expect(page1.load32(atOffset: 36) == 0)
        #expect(page2.loadWord(atOffset: 24) == head.address + 2 * 64 + 24)
        let folio = try #require(machine.pageFolio(head))
        #expect(folio.order == 2 && folio.nrPages == 4 && folio.pincount == 0)
        machine.freePages(head, order: 2)
        #expect(machine.selfCheck().passed)
    }

    /// 5.15 (linux-5.15.y 5.15.135 mm/page_alloc.c:731-748, include/linux/mm_types.h:
    /// 147-161): page 1 has compound_dtor 16 = 1, compound_order 17, compound_mapcount 20
    /// = -1 and compound_nr 24; the pin count is page 2's hpage_pinned_refcount (16 = 0),
    /// so an order-1 compound page has none (hpage_pincount_available(): order > 1) and
    /// pins count in _refcount, where 6.1's compound_pincount serves order 1 too.
    @Test func largeFolioIn515Layout() throws {
        let machine = try machine(.v5_15)
        let (head, page1, page2) = try compoundPage(machine)
        #expect(page1.load32(atOffset: 24) == 4)
        #expect(page2.load32(atOffset: 16) == 0)
        #expect(page2.loadWord(atOffset: 24) == head.address + 2 * 64 + 24)
        let folio = try #require(machine.pageFolio(head))
        #expect(folio.order == 2 && folio.nrPages == 4 && folio.pincount == 0)
        let small = try #require(machine.folioAlloc(.kernel, order: 1))
        #expect(small.order == 1 && !small.hasPincount)
        let m61 = try self.machine(.v6_1)
        let small61 = try #require(m61.folioAlloc(.kernel, order: 1))
        #expect(small61.hasPincount)
        machine.freePages(head, order: 2)
        #expect(machine.selfCheck().passed)
        #expect(m61.selfCheck().passed)
    }

    /// Free blocks, slabs and the buddy list link of 5.15 and 6.1: a free block's head has
    /// page_type PAGE_TYPE_BASE with PG_buddy 0x80 cleared (0xffffff7f at 48, both
    /// page-flags.h: 5.15 lines 715-721, 6.1 lines 943-949) and is linked through `lru`
    /// (8; 5.15 has no buddy_list); a slab has PG_slab (flag 9) and slab_cache at 24
    /// (6.1 mm/slab.h:9-40 SLUB: the slab_list/rcu_head union first; 5.15 struct page's
    /// slab arm) with page_type left at -1.
    @Test func memmapIn61And515Encoding() throws {
        for version in [KernelVersion.v5_15, .v6_1] {
            let machine = try machine(version)
            let cache = try machine.kmemCacheCreate(name: "test-\(version)", size: 256)
            let object = try #require(machine.kmemCacheAlloc(cache))
            var slabHeads = 0, buddyHeads = 0
            for pfn in 0..<(256 << 8) {
                guard let p = machine.page(pfn), let flags = p.loadWord(atOffset: 0), let type = p.load32(atOffset: 48) else { continue }
                if flags & (1 << 9) != 0, p.loadWord(atOffset: 24) == cache.address {
                    slabHeads += 1
                    #expect(type == UInt32.max)
                }
                if type == 0xffff_ff7f {
                    buddyHeads += 1
                    #expect(p.loadWord(atOffset: 8).map { $0 != p.address + 8 } == true)  // on a free list
                }
                #expect(type >> 24 != 0xf0 || type == UInt32.max || type & 0x0fff_ff00 == 0x0fff_ff00, "not a PGTY_* top byte")
            }
            #expect(slabHeads >= 1 && buddyHeads >= 1, "\(version)")
            machine.kmemCacheFree(cache, object)
            #expect(machine.selfCheck().passed)
        }
    }

    /// A 32-bit 5.15 or 6.1 machine is refused (page 1 has no free word for the model's
    /// mapcounts there: 6.1's compound_pincount is page[1].index's word); an unknown
    /// version is refused too; a design other than mainline on an older version is.
    @Test func olderVersionsRefusals() throws {
        for version in [KernelVersion.v5_15, .v6_1] {
            #expect(ModelLayout.refusal(version) == nil)
            #expect(ModelLayout.refusal(version, bitsPerLong: 32)?.contains("64-bit") == true)
            var kernel = try KernelConfig.preset(Arch.i386.defaultPresetName)
            kernel.kernel = version
            #expect(throws: MachineError.self) { try Machine(config: MachineConfig(ramBytes: 64 << 20, arch: .i386, kernel: kernel)) }
        }
        #expect(ModelLayout.refusal(KernelVersion(6, 3))?.contains("5.15, 6.1, 6.6") == true)
        var kernel = try KernelConfig.preset(Arch.x86_64.defaultPresetName)
        kernel.kernel = .v6_12
        #expect(throws: MachineError.self) { try Machine(config: MachineConfig(ramBytes: 256 << 20, design: .memdesc32, kernel: kernel)) }
    }

    /// The model's (v6.19) rmap and GUP on 5.15's and 6.1's bytes: a pin of 8 pages of a
    /// PMD-mapped THP is 8 in the version's pin count (6.1 compound_pincount page[1]+24,
    /// 5.15 hpage_pinned_refcount page[2]+16); shared by fork, the THP has an entire
    /// mapcount of 2 in compound_mapcount (page[1]+20, -1 based: 1); the data reads back; unpinning and unmapping leave no diagnostic and a clean self-check.
    @Test func thpForkAndPinOnOlderLayouts() throws {
        for (version, pinPage, pinOffset) in [(KernelVersion.v6_1, 1, 24), (.v5_15, 2, 16)] {
            let machine = try machine(version)
            let process = try Process(machine: machine)
            let raw = try process.mmapAnon(4 << 20)
            let addr = (raw + (1 << 21) - 1) & ~((1 << 21) - 1)
            try process.mm.madvise(addr: addr, length: 2 << 20, advice: .hugePage)
            try process.write([7, 8, 9], at: addr + 4096)
            let (pmd, huge) = process.tables.entry(at: addr)
            #expect(huge, "\(version)")
            let head = try #require(machine.page(pmd.pfn))
            let pins = try process.pinUserPages(start: addr, nrPages: 8, flags: .write)
            #expect(machine.page(pmd.pfn + pinPage)?.load32(atOffset: pinOffset) == 8, "\(version)")
            #expect(try process.read(addr + 4096, count: 3) == [7, 8, 9])
            machine.unpinUserPages(pins)
            #expect(machine.page(pmd.pfn + pinPage)?.load32(atOffset: pinOffset) == 0)
            let child = try process.fork()
            #expect(machine.page(pmd.pfn + 1)?.load32(atOffset: 20) == 1)
            #expect(try child.read(addr + 4096, count: 3) == [7, 8, 9])
            child.exit()
            try process.mm.munmap(addr: raw, length: 4 << 20)
            #expect(head.refcount == 0 || head.refcount == 1)
            #expect(machine.diagnostics.count == 0, "\(version)")
            #expect(machine.selfCheck().passed)
        }
    }
}
