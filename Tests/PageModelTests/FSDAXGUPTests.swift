// GUP on a file of a DAX filesystem (vma_is_fsdax()): pins and plain gets work, but
// FOLL_LONGTERM is refused with -EOPNOTSUPP by check_vma_flags() on the slow path, and
// GUP-fast refuses the fsdax folio (folio_is_longterm_pinnable() is false) and falls
// back to that. Device-dax, a character device, is DAX but not fsdax: its pages pin
// long-term.
import Testing
import PageLayout
@testable import PageModel

@Suite struct FSDAXGUPTests {
    /// A process with `file` mapped shared over four pages of a fresh pagemap of `type`,
    /// inserted as a driver does (refcount 1, vm_insert_pages(), put_page()).
    private func mapped(_ file: some MappedFile, type: MemoryType, design: Design) throws -> (Machine, Process, UInt64, [Page]) {
        let (machine, process) = try makeProcess(design)
        let pgmap = try machine.memremapPages(type: type, bytes: machine.config.sectionBytes, ops: DevPagemapOps())
        let pages = try (0..<4).map { try #require(machine.page(pgmap.range.start + $0)) }
        let addr = try process.mm.mmap(length: 4 << 12, prot: [.read, .write], flags: [.shared], file: file)
        if type == .fsDax { for page in pages { page.setRefcount(1) } }
        try process.insertPages(pages, at: addr, writable: true)
        if type == .fsDax { for page in pages { machine.folioPut(try #require(machine.pageFolio(page))) } }
        return (machine, process, addr, pages)
    }

    @Test(arguments: [Design.mainline, .dmaPinnedField, .lruPinnedRearranged])
    func longtermPinsOfFsdaxFilesAreRefused(_ design: Design) throws {
        let (machine, process, addr, pages) = try mapped(FSDAXFile(size: 4 << 12), type: .fsDax, design: design)
        let vma = try #require(process.mm.vmaLookup(addr))
        #expect(vma.isFsdax)
        #expect(vma.flags.isSuperset(of: [.hugePage, .mixedMap, .shared]))
        #expect(pages.map(\.refcount) == [1, 1, 1, 1])

        #expect(throws: Errno.EOPNOTSUPP) { try process.pinUserPages(start: addr, nrPages: 4, flags: [.write, .longterm]) }
        #expect(throws: Errno.EOPNOTSUPP) { try process.pinUserPagesFast(start: addr, nrPages: 4, flags: [.write, .longterm]) }
        #expect(pages.map(\.refcount) == [1, 1, 1, 1])   // the refusals took nothing
        #expect(machine.pinStats.pinsAcquired == 0)

        let pinned = try process.pinUserPagesFast(start: addr, nrPages: 4, flags: [.write])
        #expect(pinned.map { (machine.proxyTarget($0) ?? $0).pfn } == pages.map(\.pfn))
        machine.unpinUserPages(pinned)
        let got = try process.getUserPages(start: addr, nrPages: 4)
        #expect(got.map(\.pfn) == pages.map(\.pfn))
        for page in got { machine.folioPut(try #require(machine.pageFolio(page))) }
        #expect(machine.pinStats.outstanding == 0)
        try process.mm.munmap(addr: addr, length: 4 << 12)
        #expect(pages.map(\.refcount) == [0, 0, 0, 0])
        #expect(machine.diagnostics.count == 0)
    }

    @Test func deviceDAXIsNotFsdaxAndPinsLongterm() throws {
        let (machine, process, addr, pages) = try mapped(DevDAXFile(size: 4 << 12), type: .generic, design: .mainline)
        #expect(try #require(process.mm.vmaLookup(addr)).isFsdax == false)
        let pinned = try process.pinUserPages(start: addr, nrPages: 4, flags: [.write, .longterm])
        #expect(pinned.map(\.pfn) == pages.map(\.pfn))
        machine.unpinUserPages(pinned)
        #expect(machine.pinStats.outstanding == 0)
    }

    @Test func mapSyncNeedsADAXFile() throws {
        let (_, process) = try makeProcess()
        let dax = try process.mm.mmap(length: 4 << 12, prot: [.read, .write], flags: [.sharedValidate, .sync], file: FSDAXFile(size: 4 << 12))
        #expect(try #require(process.mm.vmaLookup(dax)).flags.contains(.sync))
        #expect(throws: Errno.EOPNOTSUPP) {
            try process.mm.mmap(length: 4 << 12, prot: [.read, .write], flags: [.sharedValidate, .sync], file: DevDAXFile(size: 4 << 12))
        }
    }
}
