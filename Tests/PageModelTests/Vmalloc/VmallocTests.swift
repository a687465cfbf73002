// vmalloc (mm/vmalloc.c, v6.19): areas with guard pages, the kernel page tables,
// vmalloc_to_page(), vmap()/vunmap(), vfree() with the lazy purge, vmalloc_user(), the
// accounting, and the kernel's warnings for bad frees. Expected values are taken from
// the kernel source named at each test.
import Testing
@testable import PageModel
import PageLayout

@Suite struct VmallocTests {
    static let page: UInt64 = 4096

    func makeSpace(_ design: Design = .mainline) throws -> (Machine, VmallocSpace) {
        let machine = try Machine(ramBytes: 128 << 20, design: design)
        return (machine, try VmallocSpace(machine: machine))
    }

    /// __get_vm_area_node(): size = PAGE_ALIGN(size) + PAGE_SIZE (the guard) unless
    /// VM_NO_GUARD; __vmalloc_area_node(): nr_pages = get_vm_area_size() >> PAGE_SHIFT;
    /// vmap_pages_range() maps each page, vmalloc_to_page() walks init_mm's tables.
    @Test(arguments: [Design.mainline, .memdesc32, .memdesc8])
    func vmallocMapsEveryPageAndLeavesAGuard(_ design: Design) throws {
        let (machine, space) = try makeSpace(design)
        let addr = try #require(space.vmalloc(2 * Self.page + 1, caller: "test_caller"))
        #expect(space.range.contains(addr))
        #expect(addr & (Self.page - 1) == 0)
        let vm = try #require(space.findVMArea(addr + 5))
        #expect(vm.addr == addr)
        #expect(vm.size == 4 * Self.page)
        #expect(vm.usableSize == 3 * Self.page)
        #expect(vm.nrPages == 3)
        #expect(vm.requestedSize == 2 * Self.page + 1)
        #expect(vm.flags == .alloc)   // VM_UNINITIALIZED cleared once mapped
        for i in 0..<3 {
            #expect(space.vmallocToPage(addr + UInt64(i) * Self.page + 7)?.pfn == vm.pages[i].pfn)
        }
        #expect(space.vmallocToPage(addr + 3 * Self.page) == nil)   // the guard page
        // The next area starts after the guard page.
        let next = try #require(space.vmalloc(Self.page))
        #expect(next >= addr + 4 * Self.page)
        #expect(space.nrPages == 4)
        // fs/proc/meminfo.c: VmallocUsed = vmalloc_nr_pages() << (PAGE_SHIFT - 10) kB.
        #expect(space.meminfo.vmallocUsed == 16)
        // arch/x86/include/asm/pgtable_64_types.h (4-level): VMALLOC_END 0xffffe8ffffffffff.
        #expect(space.range.upperBound == 0xffff_e900_0000_0000)
        #expect(machine.diagnostics.all.isEmpty)
    }

    /// The memdesc plan (kernel-facts.md 5.2): vmalloc memory is Misc (type 0), subtype
    /// 3 Vmalloc, bit 11 set when it may be mapped to user space; no refcount.
    @Test func memdesc8MarksVmallocPagesMiscVmalloc() throws {
        let machine = try Machine(ramBytes: 128 << 20, design: .memdesc8)
        let space = try VmallocSpace(machine: machine, tracking: .untracked)
        let plainAddr = try #require(space.vmalloc(Self.page))
        let userAddr = try #require(space.vmallocUser(Self.page))
        let plain = try #require(space.findVMArea(plainAddr))
        let user = try #require(space.findVMArea(userAddr))
        let plainWord = MemdescWord(rawValue: plain.pages[0].memdesc)
        let userWord = MemdescWord(rawValue: user.pages[0].memdesc)
        #expect(plainWord.type == .misc && plainWord.miscSubtype == .vmalloc && !plainWord.isMappable)
        #expect(plainWord.rawValue == 3 << 4)
        #expect(userWord.miscSubtype == .vmalloc && userWord.isMappable)
        #expect(userWord.rawValue == 3 << 4 | 1 << 11)
        // With scamem (the default on memdesc designs) a VM_USERMAP page's word points
        // at its scamem instead: type 14, the model's unassigned value.
        let scamemSpace = try VmallocSpace(machine: machine)
        let scamemAddr = try #require(scamemSpace.vmallocUser(Self.page))
        let scamemPage = try #require(scamemSpace.findVMArea(scamemAddr)).pages[0]
        #expect(scamemPage.memdesc & 0xf == 14)
        #expect(machine.pageScamem(scamemPage) == scamemPage.memdesc & ~0xf)
    }

    /// vfree(): the pages go back at once (__free_page()), the VA range waits on the
    /// lazy list ("unpurged vm_area" in /proc/vmallocinfo) and is reused only after
    /// __purge_vmap_area_lazy().
    @Test(arguments: [Design.mainline, .memdesc8])
    func vfreeFreesPagesAndPurgesTheRangeLazily(_ design: Design) throws {
        let (machine, space) = try makeSpace(design)
        // Page tables of the range are never freed: build them first.
        let warm = try #require(space.vmalloc(8 * Self.page))
        space.vfree(warm)
        space.purgeLazy()
        let before = freePageCount(machine)
        let addr = try #require(space.vmalloc(8 * Self.page))
        #expect(freePageCount(machine) == before - 8)
        space.vfree(addr)
        #expect(freePageCount(machine) == before)
        #expect(space.nrPages == 0)
        #expect(space.lazyPages == 9)   // va_size() >> PAGE_SHIFT: 8 pages and the guard
        #expect(space.vmallocinfo.contains("unpurged vm_area"))
        #expect(space.vmallocToPage(addr) == nil)
        let second = try #require(space.vmalloc(8 * Self.page))
        #expect(second != addr)
        space.vfree(second)
        space.purgeLazy()
        #expect(space.lazyPages == 0)
        #expect(space.vmallocinfo.isEmpty)
        let third = try #require(space.vmalloc(8 * Self.page))
        #expect(third == addr)
    }

