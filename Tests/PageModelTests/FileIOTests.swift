import PageLayout
@testable import PageModel
import Testing

@Suite struct FileIOTests {
    let machine: Machine
    init() throws { machine = try Machine(ramBytes: 128 << 20) }

    static func pattern(_ count: Int, seed: Int = 1) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ seed &* 7 &+ $0 >> 8) } }

    @Test(arguments: [FilesystemKind.shmem, .disk])
    func pwriteThenPreadAcrossFolioBoundaries(kind: FilesystemKind) throws {
        let fs = Filesystem(machine: machine, kind: kind)
        let file = try fs.tmpfile()
        let data = Self.pattern(10_000)
        #expect(try file.pwrite(data, offset: 4000) == 10_000)
        #expect(file.size == 14_000)
        #expect(file.pageCache.folioCount == 4)   // pages 0-3
        #expect(try file.pread(count: 10_000, offset: 4000) == data)
        #expect(try file.pread(count: 4000, offset: 0) == [UInt8](repeating: 0, count: 4000))
        #expect(try file.pread(count: 50_000, offset: 13_990) == Array(data[9990...]))
        #expect(try file.pread(count: 10, offset: 14_000) == [])
        #expect(try file.pread(count: 0, offset: 0) == [])
    }

    @Test(arguments: [FilesystemKind.shmem, .disk])
    func largeFoliosHoldAWriteSpanningSeveralOfThem(kind: FilesystemKind) throws {
        let fs = Filesystem(machine: machine, kind: kind, preferredOrder: 4)
        let file = try fs.tmpfile()
        let data = Self.pattern(200_000, seed: 3)
        #expect(try file.pwrite(data, offset: 30_000) == 200_000)
        // Bytes [30000, 230000) are pages 7...56: order-4 folios at 0, 16, 32 and 48.
        let folios = file.pageCache.folios
        #expect(folios.map(\.index) == [0, 16, 32, 48])
        #expect(folios.map(\.order) == [4, 4, 4, 4])
        #expect(file.pageCache.nrPages == 64)
        #expect(try file.pread(count: 200_000, offset: 30_000) == data)
        #expect(try file.pread(count: 5, offset: 65_534) == Array(data[35_534..<35_539]))   // across folio 0 | 16
    }

    @Test func readAndWriteMoveTheFilePosition() throws {
        let fs = Filesystem(machine: machine, kind: .shmem)
        let file = try fs.memfdCreate(name: "pos")
        #expect(try file.write([0x61, 0x62, 0x63]) == 3)
        #expect(try file.write([0x64, 0x65, 0x66]) == 3)
        #expect(file.position == 6)
        try file.seek(to: 0)
        #expect(try file.read(count: 4) == [0x61, 0x62, 0x63, 0x64])
        #expect(try file.read(count: 10) == [0x65, 0x66])
        #expect(try file.read(count: 10) == [])
        #expect(file.position == 6)
        #expect(throws: Errno.EINVAL) { try file.seek(to: -1) }
    }

    @Test(arguments: [FilesystemKind.shmem, .disk])
    func ftruncateShrinksWithAZeroedTailAndGrowsWithZeroes(kind: FilesystemKind) throws {
        let fs = Filesystem(machine: machine, kind: kind)
        let file = try fs.tmpfile()
        try file.pwrite([UInt8](repeating: 0xaa, count: 3 * 4096), offset: 0)
        if kind == .disk { #expect(file.pageCache.writebackAll() == 3) }
        try file.ftruncate(5000)
        #expect(file.size == 5000)
        #expect(file.pageCache.folioCount == 2 && file.pageCache.lookup(index: 2) == nil)
        let page1 = try #require(file.pageCache.lookup(index: 1))
        #expect(machine.frames.read(pfn: page1.pfn, offset: 904, count: 4096 - 904) == [UInt8](repeating: 0, count: 4096 - 904))
        #expect(machine.frames.read(pfn: page1.pfn, offset: 903, count: 1) == [0xaa])
        if let blocks = file.inode.blocks {
            #expect(blocks.allocatedIndices == [0, 1])
            #expect(blocks.page(1).map { Array($0[904...]) } == [UInt8](repeating: 0, count: 4096 - 904))
        }
        #expect(try file.pread(count: 20_000, offset: 0) == [UInt8](repeating: 0xaa, count: 5000))
        try file.ftruncate(12_288)
        let grown = try file.pread(count: 20_000, offset: 0)
        #expect(grown == [UInt8](repeating: 0xaa, count: 5000) + [UInt8](repeating: 0, count: 12_288 - 5000))
        try file.ftruncate(0)
        #expect(file.size == 0 && file.pageCache.folioCount == 0)
        #expect(file.inode.blocks?.allocatedPages ?? 0 == 0)
    }

    @Test func truncatingInsideALargeFolioZeroesItsTailAndKeepsIt() throws {
        let fs = Filesystem(machine: machine, kind: .shmem, preferredOrder: 2)
        let file = try fs.memfdCreate(name: "l")
        try file.pwrite([UInt8](repeating: 0x55, count: 16_384), offset: 0)
        let folio = try #require(file.pageCache.lookup(index: 0))
        #expect(folio.order == 2)
        try file.ftruncate(6000)
        #expect(file.pageCache.folioCount == 1 && file.pageCache.nrPages == 4)
        #expect(machine.frames.read(pfn: folio.pfn + 1, offset: 6000 - 4096, count: 4096 - 1904) == [UInt8](repeating: 0, count: 2192))
        #expect(machine.frames.read(pfn: folio.pfn + 3, count: 4096) == [UInt8](repeating: 0, count: 4096))
        #expect(throws: Errno.EFAULT) { try file.pageCache.faultFolio(index: 2) }   // past EOF: SIGBUS
        try file.ftruncate(16_384)
        #expect(try file.pread(count: 16_384, offset: 0) == [UInt8](repeating: 0x55, count: 6000) + [UInt8](repeating: 0, count: 10_384))
    }

    @Test(arguments: [FilesystemKind.shmem, .disk])
    func punchHoleDropsWholePagesAndZeroesPartialOnes(kind: FilesystemKind) throws {
        let fs = Filesystem(machine: machine, kind: kind)
        let file = try fs.tmpfile()
        try file.pwrite([UInt8](repeating: 0x77, count: 4 * 4096), offset: 0)
        if kind == .disk { #expect(file.pageCache.writebackAll() == 4) }
        try file.fallocate(mode: [.punchHole, .keepSize], offset: 2048, length: 8192)
        #expect(file.size == 16_384)
        #expect(file.pageCache.folioCount == 3 && file.pageCache.lookup(index: 1) == nil)
        let expected = [UInt8](repeating: 0x77, count: 2048) + [UInt8](repeating: 0, count: 8192) + [UInt8](repeating: 0x77, count: 16_384 - 10_240)
        #expect(try file.pread(count: 16_384, offset: 0) == expected)
        if let blocks = file.inode.blocks {
            #expect(blocks.allocatedIndices == [0, 2, 3])
            #expect(blocks.page(0).map { Array($0[2048...]) } == [UInt8](repeating: 0, count: 2048))
            #expect(blocks.page(2).map { Array($0[..<2048]) } == [UInt8](repeating: 0, count: 2048))
            // Out of the cache, the blocks say the same.
            file.pageCache.removeAllFolios(machine)
            #expect(try file.pread(count: 16_384, offset: 0) == expected)
        }
    }

    @Test func fallocateAllocatesAndGrowsUnlessKeepSize() throws {
        let shmem = Filesystem(machine: machine, kind: .shmem)
        let memfd = try shmem.memfdCreate(name: "f")
        try memfd.fallocate(mode: [], offset: 0, length: 3 * 4096)
        #expect(memfd.size == 12_288 && memfd.pageCache.folioCount == 3)
        #expect(memfd.pageCache.folios.allSatisfy { $0.testFlag(machine.flagBits.dirty) })
        try memfd.fallocate(mode: .keepSize, offset: 12_288, length: 1)
        #expect(memfd.size == 12_288 && memfd.pageCache.folioCount == 4)
        #expect(try memfd.pread(count: 20_000, offset: 0) == [UInt8](repeating: 0, count: 12_288))

        let disk = Filesystem(machine: machine, kind: .disk)
        let file = try disk.create(name: "prealloc")
        try file.fallocate(mode: [], offset: 4096, length: 2 * 4096 + 1)
        #expect(file.size == 12_289)
        #expect(file.inode.blocks?.allocatedIndices == [1, 2, 3])
        #expect(file.pageCache.folioCount == 0)
    }

    @Test func shmemHolesReadAsZeroesWithoutAllocating() throws {
        let shmem = Filesystem(machine: machine, kind: .shmem)
        let memfd = try shmem.memfdCreate(name: "hole")
        try memfd.ftruncate(8192)
        #expect(try memfd.pread(count: 8192, offset: 0) == [UInt8](repeating: 0, count: 8192))
        #expect(memfd.pageCache.folioCount == 0)
        let disk = Filesystem(machine: machine, kind: .disk)
        let file = try disk.create(name: "hole")
        try file.ftruncate(8192)
        #expect(try file.pread(count: 8192, offset: 0) == [UInt8](repeating: 0, count: 8192))
        #expect(file.pageCache.folioCount == 2)
    }

    @Test func errnoResultsMatchTheKernel() throws {
        let fs = Filesystem(machine: machine, kind: .disk)
        let rw = try fs.create(name: "x")
        let readOnly = try fs.open(name: "x", mode: .read)
        let writeOnly = try fs.open(name: "x", mode: .write)
        #expect(throws: Errno.EBADF) { try readOnly.pwrite([1], offset: 0) }
        #expect(throws: Errno.EBADF) { try readOnly.write([1]) }
        #expect(throws: Errno.EBADF) { try writeOnly.pread(count: 1, offset: 0) }
        #expect(throws: Errno.EINVAL) { try writeOnly.pread(count: 1, offset: -1) }   // ksys_pread64() checks pos first
        #expect(throws: Errno.EINVAL) { try rw.pread(count: -1, offset: 0) }
        #expect(throws: Errno.EINVAL) { try rw.pwrite([1], offset: -5) }
        #expect(throws: Errno.EINVAL) { try rw.ftruncate(-1) }
        #expect(throws: Errno.EINVAL) { try readOnly.ftruncate(0) }
        #expect(throws: Errno.EINVAL) { try rw.fallocate(mode: [], offset: 0, length: 0) }
        #expect(throws: Errno.EINVAL) { try rw.fallocate(mode: [], offset: -1, length: 10) }
        #expect(throws: Errno.EOPNOTSUPP) { try rw.fallocate(mode: .punchHole, offset: 0, length: 10) }
        #expect(throws: Errno.EOPNOTSUPP) { try rw.fallocate(mode: .zeroRange, offset: 0, length: 10) }
        #expect(throws: Errno.EOPNOTSUPP) { try rw.fallocate(mode: FallocateMode(rawValue: 0x100), offset: 0, length: 10) }
        #expect(throws: Errno.EOPNOTSUPP) { try rw.fallocate(mode: [.punchHole, .zeroRange, .keepSize], offset: 0, length: 10) }
        #expect(throws: Errno.EBADF) { try readOnly.fallocate(mode: [], offset: 0, length: 10) }
        #expect(throws: Errno.EFBIG) { try rw.fallocate(mode: [], offset: Int64.max - 1, length: 10) }
        #expect(throws: Errno.EFBIG) { try rw.fallocate(mode: .keepSize, offset: FileLimits.ext4MaxBytes, length: 1) }
        #expect(throws: Errno.EFBIG) { try rw.pwrite([1], offset: FileLimits.ext4MaxBytes) }
        #expect(throws: Errno.EFBIG) { try rw.ftruncate(FileLimits.ext4MaxBytes + 1) }
        #expect(rw.size == 0)
        #expect(try rw.pwrite([], offset: 0) == 0)

        let small = Filesystem(machine: machine, kind: .shmem, maxBytes: 10_000)
        let capped = try small.memfdCreate(name: "cap")
        #expect(try capped.pwrite([UInt8](repeating: 1, count: 100), offset: 9950) == 50)
        #expect(capped.size == 10_000)
        #expect(throws: Errno.EFBIG) { try capped.pwrite([1], offset: 10_000) }

        #expect(throws: Errno.EEXIST) { try fs.create(name: "x") }
        #expect(throws: Errno.ENOENT) { try fs.open(name: "missing") }
        #expect(throws: Errno.EINVAL) { try fs.create(name: "a/b") }
        #expect(throws: Errno.EINVAL) { try fs.memfdCreate(name: "on-disk") }
        #expect(throws: Errno.EINVAL) { try small.memfdCreate(name: String(repeating: "n", count: 250)) }
        #expect(try small.memfdCreate(name: String(repeating: "n", count: 249)).name.count == 255)
    }

    @Test func anUnlinkedFileLivesWhileOpen() throws {
        let fs = Filesystem(machine: machine, kind: .disk)
        let file = try fs.create(name: "tmp")
        try file.pwrite([5, 6, 7], offset: 0)
        try fs.unlink(name: "tmp")
        #expect(fs.names == [] && file.inode.nlink == 0)
        #expect(throws: Errno.ENOENT) { try fs.unlink(name: "tmp") }
        #expect(try file.pread(count: 3, offset: 0) == [5, 6, 7])
    }

    @Test func theMappedFileIsWhatMmapSees() throws {
        let fs = Filesystem(machine: machine, kind: .shmem)
        let file = try fs.memfdCreate(name: "map")
        try file.ftruncate(3 * 4096)
        let mapped: any MappedFile = file
        #expect(mapped.size == 12_288)
        #expect(mapped.mode == [.read, .write])
        #expect(mapped.name == "memfd:map")
        #expect((mapped as? OpenFile)?.pageCache === file.pageCache)
    }
}
