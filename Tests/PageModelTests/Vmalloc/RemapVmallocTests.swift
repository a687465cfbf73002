// remap_vmalloc_range() (mm/vmalloc.c, v6.19) into a process, per design: on the
// struct-page designs each vm_insert_page() takes a folio reference and a file rmap
// (mm/memory.c insert_page()), so GUP and pins work and vfree() while mapped or pinned
// is safe; on the memdesc designs a vmalloc page has no folio ("no refcount ... treated
// like a PFNMAP", kernelnewbies Memdescs; seed 004 option 2), so the PTE is special,
// GUP gets -EEXIST, and vfree() while mapped leaves user space a freed page.
import Testing
@testable import PageModel
import PageLayout

@Suite struct RemapVmallocTests {
    static let page: UInt64 = 4096
    static let structPageDesigns = Design.allCases.filter { MemmapKind(design: $0) == .structPage }
    static let memdescDesigns = Design.allCases.filter { MemmapKind(design: $0) != .structPage }

    /// A process with a 4-page VM_SHARED read-write mapping of a driver file, and a
    /// 4-page vmalloc_user() area.
    func setUp(_ design: Design, pages: Int = 4, tracking: VmallocTracking? = nil) throws -> (Machine, Process, VmallocSpace, kaddr: UInt64, uaddr: UInt64) {
        let (machine, process) = try makeProcess(design, ram: 128 << 20)
        let space = try VmallocSpace(machine: machine, tracking: tracking)
        let kaddr = try #require(space.vmallocUser(4 * Self.page, caller: "perf_mmap_alloc_page"))
        let file = VmallocDeviceFile(size: UInt64(pages) * Self.page)
        let uaddr = try process.mm.mmap(length: UInt64(pages) * Self.page, prot: [.read, .write], flags: [.shared], file: file)
        return (machine, process, space, kaddr, uaddr)
    }

    /// remap_vmalloc_range_partial(): vm_insert_page() per page, then VM_DONTEXPAND |
    /// VM_DONTDUMP; vm_insert_page() sets VM_MIXEDMAP; insert_page(): folio_get() +
    /// folio_add_file_rmap_pte(). Bytes written by user space are the kernel's and back.
    @Test(arguments: structPageDesigns)
    func remapTakesAReferenceAndAMappingPerPage(_ design: Design) throws {
        let (machine, process, space, kaddr, uaddr) = try setUp(design)
        try process.remapVmallocRange(space, vmaStart: uaddr, kaddr: kaddr, pgoff: 0)
        let vma = try #require(process.mm.vmas.first { $0.start == uaddr })
        #expect(vma.flags.isSuperset(of: [.mixedMap, .dontExpand, .dontDump]))
        let vm = try #require(space.findVMArea(kaddr))
        for page in vm.pages {
            let folio = try #require(machine.pageFolio(page))
            #expect(folio.refcount == 2)        // vmalloc's own + the PTE's
            #expect(folio.mapcountRaw == 0)     // one mapping (_mapcount starts at -1)
        }
        try process.write([0x5a, 0xa5], at: uaddr + 2 * Self.page + 100)
        #expect(machine.frames.read(pfn: vm.pages[2].pfn, offset: 100, count: 2) == [0x5a, 0xa5])
        #expect(machine.frames.write([7, 8, 9], pfn: vm.pages[3].pfn, offset: 4093))
        #expect(try process.read(uaddr + 3 * Self.page + 4093, count: 3) == [7, 8, 9])
        try process.mm.munmap(addr: uaddr, length: 4 * Self.page)
        #expect(vm.pages.allSatisfy { machine.pageFolio($0)?.refcount == 1 })
        space.vfree(kaddr)
        #expect(vm.pages.allSatisfy { $0.refcount == 0 })
        #expect(machine.diagnostics.all.isEmpty)
    }

