// GUP on PCI peer-to-peer DMA memory mapped into a process as the p2pmem sysfs
// "allocate" file does (drivers/pci/p2pdma.c, p2pmem_alloc_mmap(): set_page_count(page,
// 1), vm_insert_page() into a VM_MIXEDMAP VMA, put_page()). Without FOLL_PCI_P2PDMA,
// try_grab_folio() refuses such a folio with -EREMOTEIO, and GUP-fast refuses it and
// falls back to the slow path, which does; with the flag the pages pin; FOLL_LONGTERM
// with it is -EINVAL (is_valid_gup_args()). A refusal takes no reference.
import Synchronization
import Testing
import PageLayout
@testable import PageModel

@Suite struct P2PDMAGUPTests {
    @Test(arguments: [Design.mainline, .dmaPinnedField, .lruPinnedRearranged])
    func p2pdmaPagesPinOnlyWithFollPCIP2PDMA(_ design: Design) throws {
        let (machine, process) = try makeProcess(design)
        let freed = Atomic<Int>(0)
        let pgmap = try machine.memremapPages(type: .pciP2PDMA, bytes: machine.config.sectionBytes,
                                              ops: DevPagemapOps(folioFree: { _ in freed.add(1, ordering: .relaxed) }))
        let pages = try (0..<4).map { try #require(machine.page(pgmap.range.start + $0)) }
        let file = DevDAXFile(size: 4 << 12)   // a VM_MIXEDMAP device file, as p2pmem's is
        let addr = try process.mm.mmap(length: 4 << 12, prot: [.read, .write], flags: [.shared], file: file)
        for page in pages { page.setRefcount(1) }
        try process.insertPages(pages, at: addr, writable: true)
        for page in pages { machine.folioPut(try #require(machine.pageFolio(page))) }
        #expect(pages.map(\.refcount) == [1, 1, 1, 1])   // the mapping's references

        #expect(throws: Errno.EREMOTEIO) { try process.pinUserPages(start: addr, nrPages: 4, flags: [.write]) }
        #expect(throws: Errno.EREMOTEIO) { try process.pinUserPagesFast(start: addr, nrPages: 4, flags: [.write]) }
        #expect(throws: Errno.EREMOTEIO) { try process.getUserPages(start: addr, nrPages: 4) }
        // is_valid_gup_args() refuses LONGTERM|PCI_P2PDMA; v6.19's pin_user_pages() then
        // returns 0, not -EINVAL [mm/gup.c: pin_user_pages()].
        #expect(try process.pinUserPages(start: addr, nrPages: 4, flags: [.longterm, .pciP2PDMA]).isEmpty)
        #expect(pages.map(\.refcount) == [1, 1, 1, 1])
        #expect(machine.pinStats.pinsAcquired == 0)

        let pinned = try process.pinUserPagesFast(start: addr, nrPages: 4, flags: [.write, .pciP2PDMA])
        #expect(pinned.map { (machine.proxyTarget($0) ?? $0).pfn } == pages.map(\.pfn))
        let folio = try #require(machine.pageFolio(pages[0]))
        #expect(machine.folioMaybeDMAPinned(folio))
        #expect(machine.exactPins(folio) == 1)
        machine.unpinUserPages(pinned)
        #expect(!machine.folioMaybeDMAPinned(folio))
        #expect(machine.pinStats.outstanding == 0)
        #expect(machine.pinStats.falseNegatives == 0)

        // Unmapping drops the last references: p2pdma_folio_free() for each page.
        try process.mm.munmap(addr: addr, length: 4 << 12)
        #expect(pages.map(\.refcount) == [0, 0, 0, 0])
        #expect(freed.load(ordering: .relaxed) == 4)
        // The one diagnostic is the kernel's WARN_ON_ONCE for LONGTERM with P2PDMA.
        #expect(machine.diagnostics.all.map(\.reason) == [
            "is_valid_gup_args: WARN_ON_ONCE((gup_flags & FOLL_LONGTERM) && (gup_flags & FOLL_PCI_P2PDMA)) (gup_flags FOLL_LONGTERM|FOLL_PCI_P2PDMA|FOLL_PIN): EINVAL",
        ])
    }
}
