// hmm-tests.c (v6.19) cases that loop over `use_thp`: anon_write_child,
// migrate_partial_unmap_fault and migrate_remap_fault, one body each for both halves.
// use_thp 0 (HMM_BUFFER_SIZE, or MADV_NOHUGEPAGE) runs in HMMSelftestPortTests, use_thp 1
// (TWOMEG with MADV_HUGEPAGE: a THP, split by migrate_vma_collect) in HMMHugeSplitTests.
import PageLayout
@testable import PageModel
import Testing

enum HMMUseTHP {
    /// hmm-tests `anon_write_child` for one `migrate`: the buffer (npages HMM_BUFFER_SIZE
    /// here 256, or TWOMEG >> PAGE_SHIFT with use_thp, 2 MiB aligned and MADV_HUGEPAGE)
    /// holds `i`; MIGRATE_TO_DEV cpages == npages; the child sees `i`, its own mirror
    /// (device 0) WRITEs `-i`: 0, cpages npages, faults 1; without migration the child
    /// reads `-i`; the parent still reads `i`.
    static func anonWriteChild(_ design: Design, device: Int, thp: Bool, migrate: Bool) throws {
        let (machine, process, mirror) = try HMMMigrateTests.setup(design, device: device)
        let n = thp ? HMMTHPTests.npages : HMMSelftestPortTests.npages
        let size = UInt64(n) << 12
        let raw = try process.mmapAnon(2 * size)
        var addr = raw
        if thp {
            addr = (raw + size - 1) & ~(size - 1)
            try process.mm.madvise(addr: addr, length: size, advice: .hugePage)
        }
        let data = HMMMigrateTests.pattern(n)
        try process.write(data, at: addr)
        if thp { try #require(process.tables.entry(at: addr).huge) }
        if migrate {
            var buffer: [UInt8] = []
            #expect(try mirror.migrateToDevice(addr: addr, npages: UInt64(n), into: &buffer).cpages == n)
        }
        let child = try process.fork()
        #expect(try child.read(addr, count: data.count) == data)
        let childDevice = device == 0 ? mirror.device : try DeviceMirrorDevice(machine: machine, id: 0)
        let childMirror = DeviceMirror(device: childDevice, process: child)
        let neg = HMMSelftestPortTests.negPattern(n)
        #expect(try childMirror.write(addr: addr, npages: UInt64(n), from: neg) == DeviceMirror.Result(cpages: n, faults: 1))
        if !migrate { #expect(try child.read(addr, count: neg.count) == neg) }
        childMirror.close()
        child.exit()
        #expect(try process.read(addr, count: data.count) == data)
    }

    /// hmm-tests `migrate_partial_unmap_fault`: 2 MiB (MADV_HUGEPAGE with use_thp, else
    /// MADV_NOHUGEPAGE) migrated (cpages 512), 1 MiB unmapped at offset 0, 512 KiB or
    /// 1 MiB, the rest faulted home and intact.
    static func partialUnmapFault(_ design: Design, device: Int, thp: Bool) throws {
        for offset: UInt64 in [0, 512 << 10, 1 << 20] {
            let (_, process, mirror) = try HMMMigrateTests.setup(design, device: device)
            let size: UInt64 = 2 << 20
            let raw = try process.mmapAnon(2 * size)
            let map = (raw + size - 1) & ~(size - 1)
            try process.mm.madvise(addr: map, length: size, advice: thp ? .hugePage : .noHugePage)
            let data = HMMMigrateTests.pattern(512)
            try process.write(data, at: map)
            #expect(process.tables.entry(at: map).huge == thp)
            var buffer: [UInt8] = []
            #expect(try mirror.migrateToDevice(addr: map, npages: 512, into: &buffer).cpages == 512)
            #expect(buffer == data)
            try process.mm.munmap(addr: map + offset, length: 1 << 20)
            let before = Int(offset), after = Int(offset) + (1 << 20)
            if before > 0 { #expect(try process.read(map, count: before) == Array(data[..<before])) }
            if after < Int(size) { #expect(try process.read(map + UInt64(after), count: Int(size) - after) == Array(data[after...])) }
            // Private pages were all faulted home; coherent ones are read in place. With
            // use_thp the range went to the device as one THP (v6.19's MIGRATE_TO_DEV asks
            // for MIGRATE_VMA_SELECT_COMPOUND), still partly mapped: a folio is allocated
            // and freed whole (test_hmm.c: calloc and cfree count 1 << order), so its 512
            // pages stay in use; page by page, the 256 not unmapped.
            #expect(mirror.device.pagesInUse == (device == 0 ? 0 : thp ? 512 : 256))
        }
    }

    /// hmm-tests `migrate_remap_fault`: mremap(MAYMOVE|FIXED, with and without
    /// DONTUNMAP) of 2 MiB (a THP with use_thp: moved unaligned it is PTE-mapped, then
    /// split by migrate_vma_split_folio()) to map + 2 MiB + offset, before or after
    /// migrating it (cpages 512 either way); the data faults home intact at the new address.
    static func remapFault(_ design: Design, thp: Bool) throws {
        for before in [false, true] {
            for dontUnmap in [false, true] {
                for offset: UInt64 in [0, 512 << 10, 1 << 20] {
                    let (_, process, mirror) = try HMMMigrateTests.setup(design, device: 0)
                    let size: UInt64 = 2 << 20
                    let raw = try process.mmapAnon(8 * size)
                    let map = (raw + size - 1) & ~(size - 1)
                    try process.mm.madvise(addr: map, length: size, advice: thp ? .hugePage : .noHugePage)
                    try process.mm.munmap(addr: map + size, length: 2 * size)
                    let data = HMMMigrateTests.pattern(512)
                    try process.write(data, at: map)
                    #expect(process.tables.entry(at: map).huge == thp)
                    let flags: MRemapFlags = dontUnmap ? [.mayMove, .fixed, .dontUnmap] : [.mayMove, .fixed]
                    var ptr = map
                    if before { ptr = try process.mm.mremap(oldAddr: map, oldLength: size, newLength: size, flags: flags, newAddr: map + size + offset) }
                    var buffer: [UInt8] = []
                    #expect(try mirror.migrateToDevice(addr: ptr, npages: 512, into: &buffer).cpages == 512)
                    #expect(buffer == data)
                    if !before { ptr = try process.mm.mremap(oldAddr: map, oldLength: size, newLength: size, flags: flags, newAddr: map + size + offset) }
                    #expect(ptr == map + size + offset)
                    #expect(try process.read(ptr, count: data.count) == data)
                    try process.mm.munmap(addr: ptr, length: size)
                }
            }
        }
    }
}