    /// lazy_max_pages() = fls(num_online_cpus()) * (32 MiB / PAGE_SIZE): 8192 pages with
    /// one CPU, 16384 with two or three; vmap_lazy_nr above it drains the lazy list.
    @Test func lazyPurgeRunsAboveLazyMaxPages() throws {
        let machine = try Machine(ramBytes: 128 << 20, design: .mainline)
        #expect(try VmallocSpace(machine: machine, onlineCPUs: 2).lazyMaxPages == 16384)
        #expect(try VmallocSpace(machine: machine, onlineCPUs: 3).lazyMaxPages == 16384)
        let space = try VmallocSpace(machine: machine)
        #expect(space.lazyMaxPages == 8192)
        let a = try #require(space.vmalloc(16 << 20))
        let b = try #require(space.vmalloc(16 << 20))
        space.vfree(a)
        #expect(space.lazyPages == 4097)
        #expect(space.purgeCount == 0)
        space.vfree(b)   // 8194 > 8192
        #expect(space.lazyPages == 0)
        #expect(space.purgeCount == 1)
    }

    /// vmalloc_user(): GFP_KERNEL | __GFP_ZERO and VM_USERMAP (VM_ALLOC added by
    /// __vmalloc_node_range()): no stale bytes reach the pages. vm_area_alloc_pages()
    /// asks for 4 pages as one order-2 block first (ilog2(nr_remaining)), so the dirty
    /// pages are an order-2 block freed as one (on its per-cpu list), which it gets back.
    @Test func vmallocUserIsZeroedAndUserMappable() throws {
        let (machine, space) = try makeSpace()
        let block = try #require(machine.allocPages(.kernel, order: 2))
        let dirtyPfns = (0..<4).map { block.pfn + $0 }
        for pfn in dirtyPfns { #expect(machine.frames.write([UInt8](repeating: 0xaa, count: 64), pfn: pfn)) }
        machine.freePages(block, order: 2)
        let addr = try #require(space.vmallocUser(4 * Self.page))
        let vm = try #require(space.findVMArea(addr))
        #expect(vm.flags == [.alloc, .userMap])
        #expect(!Set(vm.pages.map(\.pfn)).isDisjoint(with: dirtyPfns))   // the freed pages came back
        for page in vm.pages { #expect(machine.frames.read(pfn: page.pfn, count: 64) == [UInt8](repeating: 0, count: 64)) }
        #expect(space.vmallocinfo.contains(" vmalloc_user pages=4 vmalloc user N0=4\n"))
    }

    /// vmap(): caller-supplied pages, VM_MAP, no reference taken; vunmap() leaves the
    /// pages to the caller.
    @Test func vmapAndVunmapLeaveThePagesToTheCaller() throws {
        let (machine, space) = try makeSpace()
        let pages = try (0..<2).map { _ in try #require(machine.allocPages(.kernel)) }
        let addr = try #require(space.vmap(pages))
        let vm = try #require(space.findVMArea(addr))
        #expect(vm.flags == .map && vm.nrPages == 0)
        #expect(space.vmallocToPage(addr + Self.page)?.pfn == pages[1].pfn)
        #expect(pages.allSatisfy { $0.refcount == 1 })
        #expect(space.vmallocinfo.contains(" vmap vmap\n"))
        space.vunmap(addr)
        #expect(space.vmallocToPage(addr) == nil)
        #expect(pages.allSatisfy { $0.refcount == 1 })
        #expect(space.nrPages == 0)
        #expect(machine.diagnostics.all.isEmpty)
    }

    /// vfree()/vunmap() of an address that is no area: WARN(1, "Trying to vfree()
    /// nonexistent vm area (%p)"); a zero size: WARN_ON_ONCE(!size); a size beyond RAM:
    /// "vmalloc error: size %lu, exceeds total pages". Never a trap.
    @Test func badFreesAndSizesAreWarnings() throws {
        let (machine, space) = try makeSpace()
        space.vfree(space.range.lowerBound + 0x1000)
        let addr = try #require(space.vmalloc(Self.page))
        space.vfree(addr)
        space.vfree(addr)
        space.vunmap(addr)
        let reasons = machine.diagnostics.of(kind: .warn).map(\.reason)
        #expect(reasons.filter { $0.hasPrefix("Trying to vfree() nonexistent vm area") }.count == 2)
        #expect(reasons.filter { $0.hasPrefix("Trying to vunmap() nonexistent vm area") }.count == 1)
        #expect(space.vmalloc(0) == nil)
        #expect(space.vmalloc(UInt64.max) == nil)
        #expect(space.vmalloc(1 << 40) == nil)
        #expect(machine.diagnostics.of(kind: .warn).contains { $0.reason == "__vmalloc_node_range: WARN_ON_ONCE(!size)" })
        #expect(machine.diagnostics.of(kind: .warn).filter { $0.reason.hasSuffix("exceeds total pages") }.count == 2)
        space.vfree(0)   // vfree(NULL) is a no-op
        #expect(space.nrPages == 0)
    }
}
