import Dispatch
import PageLayout
@testable import PageModel
import Testing

/// The page cache and swap cache on every descriptor design and on 32-bit: folio fields
/// (mapping, index, private, the lock bit) live in the head page or in the separately
/// allocated folio descriptor, and the bytes must come back either way.
@Suite struct PageCacheDesignTests {
    static let designs: [Design] = Design.allCases

    @Test(arguments: designs)
    func roundTripAndEvictionOnEveryDesign(design: Design) throws {
        let machine = try Machine(ramBytes: 128 << 20, design: design)
        let before = freePageCount(machine)
        let fs = Filesystem(machine: machine, kind: .disk, preferredOrder: 2)
        let data = (0..<30_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 1) }
        do {
            let file = try fs.tmpfile()
            #expect(try file.pwrite(data, offset: 1000) == 30_000)
            let folio = try #require(file.pageCache.lookup(index: 5))
            #expect(folio.order == 2 && folio.index == 4 && folio.mapping == file.pageCache.address)
            #expect(file.pageCache.writebackAll() == 2)
            #expect(fs.stats.nrWritten == 8)
            file.pageCache.removeAllFolios(machine)
            #expect(freePageCount(machine) == before)
            #expect(try file.pread(count: 30_000, offset: 1000) == data)
        }
        #expect(freePageCount(machine) == before)
        #expect(machine.diagnostics.count == 0)
    }

    @Test(arguments: [Arch.x86_64, .i386])
    func swapCacheOnBothWordSizes(arch: Arch) throws {
        let machine = try Machine(config: MachineConfig(ramBytes: 128 << 20, arch: arch))
        let swap = SwapSpace(machine: machine)
        _ = try swap.swapon(slots: 16)
        _ = try swap.swapon(slots: 16)
        let folio = try #require(machine.folioAlloc(.highuserMovable))
        machine.frames.write([1, 2, 3, 4], pfn: folio.pfn)
        let entry = SwapEntry(type: 1, offset: 1)
        #expect(swap.device(type: 1)?.allocateSlot() == 1)
        #expect(folio.tryLock())
        try swap.cache.add(folio, entry: entry)
        #expect(folio.privateValue == entry.value(bitsPerLong: arch.bitsPerLong))
        #expect(swap.cache.entry(of: folio) == entry)
        #expect(swap.writeFolio(folio))
        #expect(swap.cache.remove(folio))
        folio.unlock()
        machine.folioPut(folio)
        #expect(machine.diagnostics.count == 0)
    }

    @Test func concurrentWritersFaultersAndWritebackAgree() throws {
        let machine = try Machine(ramBytes: 128 << 20)
        let fs = Filesystem(machine: machine, kind: .disk, preferredOrder: 1)
        let file = try fs.create(name: "shared")
        try file.ftruncate(64 * 4096)
        let cache = file.pageCache
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            if worker < 4 {
                // Writer `worker` owns pages worker, worker+4, ...
                for round in 0..<20 {
                    for page in stride(from: worker, to: 64, by: 4) {
                        _ = try? file.pwrite([UInt8](repeating: UInt8(round + 1), count: 4096), offset: Int64(page) * 4096)
                    }
                }
            } else if worker < 7 {
                for _ in 0..<200 {
                    for index in stride(from: UInt64(worker), to: 64, by: 3) {
                        if let folio = try? cache.faultFolio(index: index) { machine.folioPut(folio) }
                    }
                }
            } else {
                for _ in 0..<50 { cache.writebackAll() }
            }
        }
        cache.writebackAll()
        #expect(fs.stats.nrDirty == 0 && fs.stats.nrWriteback == 0)
        #expect(cache.nrPages == 64 && cache.folioCount == 32)
        #expect(try file.pread(count: 64 * 4096, offset: 0) == [UInt8](repeating: 20, count: 64 * 4096))
        let blocks = try #require(file.inode.blocks)
        #expect(blocks.allocatedPages == 64)
        #expect((0..<64).allSatisfy { blocks.page(UInt64($0)) == [UInt8](repeating: 20, count: 4096) })
        for folio in cache.folios { #expect(folio.refcount == 2 && !folio.isLocked) }
        #expect(machine.diagnostics.count == 0)
    }
}
