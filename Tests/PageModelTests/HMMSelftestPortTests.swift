// The rest of hmm-tests.c (tools/testing/selftests/mm/hmm-tests.c, v6.19) that the model
// can run, with the kernel's expected values (errnos, cpages, faults, snapshot bytes,
// the data read back), in the private (device 0; hmm2: 0 and 1) and coherent (device 2;
// hmm2: 2 and 3) variants where the kernel runs both: anon_write_prot, anon_write_child,
// anon_write_child_shared, anon_read_multiple, file_read, file_write, migrate_mixed,
// snapshot, double_map, hmm_gup_test, hmm_cow_in_device, migrate_partial_unmap_fault,
// migrate_remap_fault. Buffers of HMM_BUFFER_SIZE are 256 pages rather than 1024 (the
// debug-build suite's time); the other sizes are the kernel's.
//
// Elsewhere: anon_read, anon_read_prot, anon_write (HMMDeviceAccessTests), migrate,
// migrate_fault, migrate_multiple, migrate_shared, migrate_release (HMMMigrateTests:
// releaseEvictsResidentPages), exclusive* (HMMExclusiveTests), anon_teardown
// (HMMNotifierTests), open_close and mixedmap (HMMDeviceFileTests). Not here: every use_thp and
// huge/compound case (anon_write_huge, migrate_anon_huge_*, the THP halves of
// anon_write_child, migrate_partial_unmap_fault and migrate_remap_fault: HMMTHPTests,
// HMMHugeSplitTests, HMMDeviceTHPTests, and the second half of migrate_anon_huge_zero_err
// in HugeZeroFolioTests). Not ported: compound and anon_write_hugetlbfs (hugetlb),
// benchmark_thp_migration (timing).
import PageLayout
@testable import PageModel
import Testing

@Suite struct HMMSelftestPortTests {
    static let npages = 256