    /// pin_user_pages() on the VM_MIXEDMAP mapping (check_vma_flags() rejects only
    /// VM_IO | VM_PFNMAP), then vfree() and munmap() while pinned: the pin's reference
    /// keeps every page until unpin_user_pages(), as v6.19's per-page refcounts do.
    @Test(arguments: structPageDesigns)
    func vfreeWhilePinnedKeepsThePagesUntilUnpin(_ design: Design) throws {
        let (machine, process, space, kaddr, uaddr) = try setUp(design)
        try process.remapVmallocRange(space, vmaStart: uaddr, kaddr: kaddr, pgoff: 0)
        let vm = try #require(space.findVMArea(kaddr))
        let pinned = try process.pinUserPages(start: uaddr, nrPages: 4, flags: [.write])
        #expect(pinned.map { (machine.proxyTarget($0) ?? $0).pfn } == vm.pages.map(\.pfn))
        let fast = try process.getUserPagesFast(start: uaddr, nrPages: 4)
        #expect(fast.map(\.pfn) == vm.pages.map(\.pfn))
        fast.forEach { machine.putPage($0) }
        if design == .mainline {
            // try_grab_folio(FOLL_PIN) on a small folio: GUP_PIN_COUNTING_BIAS (1024).
            let expected: Int32 = 2 + 1024
            #expect(machine.pageFolio(vm.pages[0])?.refcount == expected)
        }
        space.vfree(kaddr)
        try process.mm.munmap(addr: uaddr, length: 4 * Self.page)
        #expect(vm.pages.allSatisfy { machine.pageFolio($0).map { machine.folioMaybeDMAPinned($0) } == true })
        // The device still reaches the bytes through its pin.
        #expect(machine.frames.write([1], pfn: vm.pages[0].pfn))
        machine.unpinUserPages(pinned)
        #expect(vm.pages.allSatisfy { $0.refcount == 0 })
        #expect(space.useAfterFree == 0)
        #expect(machine.diagnostics.all.isEmpty)
    }

    /// Seed 004 option 2 on the memdesc designs: the page has no folio, so the PTE is a
    /// special one with no reference; GUP with a pages array gets -EEXIST
    /// (follow_pfn_pte(), __get_user_pages()); vfree() while it is still mapped frees
    /// pages user space can still reach: the model records each as use-after-free.
    @Test(arguments: memdescDesigns)
    func memdescVmallocPagesAreUntrackedAndVfreeWhileMappedIsUseAfterFree(_ design: Design) throws {
        let (machine, process, space, kaddr, uaddr) = try setUp(design, tracking: .untracked)
        try process.remapVmallocRange(space, vmaStart: uaddr, kaddr: kaddr, pgoff: 0)
        let vm = try #require(space.findVMArea(kaddr))
        #expect(vm.scamem == nil)
        #expect(machine.pageFolio(vm.pages[0]) == nil)
        #expect(process.tables.entry(at: uaddr).pte.isSpecial)
        #expect(throws: Errno.EEXIST) { try process.pinUserPages(start: uaddr, nrPages: 1, flags: [.write]) }
        try process.write([0x42], at: uaddr + 100)
        #expect(machine.frames.read(pfn: vm.pages[0].pfn, offset: 100, count: 1) == [0x42])
        let before = freePageCount(machine)
        space.vfree(kaddr)
        #expect(freePageCount(machine) == before + 4)   // freed at once: nothing holds them
        #expect(space.useAfterFree == 4)
        #expect(machine.diagnostics.of(kind: .bug).filter { $0.reason.hasPrefix("use-after-free") }.count == 4)
        // The freed page is still reachable from user space (past the first 16 bytes,
        // where memdesc8 links a free block into its free list).
        #expect(try process.read(uaddr + 100, count: 1) == [0x42])
        try process.mm.munmap(addr: uaddr, length: 4 * Self.page)
    }

