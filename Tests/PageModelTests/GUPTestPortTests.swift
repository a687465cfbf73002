// Ports of tools/testing/selftests/mm/gup_test.c (through the gup_test device of
// mm/gup_test.c) and gup_longterm.c on every design, with the kernel's WARN conditions as
// assertions (kernel-selftests.md §3, §4).
import Testing
@testable import PageModel
import PageLayout

@Suite struct GUPTestPortTests {
    /// gup_test's userspace: mmap RW, advise, pre-fault by writing one byte per page.
    static func mapped(_ design: Design, pages: Int, shared: Bool = false, thp: Bool = false) throws -> (Machine, Process, GUPTestDevice, UInt64) {
        let (machine, process) = try makeProcess(design, ram: 256 << 20)
        if thp { machine.thp.mode = .madvise }
        let length = UInt64(pages) << 12
        let raw = try process.mm.mmap(length: length + Paging.pmdSize, prot: [.read, .write],
                                      flags: shared ? [.shared, .anonymous] : [.private, .anonymous])
        let addr = (raw + Paging.pmdSize - 1) & Paging.pmdMask
        try process.mm.madvise(addr: addr, length: length, advice: thp ? .hugePage : .noHugePage)
        for i in 0..<pages { try process.write([UInt8(truncatingIfNeeded: i) | 1], at: addr + UInt64(i) << 12) }
        return (machine, process, GUPTestDevice(process: process), addr)
    }

    /// Every folio's references as they were before, after a command released them.
    static func references(_ machine: Machine, _ process: Process, _ addr: UInt64, _ pages: Int) -> [Int32] {
        (0..<pages).map { i in
            let pte = process.tables.entry(at: addr + UInt64(i) << 12).pte
            return machine.page(pte.pfn).flatMap(machine.pageFolio)?.refcount ?? -1
        }
    }

    @Test(arguments: Design.allCases)
    func benchmarkAndBasicCommands(design: Design) throws {
        for shared in [false, true] {
            for thp in [false, true] where !(thp && shared) {
                let pages = 600
                let (machine, process, device, addr) = try Self.mapped(design, pages: pages, shared: shared, thp: thp)
                let baseline = Self.references(machine, process, addr, pages)
                for command in GUPTestCommand.allCases where command != .dumpUserPagesTest {
                    for perCall in [1, 512, 123, pages] {
                        for write in [false, true] {
                            var args = GUPTestArgs(addr: addr, size: UInt64(pages) << 12, nrPagesPerCall: UInt32(perCall), gupFlags: write ? .write : [])
                            try device.ioctl(command, &args)
                            #expect(args.size == UInt64(pages) << 12, "\(design) \(command) -n \(perCall) shared \(shared) thp \(thp)")
                            #expect(Self.references(machine, process, addr, pages) == baseline)
                        }
                    }
                }
                #expect(machine.pinStats.outstanding == 0)
                // Each PIN_* run pinned every page once: 3 commands × 4 chunkings × 2.
                #expect(machine.pinStats.pinsAcquired == 3 * 4 * 2 * pages)
                #expect(machine.nodePinCounters(nid: 0) == (3 * 4 * 2 * pages, 3 * 4 * 2 * pages))
                #expect(machine.pinStats.falseNegatives == 0)
                #expect(machine.diagnostics.count == 0, "\(machine.diagnostics.all.map(\.reason))")
            }
        }
    }

