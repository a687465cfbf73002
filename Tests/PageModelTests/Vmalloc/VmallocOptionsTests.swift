// Seed 004 (M. Wilcox, linux-mm, 6 Dec 2024; kernel-facts.md 5.5): option 1, a per-page
// vmalloc memdesc with its own refcount and mapcount; and the three placements of the
// page→scamem link and of node/zone/section the seed weighs for the 8-byte memdesc.
// Expected values are derived from the seed's structures and x86-64's zone limits
// (ZONE_DMA below 16 MiB, ZONE_DMA32 below 4 GiB), not read back from the model.
import Testing
@testable import PageModel
import PageLayout
import Synchronization

@Suite struct VmallocOptionsTests {
    static let page: UInt64 = 4096
    static let memdescDesigns = Design.allCases.filter { MemmapKind(design: $0) != .structPage }

    /// A process with a 4-page shared mapping of a driver file and a 4-page
    /// vmalloc_user() area in a space of the given tracking and placement.
    func setUp(_ design: Design, tracking: VmallocTracking, placement: ScamemPlacement = .memdescPointer) throws -> (Machine, Process, VmallocSpace, kaddr: UInt64, uaddr: UInt64) {
        let (machine, process) = try makeProcess(design, ram: 128 << 20)
        let space = try VmallocSpace(machine: machine, tracking: tracking, placement: placement)
        let kaddr = try #require(space.vmallocUser(4 * Self.page, caller: "io_uring_mmap"))
        let uaddr = try process.mm.mmap(length: 4 * Self.page, prot: [.read, .write], flags: [.shared], file: VmallocDeviceFile(size: 4 * Self.page))
        return (machine, process, space, kaddr, uaddr)
    }

    /// Free pages plus page-table pages (NR_PAGETABLE): munmap() frees the user tables
    /// it emptied, which this count leaves out of the comparison.
    static func freeOrTables(_ machine: Machine) -> Int { freePageCount(machine) + machine.pageTablePages.load(ordering: .relaxed) }

    /// What the lockless walk alone (gup_fast(), no VMA, no fallback) takes of 4 pages
    /// from `start` with FOLL_GET; the references are dropped again.
    static func fastOnly(_ machine: Machine, _ process: Process, _ start: UInt64) -> Int {
        let buffer = UnsafeMutablePointer<Page>.allocate(capacity: 4)
        defer { buffer.deallocate() }
        let got = process.tables.gupFast(start: start, end: start + 4 * page, flags: [.get], pages: buffer)
        for i in 0..<max(0, got) { machine.putPage(buffer[i]) }
        return got
    }

    /// x86-64: ZONE_DMA below 16 MiB (pfn 4096), ZONE_DMA32 below 4 GiB.
    static func expectedZone(_ pfn: Int) -> Zone { pfn < 4096 ? .dma : .dma32 }