    /// `ptr[i] = -i` as the kernel's int array holds it.
    static func negPattern(_ npages: Int) -> [UInt8] {
        (0..<(npages * 1024)).flatMap { i -> [UInt8] in
            let v = UInt32(bitPattern: -Int32(i))
            return [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24)]
        }
    }

    /// hmm-tests `anon_write_prot`: READ of one page of an unpopulated PROT_READ mapping
    /// (0, cpages 1, faults 1); WRITE is -EPERM and the CPU reads zeroes; after
    /// mprotect(RW) WRITE gives 0, cpages npages, faults 1, and the CPU reads the data.
    @Test(arguments: Design.allCases)
    func anonWriteProt(_ design: Design) throws {
        let (_, process, mirror) = try HMMMigrateTests.setup(design, device: 0)
        let n = Self.npages
        let addr = try process.mmapAnon(UInt64(n) << 12, prot: [.read])
        var buffer: [UInt8] = []
        #expect(try mirror.read(addr: addr, npages: 1, into: &buffer) == DeviceMirror.Result(cpages: 1, faults: 1))
        let data = HMMMigrateTests.pattern(n)
        #expect(throws: Errno.EPERM) { try mirror.write(addr: addr, npages: UInt64(n), from: data) }
        #expect(try process.read(addr, count: data.count).allSatisfy { $0 == 0 })
        try process.mm.mprotect(addr: addr, length: UInt64(n) << 12, prot: [.read, .write])
        #expect(try mirror.write(addr: addr, npages: UInt64(n), from: data) == DeviceMirror.Result(cpages: n, faults: 1))
        #expect(try process.read(addr, count: data.count) == data)
    }

    /// hmm-tests `anon_write_child` (use_thp 0; migrate 0 and 1): the child's own mirror
    /// (device 0) WRITEs -i over what it inherited: 0, cpages npages, faults 1; without
    /// migration the child sees -i; the parent still sees i.
    @Test(arguments: HMMMigrateTests.designs, [0, 2])
    func anonWriteChild(_ design: Design, device: Int) throws {
        for migrate in [false, true] { try HMMUseTHP.anonWriteChild(design, device: device, thp: false, migrate: migrate) }
    }

    /// hmm-tests `anon_write_child_shared`: in a MAP_SHARED|MAP_ANONYMOUS mapping the
    /// child's device WRITE (0, cpages npages, faults 1) is what the parent sees.
    @Test(arguments: Design.allCases)
    func anonWriteChildShared(_ design: Design) throws {
        let (_, process, mirror) = try HMMMigrateTests.setup(design, device: 0)
        let n = Self.npages
        let addr = try process.mmapAnon(UInt64(n) << 12, flags: [.shared, .anonymous])
        let data = HMMMigrateTests.pattern(n)
        try process.write(data, at: addr)
        let child = try process.fork()
        #expect(try child.read(addr, count: data.count) == data)
        let childMirror = DeviceMirror(device: mirror.device, process: child)
        let neg = Self.negPattern(n)
        #expect(try childMirror.write(addr: addr, npages: UInt64(n), from: neg) == DeviceMirror.Result(cpages: n, faults: 1))
        #expect(try child.read(addr, count: neg.count) == neg)
        childMirror.close()
        child.exit()
        #expect(try process.read(addr, count: neg.count) == neg)
    }

    /// hmm-tests `anon_read_multiple`: NTIMES (10) fresh buffers of i + c, each READ
    /// 0 with cpages npages and faults 1.
    @Test(arguments: Design.allCases)
    func anonReadMultiple(_ design: Design) throws {
        let (_, process, mirror) = try HMMMigrateTests.setup(design, device: 0)
        let n = Self.npages
        for c in 0..<10 {
            let addr = try process.mmapAnon(UInt64(n) << 12)
            let data = HMMMigrateTests.pattern(n, plus: UInt32(c))
            try process.write(data, at: addr)
            var buffer: [UInt8] = []
            #expect(try mirror.read(addr: addr, npages: UInt64(n), into: &buffer) == DeviceMirror.Result(cpages: n, faults: 1))
            #expect(buffer == data)
            try process.mm.munmap(addr: addr, length: UInt64(n) << 12)
        }
    }

    /// hmm-tests `file_read` and `file_write` (hmm_create_file(): an O_TMPFILE file):
    /// READ of a PROT_READ MAP_SHARED mapping of the pwrite()n file, and WRITE into a
    /// RW one, each 0 with cpages npages and faults 1; pread() sees the device's write.
    @Test(arguments: FilesystemKind.allCases)
    func fileReadAndWrite(_ kind: FilesystemKind) throws {
        let (machine, process, mirror) = try HMMMigrateTests.setup(.mainline, device: 0)
        let n = Self.npages
        let data = HMMMigrateTests.pattern(n)
        let fs = Filesystem(machine: machine, kind: kind)
        let file = try fs.create(name: "hmm")
        try file.ftruncate(Int64(n) << 12)
        #expect(try file.pwrite(data, offset: 0) == data.count)
        let ro = try process.mm.mmap(length: UInt64(n) << 12, prot: [.read], flags: [.shared], file: file)
        var buffer: [UInt8] = []
        #expect(try mirror.read(addr: ro, npages: UInt64(n), into: &buffer) == DeviceMirror.Result(cpages: n, faults: 1))
        #expect(buffer == data)
        let other = try fs.create(name: "hmm2")
        try other.ftruncate(Int64(n) << 12)
        let rw = try process.mm.mmap(length: UInt64(n) << 12, prot: [.read, .write], flags: [.shared], file: other)
        #expect(try mirror.write(addr: rw, npages: UInt64(n), from: data) == DeviceMirror.Result(cpages: n, faults: 1))
        #expect(try process.read(rw, count: data.count) == data)
        #expect(try other.pread(count: data.count, offset: 0) == data)
    }

    /// hmm2 `migrate_mixed`: a PROT_NONE range is -EINVAL, a range over a hole -EINVAL;
    /// pages 2-5 (zero page read-only, read-only, read-write twice) migrate to device 1
    /// with cpages 4; page 5, now on device 1, cannot be migrated to device 0: -ENOENT.
    @Test(arguments: HMMMigrateTests.designs, [0, 2])
    func migrateMixed(_ design: Design, device: Int) throws {
        let (machine, process, mirror0) = try HMMMigrateTests.setup(design, device: device)
        let mirror1 = DeviceMirror(device: try DeviceMirrorDevice(machine: machine, id: device + 1), process: process)
        let p = try process.mmapAnon(6 << 12, prot: [])
        var buffer: [UInt8] = []
        #expect(throws: Errno.EINVAL) { try mirror1.migrateToDevice(addr: p, npages: 6, into: &buffer) }
        try process.mm.munmap(addr: p + 4096, length: 4096)
        #expect(throws: Errno.EINVAL) { try mirror1.migrateToDevice(addr: p, npages: 3, into: &buffer) }
        try process.mm.mprotect(addr: p + (2 << 12), length: 4096, prot: [.read])
        #expect(try process.read(p + (2 << 12), count: 4) == [0, 0, 0, 0])
        try process.mm.mprotect(addr: p + (3 << 12), length: 4096, prot: [.read, .write])
        try process.write([3, 0, 0, 0], at: p + (3 << 12))
        try process.mm.mprotect(addr: p + (3 << 12), length: 4096, prot: [.read])
        try process.mm.mprotect(addr: p + (4 << 12), length: 2 << 12, prot: [.read, .write])
        try process.write([3, 0, 0, 0], at: p + (4 << 12))
        try process.write([3, 0, 0, 0], at: p + (5 << 12))
        #expect(try mirror1.migrateToDevice(addr: p + (2 << 12), npages: 4, into: &buffer).cpages == 4)
        #expect(throws: Errno.ENOENT) { try mirror0.migrateToDevice(addr: p + (5 << 12), npages: 1, into: &buffer) }
    }

    /// hmm2 `snapshot`: 7 pages: PROT_NONE (ERROR), a hole (ERROR), the zero page
    /// (ZERO|READ), read-only (READ), read-write (WRITE), migrated to device 0 (local
    /// private or coherent, WRITE) and to device 1 (private: NONE, not this owner's;
    /// coherent: COHERENT_REMOTE|WRITE).
    @Test(arguments: HMMMigrateTests.designs, [0, 2])
    func snapshot(_ design: Design, device: Int) throws {
        let (machine, process, mirror0) = try HMMMigrateTests.setup(design, device: device)
        let mirror1 = DeviceMirror(device: try DeviceMirrorDevice(machine: machine, id: device + 1), process: process)
        let p = try process.mmapAnon(7 << 12, prot: [])
        try process.mm.munmap(addr: p + 4096, length: 4096)
        try process.mm.mprotect(addr: p + (2 << 12), length: 4096, prot: [.read])
        #expect(try process.read(p + (2 << 12), count: 4) == [0, 0, 0, 0])
        try process.mm.mprotect(addr: p + (3 << 12), length: 4096, prot: [.read, .write])
        try process.write([3, 0, 0, 0], at: p + (3 << 12))
        try process.mm.mprotect(addr: p + (3 << 12), length: 4096, prot: [.read])
        try process.mm.mprotect(addr: p + (4 << 12), length: 3 << 12, prot: [.read, .write])
        try process.write([3, 0, 0, 0], at: p + (4 << 12))
        var buffer: [UInt8] = []
        #expect(try mirror0.migrateToDevice(addr: p + (5 << 12), npages: 1, into: &buffer).cpages == 1)
        #expect(try mirror1.migrateToDevice(addr: p + (6 << 12), npages: 1, into: &buffer).cpages == 1)
        let (result, m) = try mirror0.snapshot(addr: p, npages: 7)
        #expect(result.cpages == 7)
        // HMM_DMIRROR_PROT_*: ERROR 0xff, NONE 0, READ 1, WRITE 2, ZERO 0x10,
        // DEV_PRIVATE_LOCAL 0x20, DEV_COHERENT_LOCAL 0x40, DEV_COHERENT_REMOTE 0x50.
        let expected: [UInt8] = device == 0 ? [0xff, 0xff, 0x11, 0x01, 0x02, 0x22, 0x00] : [0xff, 0xff, 0x11, 0x01, 0x02, 0x42, 0x52]
        #expect(m == expected)
    }

    /// hmm2 `double_map`: a read-only buffer READ by device 0 and device 1 (each 0,
    /// cpages npages, faults 1), then migrated to device 1 (cpages npages) and READ by
    /// device 0 again (faults 1): every read sees the data.
    @Test(arguments: HMMMigrateTests.designs, [0, 2])
    func doubleMap(_ design: Design, device: Int) throws {
        let n = 6
        let (_, process, mirror0, mirror1, addr, data) = try HMMBuffer.makeWithSecondMirror(design, device: device, npages: n)
        try process.mm.mprotect(addr: addr, length: UInt64(n) << 12, prot: [.read])
        var buffer: [UInt8] = []
        for mirror in [mirror0, mirror1] {
            #expect(try mirror.read(addr: addr, npages: UInt64(n), into: &buffer) == DeviceMirror.Result(cpages: n, faults: 1))
            #expect(buffer == data)
        }
        #expect(try mirror1.migrateToDevice(addr: addr, npages: UInt64(n), into: &buffer).cpages == n)
        #expect(try mirror0.read(addr: addr, npages: UInt64(n), into: &buffer) == DeviceMirror.Result(cpages: n, faults: 1))
        #expect(buffer == data)
    }

    /// hmm-tests `hmm_gup_test` (gup_test's GUP_BASIC_TEST, GUP_FAST_BENCHMARK,
    /// PIN_FAST_BENCHMARK with FOLL_LONGTERM, PIN_LONGTERM_BENCHMARK, one page each, all
    /// FOLL_WRITE): a short-term reference keeps a coherent page on the device, a
    /// long-term pin moves it out; private pages all come home. Snapshot: pages 0-1
    /// COHERENT_LOCAL|WRITE (0x42) or WRITE (0x02), pages 2-3 WRITE; the data is intact.
    @Test(arguments: [Design.mainline, .dmaPinnedField, .proxy], [0, 2])
    func hmmGupTest(_ design: Design, device: Int) throws {
        let (machine, process, mirror, addr, data) = try HMMBuffer.make(design, device: device, npages: 4)
        var buffer: [UInt8] = []
        #expect(try mirror.migrateToDevice(addr: addr, npages: 4, into: &buffer).cpages == 4)
        #expect(buffer == data)
        for page in try process.getUserPages(start: addr, nrPages: 1, flags: [.write]) { machine.putPage(page) }
        for page in try process.getUserPagesFast(start: addr + (1 << 12), nrPages: 1, flags: [.write]) { machine.putPage(page) }
        machine.unpinUserPages(try process.pinUserPagesFast(start: addr + (2 << 12), nrPages: 1, flags: [.write, .longterm]))
        machine.unpinUserPages(try process.pinUserPages(start: addr + (3 << 12), nrPages: 1, flags: [.write, .longterm]))
        let (result, m) = try mirror.snapshot(addr: addr, npages: 4)
        #expect(result.cpages == 4)
        #expect(m == (device == 2 ? [0x42, 0x42, 0x02, 0x02] : [0x02, 0x02, 0x02, 0x02]))
        #expect(try process.read(addr, count: data.count) == data)
    }

    /// hmm-tests `hmm_cow_in_device`: 4 pages migrated (cpages 4), fork(), the parent
    /// writes every page (private: faulted home then copied; coherent: copied from the
    /// device), the child is killed; the snapshot is WRITE (0x02) for every page.
    @Test(arguments: HMMMigrateTests.designs, [0, 2])
    func hmmCowInDevice(_ design: Design, device: Int) throws {
        let (_, process, mirror, addr, data) = try HMMBuffer.make(design, device: device, npages: 4)
        var buffer: [UInt8] = []
        #expect(try mirror.migrateToDevice(addr: addr, npages: 4, into: &buffer).cpages == 4)
        let child = try process.fork()
        try process.write(data, at: addr)
        child.exit()
        let (result, m) = try mirror.snapshot(addr: addr, npages: 4)
        #expect(result.cpages == 4)
        #expect(m == [0x02, 0x02, 0x02, 0x02])
        #expect(mirror.device.pagesInUse == 0)
    }

    /// hmm-tests `migrate_partial_unmap_fault` (use_thp 0, MADV_NOHUGEPAGE): 2 MiB
    /// migrated (cpages 512), 1 MiB unmapped at offset 0, 512 KiB or 1 MiB, the rest
    /// faulted home and intact.
    @Test(arguments: HMMMigrateTests.designs)
    func migratePartialUnmapFault(_ design: Design) throws {
        try HMMUseTHP.partialUnmapFault(design, device: 0, thp: false)
    }

    /// hmm-tests `migrate_remap_fault` (use_thp 0): mremap(MAYMOVE|FIXED, with and
    /// without DONTUNMAP) of 2 MiB to map + 2 MiB + offset, before or after migrating it
    /// (cpages 512 either way); the data faults home intact at the new address.
    @Test(arguments: HMMMigrateTests.designs)
    func migrateRemapFault(_ design: Design) throws {
        try HMMUseTHP.remapFault(design, thp: false)
    }
}