    @Test(arguments: Design.allCases)
    func truncationAndFailuresDoNotFailTheIoctl(design: Design) throws {
        let (machine, process, device, addr) = try Self.mapped(design, pages: 8)
        // Past the mapping's end (the rest of the 2 MiB reservation is mapped, unwritten;
        // a range past the VMA ends the walk): the size comes back truncated.
        let region = try process.mmapAnon(4 << 12)
        try process.mm.munmap(addr: region + 3 << 12, length: 1 << 12)
        let tail = region
        var args = GUPTestArgs(addr: tail, size: 8 << 12, nrPagesPerCall: 2, gupFlags: .write)
        try device.ioctl(.pinBasicTest, &args)
        #expect(args.size == 4 << 12)   // 2 + 1 (short: advances to the requested chunk end and stops)
        // GUP_* with FOLL_LONGTERM: -EINVAL inside the loop, the ioctl still succeeds.
        var longterm = GUPTestArgs(addr: addr, size: 8 << 12, nrPagesPerCall: 1, gupFlags: .longterm)
        try device.ioctl(.gupBasicTest, &longterm)
        #expect(longterm.size == 0)
        #expect(machine.diagnostics.of(kind: .warn).count == 1)
        // v6.19's __gup_test_ioctl() checks only gup->size > ULONG_MAX [mm/gup_test.c]: a
        // wrapping addr + size makes `addr < gup->addr + gup->size` false at once, so no
        // GUP call runs and the ioctl succeeds with size = addr - gup->addr = 0.
        var overflow = GUPTestArgs(addr: UInt64.max - 0xfff, size: 0x2000)
        try device.ioctl(.pinBasicTest, &overflow)
        #expect(overflow.size == 0)
        // nr_pages * sizeof(void *) > INT_MAX: kvcalloc() fails (__kvmalloc_node_noprof()'s
        // WARN_ON_ONCE(size > INT_MAX) [mm/slub.c]) and the ioctl returns -ENOMEM, both
        // for the benchmark commands and for PIN_LONGTERM_TEST_START.
        var huge = GUPTestArgs(addr: addr, size: (UInt64(Int32.max) / 8 + 1) << 12)
        #expect(throws: Errno.ENOMEM) { try device.ioctl(.pinBasicTest, &huge) }
        #expect(throws: Errno.ENOMEM) { try device.startLongtermPin(addr: addr, size: (UInt64(Int32.max) / 8 + 1) << 12, flags: 0) }
        #expect(machine.diagnostics.of(kind: .warn).count == 2)   // the kvmalloc WARN_ON_ONCE: once
        #expect(machine.pinStats.outstanding == 0)
    }

    @Test(arguments: Design.allCases)
    func dumpUserPagesTest(design: Design) throws {
        // run_vmtests.sh: gup_test -ct -F 0x1 0 19 0x1000 (pages 0, 19 and 4096; the last
        // is out of range for a smaller mapping and is zeroed).
        for usePin in [false, true] {
            let (machine, process, device, addr) = try Self.mapped(design, pages: 512, thp: true)
            let baseline = Self.references(machine, process, addr, 512)
            var args = GUPTestArgs(addr: addr, size: 512 << 12, nrPagesPerCall: 1, gupFlags: .write,
                                   testFlags: usePin ? GUPTestArgs.dumpPagesUsePin : 0, whichPages: [1, 20, 4097])
            try device.ioctl(.dumpUserPagesTest, &args)
            #expect(args.size == 512 << 12)
            #expect(args.whichPages == [1, 20, 0, 0, 0, 0, 0, 0])
            #expect(device.lastDumps.map(\.index) == [0, 19])
            #expect(device.lastDumps.map(\.firstByte) == [1, 19])
            #expect(device.lastDumps.map(\.pfn) == [0, 19].map { process.tables.entry(at: addr + UInt64($0) << 12).pte.pfn + (process.tables.entry(at: addr).huge ? $0 : 0) })
            // dump_page() names the pfn it dumps.
            #expect(device.lastDumps.allSatisfy { $0.dump.contains("pfn:0x\(String($0.pfn, radix: 16))") })
            #expect(Self.references(machine, process, addr, 512) == baseline)
            #expect(machine.pinStats.pinsAcquired == (usePin ? 512 : 0))
            #expect(machine.pinStats.outstanding == 0)
        }
    }

    // MARK: PIN_LONGTERM_TEST