    /// Option 1: each page's word points (type 15, the model's) at its own 16-byte
    /// descriptor {refcount, mapcount, flags}: vmalloc holds one reference, each PTE a
    /// reference and a mapcount, each GUP reference (slow or fast) one; vfree() while
    /// mapped and pinned leaves the pages until the last put.
    @Test(arguments: memdescDesigns)
    func option1PerPageMemdescCountsReferencesAndMappings(_ design: Design) throws {
        let (machine, process, space, kaddr, uaddr) = try setUp(design, tracking: .vmallocMemdesc)
        #expect(VmallocTracking.vmallocMemdesc.option == 1)
        let vm = try #require(space.findVMArea(kaddr))
        #expect(vm.scamem == nil)
        #expect(vm.pages.allSatisfy { $0.memdesc & 0xf == 15 })
        #expect(machine.heap.usage()[.vmallocMemdesc]?.bytes == 4 * 16)
        #expect(vm.pages.allSatisfy { machine.vmallocMemdescRefcount($0) == 1 && machine.vmallocMemdescMapcount($0) == -1 })
        // sizeof(struct page) (8 or 32) + a 16-byte descriptor per page.
        #expect(space.bytesPerPage(vm) == Double(machine.layout.pageSize + 16))
        try process.remapVmallocRange(space, vmaStart: uaddr, kaddr: kaddr, pgoff: 0)
        #expect(vm.pages.allSatisfy { machine.vmallocMemdescRefcount($0) == 2 && machine.vmallocMemdescMapcount($0) == 0 })
        let pinned = try process.pinUserPages(start: uaddr, nrPages: 4, flags: [.write])
        #expect(pinned.map(\.pfn) == vm.pages.map(\.pfn))
        #expect(Self.fastOnly(machine, process, uaddr) == 4)
        let fast = try process.getUserPagesFast(start: uaddr, nrPages: 4)
        #expect(vm.pages.allSatisfy { machine.vmallocMemdescRefcount($0) == 4 })
        fast.forEach { machine.putPage($0) }
        try process.write([0x31], at: uaddr + Self.page + 5)
        #expect(machine.frames.read(pfn: vm.pages[1].pfn, offset: 5, count: 1) == [0x31])
        let before = Self.freeOrTables(machine)
        space.vfree(kaddr)
        try process.mm.munmap(addr: uaddr, length: 4 * Self.page)
        #expect(Self.freeOrTables(machine) == before)                  // the pins keep them
        #expect(vm.pages.allSatisfy { machine.vmallocMemdescRefcount($0) == 1 && machine.vmallocMemdescMapcount($0) == -1 })
        machine.unpinUserPages(pinned)
        #expect(Self.freeOrTables(machine) == before + 4)
        #expect((machine.heap.usage()[.vmallocMemdesc]?.count ?? 0) == 0)
        #expect(space.useAfterFree == 0)
        #expect(machine.diagnostics.all.isEmpty)
    }

    /// fork() copies a VM_MIXEDMAP VMA's PTEs (vma_needs_copy()) and copy_present_pte()
    /// takes a reference per PTE: with option 1 a reference and a mapcount per page;
    /// in a VMA placement the child's VMA (vm_area_dup() copies vm_private_data) finds
    /// the scamem for the copy and for the child's exit.
    @Test func forkCopiesTheTrackingOfEachOption() throws {
        let (machine, process, space, kaddr, uaddr) = try setUp(.memdesc8, tracking: .vmallocMemdesc)
        try process.remapVmallocRange(space, vmaStart: uaddr, kaddr: kaddr, pgoff: 0)
        let pages = try #require(space.findVMArea(kaddr)).pages
        let child = try process.fork()
        #expect(pages.allSatisfy { machine.vmallocMemdescRefcount($0) == 3 && machine.vmallocMemdescMapcount($0) == 1 })
        child.exit()
        #expect(pages.allSatisfy { machine.vmallocMemdescRefcount($0) == 2 && machine.vmallocMemdescMapcount($0) == 0 })

        let (placed, parent, vmaSpace, kaddr2, uaddr2) = try setUp(.memdesc8, tracking: .scamem, placement: .vmaPrivate)
        try parent.remapVmallocRange(vmaSpace, vmaStart: uaddr2, kaddr: kaddr2, pgoff: 0)
        let scamem = try #require(vmaSpace.findVMArea(kaddr2)?.scamem)
        let child2 = try parent.fork()
        #expect(child2.mm.vmas.first { $0.start == uaddr2 }?.privateData == scamem)
        #expect(placed.scamemRefcount(scamem) == 1 + 4 + 4)
        child2.exit()
        #expect(placed.scamemRefcount(scamem) == 1 + 4)
        #expect(vmaSpace.unreachableWithoutVMA == 0)
        #expect(machine.diagnostics.all.isEmpty && placed.diagnostics.all.isEmpty)
    }

