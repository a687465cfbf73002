// File mappings: shared mappings see pwrite() and pread() sees their stores; private
// mappings copy on write; write-notify on dirty-tracked shared mappings; SIGBUS past
// EOF after a truncate; reclaim drops clean and writes back dirty file pages
// (mm/memory.c do_fault(), mm/filemap.c, mm/page-writeback.c, mm/truncate.c).
import Testing
@testable import PageModel
import PageLayout

@Suite struct FileMappingTests {
    func file(_ machine: Machine, _ kind: FilesystemKind, pages: Int) throws -> OpenFile {
        let fs = Filesystem(machine: machine, kind: kind)
        let file = try fs.create(name: "data")
        for i in 0..<pages { _ = try file.pwrite(pattern(i), offset: Int64(i) << 12) }
        try file.ftruncate(Int64(pages) << 12)
        return file
    }

    @Test(arguments: FilesystemKind.allCases)
    func sharedMappingSeesPwriteAndPreadSeesStores(_ kind: FilesystemKind) throws {
        let (machine, process) = try makeProcess()
        let file = try file(machine, kind, pages: 4)
        let addr = try process.mm.mmap(length: 4 << 12, prot: [.read, .write], flags: [.shared], file: file)
        #expect(try process.read(addr + 4096, count: 64) == pattern(1))
        _ = try file.pwrite([0xee, 0xef], offset: 4096 + 10)
        #expect(try process.read(addr + 4096 + 10, count: 2) == [0xee, 0xef])
        try process.write([1, 2, 3], at: addr + 2 * 4096)
        #expect(try file.pread(count: 3, offset: 2 * 4096) == [1, 2, 3])
        // The PTE maps the page-cache page itself.
        let pte = process.tables.entry(at: addr + 2 * 4096).pte
        #expect(pte.pfn == file.pageCache.lookup(index: 2)?.pfn)
    }

    @Test func diskSharedMappingsAreWriteNotified() throws {
        let (machine, process) = try makeProcess()
        let file = try file(machine, .disk, pages: 2)
        #expect(file.pageCache.writebackAll() == 2)
        let addr = try process.mm.mmap(length: 2 << 12, prot: [.read, .write], flags: [.shared], file: file)
        _ = try process.read(addr, count: 1)
        let folio = try #require(file.pageCache.lookup(index: 0))
        // Read fault on a dirty-tracked shared mapping: read-only until written.
        #expect(!process.tables.entry(at: addr).pte.isWritable)
        #expect(!folio.testFlag(machine.flagBits.dirty))
        try process.write([0x42], at: addr)
        #expect(process.tables.entry(at: addr).pte.isWritable)
        #expect(folio.testFlag(machine.flagBits.dirty))
        // Writeback cleans the folio and write-protects the PTE (folio_mkclean()).
        #expect(file.pageCache.writebackAll() == 1)
        #expect(!process.tables.entry(at: addr).pte.isWritable)
        #expect(file.inode.blocks?.page(0)?.first == 0x42)
        try process.write([0x43], at: addr)
        #expect(folio.testFlag(machine.flagBits.dirty))
    }

    @Test func shmemSharedMappingsAreWritableAtOnce() throws {
        let (machine, process) = try makeProcess()
        let file = try file(machine, .shmem, pages: 1)
        let addr = try process.mm.mmap(length: 4096, prot: [.read, .write], flags: [.shared], file: file)
        _ = try process.read(addr, count: 1)
        #expect(process.tables.entry(at: addr).pte.isWritable)
    }

    @Test func privateMappingCopiesOnWrite() throws {
        let (machine, process) = try makeProcess()
        let file = try file(machine, .disk, pages: 2)
        let addr = try process.mm.mmap(length: 2 << 12, prot: [.read, .write], flags: [.private], file: file)
        #expect(try process.read(addr, count: 64) == pattern(0))
        let cachePfn = try #require(file.pageCache.lookup(index: 0)).pfn
        #expect(process.tables.entry(at: addr).pte.pfn == cachePfn)
        try process.write([9], at: addr)
        #expect(process.tables.entry(at: addr).pte.pfn != cachePfn)
        #expect(try file.pread(count: 1, offset: 0) == [pattern(0)[0]])
        #expect(try process.read(addr, count: 2) == [9, pattern(0)[1]])
        // A private write on a page never read: do_cow_fault().
        try process.write([8], at: addr + 4096)
        #expect(try file.pread(count: 1, offset: 4096) == [pattern(1)[0]])
        #expect(machine.vmEvents.snapshot.cowCopies == 2)
        // A pwrite after the COW is not seen; the copy is ours.
        _ = try file.pwrite([0x77], offset: 0)
        #expect(try process.read(addr, count: 1) == [9])
    }

    @Test func truncateUnmapsAndAccessPastEOFIsSIGBUS() throws {
        let (machine, process) = try makeProcess()
        let file = try file(machine, .shmem, pages: 4)
        let addr = try process.mm.mmap(length: 4 << 12, prot: [.read, .write], flags: [.shared], file: file)
        for i in 0..<4 { _ = try process.read(addr + UInt64(i) << 12, count: 1) }
        try file.ftruncate(2 << 12)
        #expect(process.tables.entry(at: addr + 3 << 12).pte.isNone)
        #expect(throws: AccessError.bus(address: addr + 3 << 12)) { _ = try process.read(addr + 3 << 12, count: 1) }
        #expect(try process.read(addr + 4096, count: 64) == pattern(1))
    }

    @Test func reclaimDropsCleanAndWritesBackDirtyMappedFilePages() throws {
        let (machine, process) = try makeProcess()
        let file = try file(machine, .disk, pages: 4)
        _ = file.pageCache.writebackAll()
        let addr = try process.mm.mmap(length: 4 << 12, prot: [.read, .write], flags: [.shared], file: file)
        for i in 0..<4 { _ = try process.read(addr + UInt64(i) << 12, count: 1) }
        try process.write([0x55], at: addr + 4096)
        let result = machine.reclaim(count: 64)
        #expect(result.reclaimed == 4 && result.writtenBack == 1)
        #expect(file.pageCache.folioCount == 0)
        #expect(process.tables.entry(at: addr + 4096).pte.isNone)
        #expect(try process.read(addr + 4096, count: 2) == [0x55, pattern(1)[1]])
        #expect(try process.read(addr + 3 * 4096, count: 64) == pattern(3))
    }
}