    @Test(arguments: Design.allCases)
    func pinLongtermTestStartReadStop(design: Design) throws {
        let (machine, process, device, addr) = try Self.mapped(design, pages: 4)
        #expect(throws: Errno.EINVAL) { try device.readLongtermPin() }
        #expect(throws: Errno.EINVAL) { try device.startLongtermPin(addr: addr, size: 4 << 12, flags: 4) }
        #expect(throws: Errno.EINVAL) { try device.startLongtermPin(addr: addr + 1, size: 4 << 12, flags: 0) }
        #expect(throws: Errno.EINVAL) { try device.startLongtermPin(addr: addr, size: 0, flags: 0) }
        for flags: UInt32 in [0, 1, 2, 3] {
            try device.startLongtermPin(addr: addr, size: 4 << 12, flags: flags)
            #expect(throws: Errno.EINVAL) { try device.startLongtermPin(addr: addr, size: 4 << 12, flags: flags) }
            try process.write([0xee], at: addr + 2 << 12)
            let bytes = try device.readLongtermPin()
            #expect(bytes.count == 4 << 12)
            #expect(bytes[0] == 1 && bytes[1 << 12] == 1 && bytes[2 << 12] == 0xee && bytes[3 << 12] == 3)
            #expect(machine.pinStats.outstanding == 4)
            device.stopLongtermPin()
            #expect(machine.pinStats.outstanding == 0)
        }
        device.stopLongtermPin()
        // Nothing mapped at all: EFAULT, nothing left pinned.
        #expect(throws: Errno.EFAULT) { try device.startLongtermPin(addr: 0x10000, size: 1 << 12, flags: 0) }
        #expect(machine.pinStats.outstanding == 0)
    }

    // MARK: gup_longterm.c

    /// do_test(): one page of `kind`'s file, mapped shared or private, populated, made
    /// R/O for the R/O cases, then PIN_LONGTERM_TEST_START; returns the errno (nil: the
    /// pin worked).
    static func gupLongtermCase(_ design: Design, kind: FilesystemKind, shared: Bool, rw: Bool, fast: Bool) throws -> Errno? {
        let (machine, process) = try makeProcess(design)
        let fs = Filesystem(machine: machine, kind: kind)
        let file = kind == .shmem ? try fs.memfdCreate(name: "gup_longterm") : try fs.tmpfile()
        try file.pwrite([UInt8](repeating: 0, count: 4096), offset: 0)   // ftruncate + fallocate
        let addr = try process.mm.mmap(length: 4096, prot: [.read, .write], flags: shared ? .shared : .private, file: file)
        try process.write([UInt8](repeating: 0, count: 4096), at: addr)   // memset(0)
        if !rw { try process.mm.mprotect(addr: addr, length: 4096, prot: [.read]) }
        let device = GUPTestDevice(process: process)
        var flags: UInt32 = 0
        if fast { flags |= GUPTestDevice.longtermUseFast }
        if rw { flags |= GUPTestDevice.longtermUseWrite }
        defer { device.stopLongtermPin() }
        do {
            try device.startLongtermPin(addr: addr, size: 4096, flags: flags)
        } catch {
            #expect(machine.pinStats.outstanding == 0)
            return error
        }
        #expect(machine.pinStats.outstanding == 1)
        return nil
    }

    @Test(arguments: Design.allCases)
    func gupLongtermMatrix(design: Design) throws {
        for kind in [FilesystemKind.shmem, .disk] {
            for shared in [true, false] {
                for rw in [true, false] {
                    for fast in [false, true] {
                        // should_work = !shared || !rw || fs is tmpfs/hugetlbfs.
                        let shouldWork = !shared || !rw || kind == .shmem
                        let result = try Self.gupLongtermCase(design, kind: kind, shared: shared, rw: rw, fast: fast)
                        #expect(result == (shouldWork ? nil : Errno.EFAULT), "\(design) \(kind) shared \(shared) rw \(rw) fast \(fast)")
                    }
                }
            }
        }
    }

    /// io_uring fixed buffers: always FOLL_WRITE|FOLL_PIN|FOLL_LONGTERM.
    @Test func ioUringFixedBufferRows() throws {
        for kind in [FilesystemKind.shmem, .disk] {
            for shared in [true, false] {
                let (machine, process) = try makeProcess()
                let fs = Filesystem(machine: machine, kind: kind)
                let file = try fs.tmpfile()
                try file.pwrite([UInt8](repeating: 0, count: 4096), offset: 0)
                let addr = try process.mm.mmap(length: 4096, prot: [.read, .write], flags: shared ? .shared : .private, file: file)
                try process.write([0], at: addr)
                let shouldWork = !shared || kind == .shmem
                do {
                    let pages = try process.pinUserPages(start: addr, nrPages: 1, flags: [.write, .longterm])
                    #expect(shouldWork)
                    machine.unpinUserPages(pages)
                } catch {
                    #expect(!shouldWork && error == .EFAULT)
                }
            }
        }
    }
}
