// Higher-order vmalloc pages (mm/vmalloc.c, v6.19): vm_area_alloc_pages() takes large
// orders first and split_page()s them; VM_ALLOW_HUGE_VMAP with a size of at least
// PMD_SIZE allocates order-9 pages mapped by PMD leaves (page_order 9), falling back to
// order 0; vmalloc_to_page() under a leaf; and the bad frees of remove_vm_area()/vfree().
import Testing
@testable import PageModel
import PageLayout

@Suite struct VmallocHugeTests {
    static let page: UInt64 = 4096
    static let pmd: UInt64 = 2 << 20

    func makeSpace(_ design: Design = .mainline) throws -> (Machine, VmallocSpace) { try VmallocTests().makeSpace(design) }

    /// __vmalloc_node_range(): shift = PMD_SHIFT, align = PMD_SIZE; __get_vm_area_node():
    /// size = ALIGN(size, PMD_SIZE) + the guard; __vmalloc_area_node(): page_order 9,
    /// nr_pages in small pages; __vmap_pages_range_noflush(): one PMD leaf per 2 MiB;
    /// vmalloc_to_page(): pmd_page(*pmd) + ((addr & ~PMD_MASK) >> PAGE_SHIFT); vfree():
    /// "High-order allocs for huge vmallocs are split, so can be freed as an array of
    /// order-0 allocations".
    @Test(arguments: [Design.mainline, .memdesc32, .memdesc8])
    func hugeVmallocMapsOrder9PagesWithPMDLeaves(_ design: Design) throws {
        let (machine, space) = try makeSpace(design)
        // The kernel tables of the range are never freed: build the PUD and PMD tables
        // first (the lazy area keeps the first 2 MiB, so its PTE table stays apart).
        space.vfree(try #require(space.vmalloc(Self.page)))
        let before = freePageCount(machine)
        let addr = try #require(space.vmallocHuge(3 << 20))
        let vm = try #require(space.findVMArea(addr))
        #expect(addr % Self.pmd == 0)
        #expect(vm.pageOrder == 9)
        #expect(vm.size == 4 << 20 + Self.page)
        #expect(vm.nrPages == 1024)
        #expect(vm.flags == [.alloc, .allowHugeVmap])
        #expect(space.tables.entry(at: addr).huge && space.tables.entry(at: addr + Self.pmd).huge)
        for chunk in 0..<2 {
            let head = vm.pages[chunk * 512].pfn
            #expect(head % 512 == 0)
            #expect((0..<512).allSatisfy { vm.pages[chunk * 512 + $0].pfn == head + $0 })
        }
        #expect(space.vmallocToPage(addr + Self.pmd + 5 * Self.page + 7)?.pfn == vm.pages[512 + 5].pfn)
        if design == .mainline { #expect(vm.pages.allSatisfy { $0.refcount == 1 }) }   // split_page()
        #expect(space.meminfo.vmallocUsed == 4096)
        #expect(freePageCount(machine) == before - 1024)
        space.vfree(addr)
        #expect(freePageCount(machine) == before)
        #expect(space.vmallocToPage(addr) == nil)
        #expect(machine.diagnostics.all.isEmpty)
    }

    /// Below PMD_SIZE, x86's arch_vmap_pte_supported_shift() is PAGE_SHIFT: page_order
    /// 0; and when no order-9 block can be had, the `fail:` path retries at PAGE_SHIFT.
    @Test func hugeVmallocFallsBackToOrder0() throws {
        let (machine, space) = try makeSpace()
        let small = try #require(space.vmallocHuge(1 << 20))
        #expect(try #require(space.findVMArea(small)).pageOrder == 0)
        #expect(!space.tables.entry(at: small).huge)
        machine.injectAllocationFailures(FailInjection(times: -1, minOrder: 9))
        let fallback = try #require(space.vmallocHuge(2 << 20))
        let vm = try #require(space.findVMArea(fallback))
        #expect(vm.pageOrder == 0)
        #expect(vm.size == 2 << 20 + Self.page)
        #expect(!space.tables.entry(at: fallback).huge)
        #expect(space.vmallocToPage(fallback + 3 * Self.page)?.pfn == vm.pages[3].pfn)
        machine.injectAllocationFailures(FailInjection())
        #expect(machine.diagnostics.of(kind: .warn).isEmpty)   // huge attempts warn with __GFP_NOWARN only
    }

    /// vm_area_alloc_pages(): even an order-0 vmalloc first asks for blocks of order
    /// ilog2(nr_remaining) (8 pages: one order-3 block), split_page()d: the pages are
    /// physically contiguous and the block aligned to its order.
    @Test func smallVmallocTakesLargeOrdersFirst() throws {
        let (_, space) = try makeSpace()
        let addr = try #require(space.vmalloc(8 * Self.page))
        let pages = try #require(space.findVMArea(addr)).pages
        #expect(pages[0].pfn % 8 == 0)
        #expect((0..<8).allSatisfy { pages[$0].pfn == pages[0].pfn + $0 })
    }

    /// A huge VM_USERMAP area mapped to user space: remap_vmalloc_range_partial() walks
    /// it with vmalloc_to_page() per PAGE_SIZE and vm_insert_page()s each small page,
    /// each with its own reference (v6.19 mainline).
    @Test func remapOfAHugeAreaInsertsEverySmallPage() throws {
        let (machine, process) = try makeProcess(.mainline, ram: 128 << 20)
        let space = try VmallocSpace(machine: machine)
        let kaddr = try #require(space.vmallocNodeRange(Self.pmd, gfp: [.kernel, .zero], nid: nil, flags: [.userMap, .allowHugeVmap], caller: "huge_user"))
        let vm = try #require(space.findVMArea(kaddr))
        #expect(vm.pageOrder == 9)
        let uaddr = try process.mm.mmap(length: Self.pmd, prot: [.read, .write], flags: [.shared], file: VmallocDeviceFile(size: Self.pmd))
        try process.remapVmallocRange(space, vmaStart: uaddr, kaddr: kaddr, pgoff: 0)
        #expect(process.tables.entry(at: uaddr + 300 * Self.page).pte.pfn == vm.pages[300].pfn)
        #expect(vm.pages.allSatisfy { machine.pageFolio($0)?.refcount == 2 })
        try process.mm.munmap(addr: uaddr, length: Self.pmd)
        let before = freePageCount(machine)
        space.vfree(kaddr)
        #expect(freePageCount(machine) == before + 512)
        #expect(machine.diagnostics.all.isEmpty)
    }

    /// remove_vm_area(): WARN(!PAGE_ALIGNED(addr), "Trying to vfree() bad address"), the
    /// area untouched; vfree() of a vmap()ed area: v6.19 finds the area and frees
    /// vm->nr_pages pages, 0 without VM_MAP_PUT_PAGES: no warning, the pages stay the
    /// caller's.
    @Test func badAddressAndVmapAreasOnVfree() throws {
        let (machine, space) = try makeSpace()
        let addr = try #require(space.vmalloc(2 * Self.page))
        space.vfree(addr + 8)
        #expect(machine.diagnostics.of(kind: .warn).map(\.reason) == ["Trying to vfree() bad address (0x\(String(addr + 8, radix: 16)))"])
        #expect(space.findVMArea(addr) != nil)
        let pages = try (0..<2).map { _ in try #require(machine.allocPages(.kernel)) }
        let mapped = try #require(space.vmap(pages))
        space.vfree(mapped)
        #expect(space.findVMArea(mapped) == nil)
        #expect(pages.allSatisfy { $0.refcount == 1 })
        #expect(machine.diagnostics.all.count == 1)
        pages.forEach { machine.freePages($0, order: 0) }
        space.vfree(addr)
        #expect(space.nrPages == 0)
    }

    /// Double vfree() and vfree() of an address vmalloc never returned under options 1
    /// and 4: the kernel's WARN, nothing freed twice, nothing left behind.
    @Test(arguments: [VmallocTracking.vmallocMemdesc, .scamem, .untracked])
    func badFreesUnderEachMemdescOption(_ tracking: VmallocTracking) throws {
        let machine = try Machine(ramBytes: 128 << 20, design: .memdesc8)
        let space = try VmallocSpace(machine: machine, tracking: tracking)
        let warm = try #require(space.vmallocUser(4 * Self.page))
        space.vfree(warm)
        let before = freePageCount(machine)
        let addr = try #require(space.vmallocUser(4 * Self.page))
        space.vfree(addr)
        space.vfree(addr)
        space.vfree(space.range.lowerBound + 64 * Self.page)
        #expect(machine.diagnostics.of(kind: .warn).filter { $0.reason.hasPrefix("Trying to vfree() nonexistent vm area") }.count == 2)
        #expect(freePageCount(machine) == before)
        #expect(machine.diagnostics.of(kind: .bug).isEmpty)
        #expect(machine.heap.usage().filter { $0.key == .scamem || $0.key == .vmallocMemdesc }.allSatisfy { $0.value.count == 0 })
    }
}
