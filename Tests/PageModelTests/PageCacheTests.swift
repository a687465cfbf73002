import PageLayout
@testable import PageModel
import Synchronization
import Testing

/// Records what truncate and hole punch ask of a mapper (Linux: the VMAs on i_mmap).
final class RecordingUnmapper: PageCacheUnmapper {
    struct Call: Equatable { let first: UInt64, last: UInt64, evenCows: Bool }
    let calls = Mutex<[Call]>([])
    let cleaned = Mutex<[UInt64]>([])
    func unmapMappingRange(_ mapping: PageCacheMapping, firstIndex: UInt64, lastIndex: UInt64, evenCows: Bool) {
        calls.withLock { $0.append(Call(first: firstIndex, last: lastIndex, evenCows: evenCows)) }
    }
    func mkcleanFolio(_ mapping: PageCacheMapping, folio: Folio) -> Int {
        cleaned.withLock { $0.append(folio.index) }
        return 1
    }
    var recorded: [Call] { calls.withLock { $0 } }
}

func freePageCount(_ machine: Machine) -> Int { machine.allZones.reduce(0) { $0 + $1.freePages + $1.pcpPages } }

@Suite struct PageCacheTests {
    let machine: Machine
    init() throws { machine = try Machine(ramBytes: 128 << 20) }

    @Test func faultCreatesAZeroedShmemFolioWithOneReferenceForTheCaller() throws {
        let fs = Filesystem(machine: machine, kind: .shmem)
        let file = try fs.memfdCreate(name: "a")
        #expect(file.name == "memfd:a")
        try file.ftruncate(3 * 4096)
        let cache = file.pageCache
        let folio = try cache.faultFolio(index: 1)
        let bits = machine.flagBits
        #expect(folio.order == 0)
        #expect(folio.index == 1)
        #expect(folio.mapping == cache.address)
        #expect(folio.refcount == 2)   // the cache's 1 + the caller's 1
        #expect(folio.testFlag(bits.uptodate) && folio.testFlag(bits.swapbacked) && folio.testFlag(bits.lru))
        #expect(!folio.isLocked && !folio.testFlag(bits.dirty))
        #expect(machine.frames.read(pfn: folio.pfn, count: 4096) == [UInt8](repeating: 0, count: 4096))
        #expect(cache.lookup(index: 1) == folio)
        #expect(cache.lookup(index: 0) == nil)
        #expect(machine.pageCacheMapping(of: folio) === cache)
        #expect(cache.folioCount == 1 && cache.nrPages == 1)
        #expect(fs.stats.nrShmem == 1 && fs.stats.nrFilePages == 1)
        let again = try cache.faultFolio(index: 1)
        #expect(again == folio && folio.refcount == 3)
        machine.folioPut(again)
        machine.folioPut(folio)
        #expect(folio.refcount == 1)
        // Page 3 is past DIV_ROUND_UP(i_size, PAGE_SIZE) = 3: VM_FAULT_SIGBUS.
        #expect(throws: Errno.EFAULT) { try cache.faultFolio(index: 3) }
        #expect(cache.folioCount == 1)
        #expect(machine.diagnostics.count == 0)
    }