    /// The kernel's refusals (mm/vmalloc.c remap_vmalloc_range_partial()): -EINVAL for
    /// an area without VM_USERMAP, a range past get_vm_area_size(), an unaligned kernel
    /// address, a pgoff whose shift overflows, an address that is no vmalloc area.
    @Test func badRemapsGetEINVAL() throws {
        let (_, process, space, kaddr, uaddr) = try setUp(.mainline, pages: 5)
        let plain = try #require(space.vmalloc(4 * Self.page))
        #expect(throws: Errno.EINVAL) { try process.remapVmallocRange(space, vmaStart: uaddr, kaddr: plain, pgoff: 0) }
        #expect(throws: Errno.EINVAL) { try process.remapVmallocRange(space, vmaStart: uaddr, kaddr: kaddr, pgoff: 0) }
        #expect(throws: Errno.EINVAL) { try process.remapVmallocRangePartial(space, uaddr: uaddr, kaddr: kaddr, pgoff: 1, size: 4 * Self.page) }
        #expect(throws: Errno.EINVAL) { try process.remapVmallocRangePartial(space, uaddr: uaddr, kaddr: kaddr + 1, pgoff: 0, size: Self.page) }
        #expect(throws: Errno.EINVAL) { try process.remapVmallocRangePartial(space, uaddr: uaddr + 1, kaddr: kaddr, pgoff: 0, size: Self.page) }
        #expect(throws: Errno.EINVAL) { try process.remapVmallocRangePartial(space, uaddr: uaddr, kaddr: kaddr, pgoff: 1 << 60, size: Self.page) }
        #expect(throws: Errno.EINVAL) { try process.remapVmallocRangePartial(space, uaddr: uaddr, kaddr: kaddr, pgoff: 0, size: UInt64.max) }
        #expect(throws: Errno.EINVAL) { try process.remapVmallocRangePartial(space, uaddr: uaddr, kaddr: space.range.upperBound - Self.page, pgoff: 0, size: Self.page) }
        // A partial remap at an offset inside the area works: pages 1...3 at uaddr.
        try process.remapVmallocRangePartial(space, uaddr: uaddr, kaddr: kaddr, pgoff: 1, size: 3 * Self.page)
        #expect(process.tables.entry(at: uaddr).pte.pfn == space.vmallocToPage(kaddr + Self.page)?.pfn)
        // A populated PTE: insert_page() -EBUSY.
        #expect(throws: Errno.EBUSY) { try process.remapVmallocRangePartial(space, uaddr: uaddr, kaddr: kaddr, pgoff: 0, size: Self.page) }
    }

    /// Seed 004 option 4 on the memdesc designs: one scamem per VM_USERMAP area, every
    /// page's memdesc pointing at it; vm_struct holds one reference, each user PTE one
    /// (as vm_insert_page() takes one per page), each GUP reference one. vfree() and
    /// munmap() while pinned leave the pages allocated; the last unpin frees them.
    @Test(arguments: memdescDesigns)
    func scamemKeepsVmallocPagesUntilTheLastReference(_ design: Design) throws {
        let (machine, process, space, kaddr, uaddr) = try setUp(design)
        #expect(space.tracking == .scamem)
        let vm = try #require(space.findVMArea(kaddr))
        let scamem = try #require(vm.scamem)
        #expect(vm.pages.allSatisfy { machine.pageScamem($0) == scamem })
        // struct scamem { unsigned int nr; refcount_t refcount; struct page *pages[4]; }:
        // 4 + 4 + 4 * 8 = 40 bytes, in a 16-byte aligned slab object: 48.
        #expect(machine.heap.usage()[.scamem]?.bytes == 48)
        #expect(machine.scamemRefcount(scamem) == 1)                  // vm_struct's
        try process.remapVmallocRange(space, vmaStart: uaddr, kaddr: kaddr, pgoff: 0)
        #expect(machine.scamemRefcount(scamem) == 1 + 4)              // + one per PTE
        #expect(!process.tables.entry(at: uaddr).pte.isSpecial)
        let pinned = try process.pinUserPages(start: uaddr, nrPages: 4, flags: [.write])
        #expect(pinned.map(\.pfn) == vm.pages.map(\.pfn))
        #expect(machine.scamemRefcount(scamem) == 1 + 4 + 4)          // + one per pin
        let got = try process.getUserPagesFast(start: uaddr, nrPages: 4)   // GUP-fast, from the page's word
        #expect(machine.scamemRefcount(scamem) == 1 + 4 + 4 + 4)
        got.forEach { machine.putPage($0) }
        // fork() copies a VM_MIXEDMAP VMA's PTEs (vma_needs_copy()); each copy holds one
        // reference, as copy_present_pte()'s folio_get() does, and the child's exit drops them.
        let child = try process.fork()
        #expect(machine.scamemRefcount(scamem) == 1 + 4 + 4 + 4)
        #expect(try child.read(uaddr + 2 * Self.page, count: 1) == [0])
        child.exit()
        #expect(machine.scamemRefcount(scamem) == 1 + 4 + 4)
        try process.write([0x77], at: uaddr + 3 * Self.page + 9)
        #expect(machine.frames.read(pfn: vm.pages[3].pfn, offset: 9, count: 1) == [0x77])
        let beforeVfree = freePageCount(machine)
        space.vfree(kaddr)
        #expect(machine.scamemRefcount(scamem) == 4 + 4)
        #expect(freePageCount(machine) == beforeVfree)                // the PTEs and pins keep them
        try process.mm.munmap(addr: uaddr, length: 4 * Self.page)
        #expect(machine.scamemRefcount(scamem) == 4)
        let beforeUnpin = freePageCount(machine)
        machine.unpinUserPages(pinned)
        #expect(freePageCount(machine) == beforeUnpin + 4)            // the last put frees them
        #expect((machine.heap.usage()[.scamem]?.count ?? 0) == 0)
        #expect(space.useAfterFree == 0)
        #expect(machine.diagnostics.all.isEmpty)
    }

