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

    /// 5.15 and 6.1 are refused with the reason; so is a design other than mainline on an
    /// older version.
    @Test func olderVersionsAreRefused() throws {
        for version in [KernelVersion.v5_15, .v6_1] {
            #expect(ModelLayout.refusal(version)?.contains("_large_mapcount") == true)
            #expect(throws: MachineError.self) { try machine(version) }
        }
        #expect(ModelLayout.refusal(.v6_6) == nil)
        var kernel = try KernelConfig.preset(Arch.x86_64.defaultPresetName)
        kernel.kernel = .v6_12
        #expect(throws: MachineError.self) { try Machine(config: MachineConfig(ramBytes: 256 << 20, design: .memdesc32, kernel: kernel)) }
    }
}