    @Test func largeFoliosCoverTheirRangeAndFallBackToSmallerOrders() throws {
        let fs = Filesystem(machine: machine, kind: .shmem, preferredOrder: 9)
        let file = try fs.memfdCreate(name: "thp")
        try file.ftruncate(8 << 20)   // 2048 pages
        let cache = file.pageCache
        let huge = try cache.faultFolio(index: 700)
        #expect(huge.order == 9 && huge.index == 512 && huge.nrPages == 512)
        #expect(huge.refcount == 513)
        for index: UInt64 in [512, 700, 1023] { #expect(cache.lookup(index: index) == huge) }
        #expect(cache.lookup(index: 511) == nil && cache.lookup(index: 1024) == nil)
        let small = try cache.faultFolio(index: 1030, order: 0)
        #expect(small.order == 0 && small.index == 1030)
        // [1024, 1536) is not free: orders 8..3 contain page 1030; order 2 is the first that fits.
        let fallback = try cache.faultFolio(index: 1024)
        #expect(fallback.order == 2 && fallback.index == 1024)
        #expect(cache.folioCount == 3 && cache.nrPages == 512 + 1 + 4)
        #expect(fs.stats.nrShmem == 517)
        for folio in [huge, small, fallback] { machine.folioPut(folio) }
        #expect(huge.refcount == 512 && small.refcount == 1 && fallback.refcount == 4)
    }

    @Test func diskWritebackGoesDirtyWritebackCleanAndReadsBackAfterRemoval() throws {
        let fs = Filesystem(machine: machine, kind: .disk)
        let file = try fs.create(name: "data.bin")
        let cache = file.pageCache
        #expect(cache.needsDirtyTracking && file.needsDirtyTracking)
        #expect(try file.pwrite([1, 2, 3], offset: 4096 + 10) == 3)
        #expect(file.size == 4109)
        let folio = try #require(cache.lookup(index: 1))
        let bits = machine.flagBits
        #expect(folio.testFlag(bits.dirty) && folio.refcount == 1)
        #expect(fs.stats.nrDirty == 1 && fs.stats.nrDirtied == 1 && fs.stats.nrWritten == 0)
        let blocks = try #require(file.inode.blocks)
        #expect(blocks.allocatedPages == 0)

        let mapper = RecordingUnmapper()
        cache.iMmapAdd(mapper)
        machine.folioGet(folio)   // the writer's reference (as reclaim's isolation)
        folio.lock()
        #expect(cache.beginWriteback(folio))
        #expect(folio.testFlag(bits.writeback) && !folio.testFlag(bits.dirty))
        #expect(fs.stats.nrWriteback == 1 && fs.stats.nrDirty == 0)
        #expect(mapper.cleaned.withLock { $0 } == [1])   // folio_mkclean() before PG_dirty is cleared
        #expect(!cache.removeFolio(folio))                 // under writeback
        #expect(cache.endWriteback(folio))
        #expect(!folio.testFlag(bits.writeback))
        #expect(fs.stats.nrWriteback == 0 && fs.stats.nrWritten == 1)
        // i_size is 4109: page 1 holds 13 valid bytes; the rest of it is written as zeroes.
        var expected = [UInt8](repeating: 0, count: 4096)
        expected[10] = 1; expected[11] = 2; expected[12] = 3
        #expect(blocks.page(1) == expected)
        #expect(blocks.allocatedIndices == [1])
        #expect(!cache.writeback(folio))   // clean now: nothing to write
        #expect(cache.removeFolio(folio))
        #expect(folio.mapping == 0 && folio.refcount == 1)
        folio.unlock()
        machine.folioPut(folio)
        #expect(cache.folioCount == 0 && cache.nrPages == 0 && fs.stats.nrFilePages == 0)
        // Read back from the blocks through a new folio.
        #expect(try file.pread(count: 100, offset: 4096) == Array(expected[0..<13]))
        #expect(cache.folioCount == 1)   // filemap_read() created page 1 from its block
        #expect(machine.diagnostics.count == 0)
    }

    @Test func removalIsRefusedForDirtyUnlockedAndForeignFolios() throws {
        let fs = Filesystem(machine: machine, kind: .disk)
        let file = try fs.create(name: "f")
        try file.pwrite([9], offset: 0)
        let cache = file.pageCache
        let folio = try #require(cache.lookup(index: 0))
        machine.folioGet(folio)
        #expect(!cache.removeFolio(folio))   // not locked: recorded
        #expect(machine.diagnostics.all.map(\.reason) == ["filemap_remove_folio: folio not locked"])
        folio.lock()
        #expect(!cache.removeFolio(folio))   // dirty
        let other = try fs.create(name: "g").pageCache
        #expect(!other.removeFolio(folio))   // not in that mapping
        #expect(cache.writeback(folio))
        #expect(cache.removeFolio(folio))
        folio.unlock()
        machine.folioPut(folio)
        #expect(machine.diagnostics.count == 1)
    }

    @Test func shmemNeverWritesBack() throws {
        let fs = Filesystem(machine: machine, kind: .shmem)
        let file = try fs.memfdCreate(name: "s")
        #expect(!file.pageCache.needsDirtyTracking)
        try file.pwrite([UInt8](repeating: 7, count: 5000), offset: 0)
        let folio = try #require(file.pageCache.lookup(index: 0))
        #expect(folio.testFlag(machine.flagBits.dirty))   // noop_dirty_folio(): PG_dirty only
        #expect(fs.stats.nrDirty == 0 && fs.stats.nrDirtied == 0)
        machine.folioGet(folio)
        folio.lock()
        #expect(!file.pageCache.writeback(folio))
        folio.unlock()
        machine.folioPut(folio)
        #expect(file.pageCache.writebackAll() == 0)
        #expect(folio.testFlag(machine.flagBits.dirty))
        #expect(fs.stats.nrWritten == 0)
    }

    @Test func writebackAllWritesEveryDirtyFolio() throws {
        let fs = Filesystem(machine: machine, kind: .disk)
        let file = try fs.create(name: "w")
        for index: Int64 in [0, 2, 5] { try file.pwrite([UInt8(index + 1)], offset: index * 4096) }
        #expect(fs.stats.nrDirty == 3 && fs.stats.nrDirtied == 3)
        #expect(file.pageCache.writebackAll() == 3)
        #expect(fs.stats.nrDirty == 0 && fs.stats.nrWritten == 3)
        let blocks = try #require(file.inode.blocks)
        #expect(blocks.allocatedIndices == [0, 2, 5])
        #expect(blocks.page(2)?.first == 3 && blocks.page(5)?.first == 6)
        #expect(file.pageCache.writebackAll() == 0)
        // Dirty again: counted again.
        try file.pwrite([42], offset: 1)
        #expect(fs.stats.nrDirty == 1 && fs.stats.nrDirtied == 4)
        fs.sync()
        #expect(blocks.page(0)?[1] == 42 && fs.stats.nrWritten == 4)
    }

    @Test func removeMappingRefusesAFolioWithExtraReferences() throws {
        let before = freePageCount(machine)
        let fs = Filesystem(machine: machine, kind: .disk)
        do {
            let file = try fs.create(name: "r")
            try file.ftruncate(4096)
            let cache = file.pageCache
            let mapped = try cache.faultFolio(index: 0)   // a mapping's reference
            machine.folioGet(mapped)                      // reclaim's isolation reference
            mapped.lock()
            #expect(mapped.refcount == 3)
            #expect(!cache.removeMapping(mapped))         // folio_ref_freeze(folio, 2) fails
            #expect(mapped.refcount == 3 && cache.folioCount == 1)
            machine.folioPut(mapped)                      // the mapping went away
            #expect(cache.removeMapping(mapped))
            #expect(mapped.refcount == 1 && mapped.mapping == 0 && cache.folioCount == 0)
            mapped.unlock()
            machine.folioPut(mapped)
            try fs.unlink(name: "r")
        }
        #expect(freePageCount(machine) == before)
        #expect(machine.diagnostics.count == 0)
    }

    @Test func truncateAndPunchCallEveryRegisteredMapperOnce() throws {
        let fs = Filesystem(machine: machine, kind: .shmem)
        let file = try fs.memfdCreate(name: "m")
        try file.pwrite([UInt8](repeating: 1, count: 5 * 4096), offset: 0)
        let cache = file.pageCache
        let mapper = RecordingUnmapper()
        cache.iMmapAdd(mapper)
        cache.iMmapAdd(mapper)
        #expect(cache.iMmap.count == 1)
        try file.ftruncate(2 * 4096 + 100)
        // holebegin = round_up(8292, PAGE_SIZE): page 3 onwards, private COWs too.
        #expect(mapper.recorded == [.init(first: 3, last: .max, evenCows: true)])
        try file.fallocate(mode: [.punchHole, .keepSize], offset: 4096, length: 8192)
        // Whole pages 1 and 2 (page 2 is the partial last page of the file: [8192, 8292)
        // is inside [4096, 12288)); private COWs kept.
        #expect(mapper.recorded.last == .init(first: 1, last: 2, evenCows: false))
        #expect(cache.folioCount == 1 && cache.lookup(index: 0) != nil)
        do {
            let transient = RecordingUnmapper()
            cache.iMmapAdd(transient)
            #expect(cache.iMmap.count == 2)
        }
        #expect(cache.iMmap.count == 1)   // held weakly
        cache.iMmapRemove(mapper)
        #expect(cache.iMmap.isEmpty)
    }

    @Test(arguments: [FilesystemKind.shmem, .disk])
    func droppingTheFileGivesEveryPageBack(kind: FilesystemKind) throws {
        let before = freePageCount(machine)
        let heapBefore = machine.heap.usage()[.addressSpace]?.count ?? 0
        let registryBefore = machine.registry.count
        let fs = Filesystem(machine: machine, kind: kind, preferredOrder: 2)
        do {
            let file = try fs.tmpfile()
            try file.pwrite([UInt8](repeating: 0xab, count: 10 * 4096 + 17), offset: 3)
            let held = try file.pageCache.faultFolio(index: 9)
            #expect(held.order == 2 && held.index == 8)
            machine.folioPut(held)
            #expect(file.pageCache.nrPages == 12)
            #expect(machine.heap.usage()[.addressSpace]?.count == heapBefore + 1)
            #expect(machine.registry.count == registryBefore + 1)
            #expect(freePageCount(machine) == before - 12)
        }
        // The last open file went: evict() → truncate_inode_pages_final(), dirty or not.
        #expect(freePageCount(machine) == before)
        #expect(fs.stats.nrFilePages == 0 && fs.stats.nrDirty == 0 && fs.stats.nrShmem == 0)
        #expect(machine.heap.usage()[.addressSpace]?.count == heapBefore)
        #expect(machine.registry.count == registryBefore)
        #expect(machine.diagnostics.count == 0)
    }
}