    /// Option 1 keeps node and zone in the descriptor: page_to_nid() and page_zone()
    /// read it.
    @Test func option1NodeAndZoneComeFromTheDescriptor() throws {
        let (_, _, space, kaddr, _) = try setUp(.memdesc8, tracking: .vmallocMemdesc)
        for page in try #require(space.findVMArea(kaddr)).pages {
            #expect(space.pageToNid(page) == 0)
            #expect(space.pageZone(page)?.type == Self.expectedZone(page.pfn))
        }
    }

    /// Placement memdesc-pointer (the default): the word is scamem | 14; node and zone
    /// by pfn; the scamem is found from the pfn alone; GUP-fast takes its reference
    /// without the VMA. struct scamem of 4 pages: 4 + 4 + 4 × 8 = 40 → 48 bytes.
    @Test func memdescPointerPlacementReachesTheScamemFromThePage() throws {
        let (machine, process, space, kaddr, uaddr) = try setUp(.memdesc8, tracking: .scamem)
        let vm = try #require(space.findVMArea(kaddr))
        let scamem = try #require(vm.scamem)
        #expect(vm.pages.allSatisfy { $0.memdesc == scamem | 14 })
        #expect(try space.scamem(ofPfn: vm.pages[2].pfn) == scamem)
        #expect(space.bytesPerPage(vm) == 8 + 48.0 / 4)
        for page in vm.pages {
            #expect(space.pageToNid(page) == 0)
            #expect(space.pageZone(page)?.type == Self.expectedZone(page.pfn))
        }
        try process.remapVmallocRange(space, vmaStart: uaddr, kaddr: kaddr, pgoff: 0)
        #expect(process.mm.vmas.first { $0.start == uaddr }?.privateData == 0)
        #expect(Self.fastOnly(machine, process, uaddr) == 4)
        let fast = try process.getUserPagesFast(start: uaddr, nrPages: 4)
        #expect(machine.scamemRefcount(scamem) == 1 + 4 + 4)
        fast.forEach { machine.putPage($0) }
        #expect(machine.scamemRefcount(scamem) == 1 + 4)
        #expect(space.unreachableWithoutVMA == 0)
        #expect(machine.diagnostics.all.isEmpty)
    }

    /// Placements vma-private and memdesc-node-zone: the word keeps Misc (type 0),
    /// subtype Vmalloc (3) at bit 4, the mappable bit 11, and for memdesc-node-zone the
    /// zone at bit 18 and the node at bit 21; the scamem is in vm_private_data. GUP (the
    /// slow path; GUP-fast has no VMA) and zap find it there; unpin_user_page() and
    /// put_page(), which have only the page, cannot: recorded, and those references
    /// stay taken, so the scamem and its pages outlive everything else.
    @Test(arguments: [ScamemPlacement.vmaPrivate, .memdescNodeZone])
    func vmaPlacementsNeedTheVMA(_ placement: ScamemPlacement) throws {
        let (machine, process, space, kaddr, uaddr) = try setUp(.memdesc8, tracking: .scamem, placement: placement)
        let vm = try #require(space.findVMArea(kaddr))
        let scamem = try #require(vm.scamem)
        for page in vm.pages {
            var word: UInt64 = 3 << 4 | 1 << 11
            if placement == .memdescNodeZone {
                let zone: UInt64 = Self.expectedZone(page.pfn) == .dma ? 0 : 1   // ZONE_DMA 0, ZONE_DMA32 1
                word |= (0 << 3 | zone) << 18
            }
            #expect(page.memdesc == word)
            #expect(space.pageToNid(page) == 0)
            #expect(space.pageZone(page)?.type == Self.expectedZone(page.pfn))
        }
        #expect(throws: ScamemLookupError.needsVMA(pfn: vm.pages[0].pfn, placement: placement)) { try space.scamem(ofPfn: vm.pages[0].pfn) }
        try process.remapVmallocRange(space, vmaStart: uaddr, kaddr: kaddr, pgoff: 0)
        #expect(process.mm.vmas.first { $0.start == uaddr }?.privateData == scamem)
        #expect(machine.scamemRefcount(scamem) == 1 + 4)
        #expect(Self.fastOnly(machine, process, uaddr) == 0)           // no VMA: nothing
        let pinned = try process.pinUserPages(start: uaddr, nrPages: 4, flags: [.write])
        let got = try process.getUserPagesFast(start: uaddr, nrPages: 4)   // slow path, with the VMA
        #expect(machine.scamemRefcount(scamem) == 1 + 4 + 4 + 4)
        try process.write([0x66], at: uaddr + 7)
        #expect(machine.frames.read(pfn: vm.pages[0].pfn, offset: 7, count: 1) == [0x66])
        got.forEach { machine.putPage($0) }
        #expect(space.unreachableWithoutVMA == 4)
        #expect(machine.scamemRefcount(scamem) == 1 + 4 + 4 + 4)
        try process.mm.munmap(addr: uaddr, length: 4 * Self.page)       // zap has the VMA
        #expect(machine.scamemRefcount(scamem) == 1 + 4 + 4)
        space.vfree(kaddr)
        machine.unpinUserPages(pinned)
        #expect(space.unreachableWithoutVMA == 8)
        #expect(machine.scamemRefcount(scamem) == 4 + 4)                // leaked: never freed
        #expect(machine.heap.usage()[.scamem]?.count == 1)
    }

    /// The placements that keep the link in the VMA are modelled for the 8-byte word
    /// only: elsewhere the space refuses them (EINVAL).
    @Test(arguments: [Design.mainline, .memdesc32])
    func vmaPlacementsNeedMemdesc8(_ design: Design) throws {
        let machine = try Machine(ramBytes: 128 << 20, design: design)
        #expect(throws: Errno.EINVAL) { try VmallocSpace(machine: machine, placement: .vmaPrivate) }
        #expect(throws: Errno.EINVAL) { try VmallocSpace(machine: machine, placement: .memdescNodeZone) }
        #expect(ScamemPlacement.allCases.map(\.rawValue) == ["memdesc-pointer", "vma-private", "memdesc-node-zone"])
    }

    /// Option 3 (refcount in vm_struct) in a VMA placement: the same references through
    /// vm_private_data; vfree() while mapped keeps the area until munmap().
    @Test func vmStructTrackingWorksThroughTheVMA() throws {
        let (machine, process, space, kaddr, uaddr) = try setUp(.memdesc8, tracking: .vmStruct, placement: .vmaPrivate)
        try process.remapVmallocRange(space, vmaStart: uaddr, kaddr: kaddr, pgoff: 0)
        space.vfree(kaddr)
        #expect(space.findVMArea(kaddr) != nil)
        let before = Self.freeOrTables(machine)
        try process.mm.munmap(addr: uaddr, length: 4 * Self.page)
        #expect(space.findVMArea(kaddr) == nil)
        #expect(Self.freeOrTables(machine) == before + 4)
        #expect(machine.diagnostics.all.isEmpty)
    }

    /// Nothing leaks with option 1 and with the memdesc-pointer scamem: a remap, pin,
    /// vfree, munmap, unpin cycle twice leaves the same free pages and no descriptor.
    @Test(arguments: [VmallocTracking.vmallocMemdesc, .scamem, .vmStruct])
    func aCycleLeavesNothingBehind(_ tracking: VmallocTracking) throws {
        let (machine, process) = try makeProcess(.memdesc8, ram: 128 << 20)
        let space = try VmallocSpace(machine: machine, tracking: tracking)
        func cycle() throws {
            let kaddr = try #require(space.vmallocUser(8 * Self.page))
            let uaddr = try process.mm.mmap(length: 8 * Self.page, prot: [.read, .write], flags: [.shared], file: VmallocDeviceFile(size: 8 * Self.page))
            try process.remapVmallocRange(space, vmaStart: uaddr, kaddr: kaddr, pgoff: 0)
            let pinned = try process.pinUserPagesFast(start: uaddr, nrPages: 8, flags: [.write])
            space.vfree(kaddr)
            try process.mm.munmap(addr: uaddr, length: 8 * Self.page)
            machine.unpinUserPages(pinned)
            space.purgeLazy()
        }
        try cycle()
        let after = freePageCount(machine)
        try cycle()
        #expect(freePageCount(machine) == after)
        #expect(space.nrPages == 0)
        #expect((machine.heap.usage()[.vmallocMemdesc]?.count ?? 0) == 0)
        #expect((machine.heap.usage()[.scamem]?.count ?? 0) == 0)
        #expect(machine.diagnostics.all.isEmpty)
    }
}