    /// Nothing leaks: a driver's cycle (vmalloc_user, remap into a process, pin, user
    /// writes, vfree while mapped and pinned, munmap, unpin, purge) run twice on every
    /// design with its default tracking ends with the same free pages both times, and
    /// no diagnostic.
    @Test(arguments: Design.allCases)
    func aRemapCycleLeavesNoPageBehind(_ design: Design) throws {
        let (machine, process) = try makeProcess(design, ram: 128 << 20)
        let space = try VmallocSpace(machine: machine)
        func cycle() throws {
            let kaddr = try #require(space.vmallocUser(16 * Self.page))
            let uaddr = try process.mm.mmap(length: 16 * Self.page, prot: [.read, .write], flags: [.shared], file: VmallocDeviceFile(size: 16 * Self.page))
            try process.remapVmallocRange(space, vmaStart: uaddr, kaddr: kaddr, pgoff: 0)
            let pinned = try process.pinUserPages(start: uaddr, nrPages: 16, flags: [.write])
            try process.write([1, 2, 3], at: uaddr + 5 * Self.page)
            space.vfree(kaddr)
            try process.mm.munmap(addr: uaddr, length: 16 * Self.page)
            machine.unpinUserPages(pinned, makeDirty: true)
            space.purgeLazy()
        }
        try cycle()
        let after1 = freePageCount(machine)
        try cycle()
        #expect(freePageCount(machine) == after1)
        #expect(space.nrPages == 0 && space.useAfterFree == 0)
        #expect((machine.heap.usage()[.scamem]?.count ?? 0) == 0)
        #expect(machine.diagnostics.all.isEmpty)
    }

    /// Seed 004 option 3, the refcount in vm_struct: the same references as scamem, but
    /// the vm_struct is what they keep, so after vfree() the area itself (its
    /// /proc/vmallocinfo line, kernel mapping, VmallocUsed) lives on until the last
    /// reference; a second vfree() is the kernel's "nonexistent vm area" WARN.
    @Test(arguments: memdescDesigns)
    func vmStructRefcountKeepsTheWholeAreaUntilTheLastReference(_ design: Design) throws {
        let (machine, process, space, kaddr, uaddr) = try setUp(design, tracking: .vmStruct)
        let vm = try #require(space.findVMArea(kaddr))
        let refcount = try #require(vm.scamem)
        try process.remapVmallocRange(space, vmaStart: uaddr, kaddr: kaddr, pgoff: 0)
        let pinned = try process.pinUserPages(start: uaddr, nrPages: 4, flags: [.write])
        #expect(machine.scamemRefcount(refcount) == 1 + 4 + 4)
        space.vfree(kaddr)
        #expect(space.findVMArea(kaddr) === vm)
        #expect(space.vmallocToPage(kaddr + Self.page)?.pfn == vm.pages[1].pfn)
        #expect(space.nrPages == 4)
        #expect(space.vmallocinfo.contains(" pages=4 vmalloc user"))
        space.vfree(kaddr)
        #expect(machine.diagnostics.of(kind: .warn).map(\.reason).contains { $0.hasPrefix("Trying to vfree() nonexistent vm area") })
        try process.mm.munmap(addr: uaddr, length: 4 * Self.page)
        #expect(machine.scamemRefcount(refcount) == 4)
        let before = freePageCount(machine)
        machine.unpinUserPages(pinned)
        #expect(space.findVMArea(kaddr) == nil)
        #expect(space.nrPages == 0)
        #expect(space.lazyPages == 5)                     // 4 pages + the guard, now lazy
        #expect(freePageCount(machine) == before + 4)
        #expect(space.useAfterFree == 0)
    }
}
