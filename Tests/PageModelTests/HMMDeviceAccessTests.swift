// hmm-tests.c (tools/testing/selftests/mm/hmm-tests.c, v6.19) device-access cases through
// the model's dmirror READ / WRITE / SNAPSHOT (lib/test_hmm.c) over hmm_range_fault()
// (mm/hmm.c): anon_read, anon_read_prot, anon_write, the -EPERM of a write to a read-only
// VMA, and the snapshot bytes of system, zero-page and device-private memory. Buffers are
// 256 pages rather than the kernel's 1024 to keep the debug-build suite fast; every
// expected count is the kernel's (cpages == npages, faults == 1).
//
// Designs: every design but lru-pinned-rearranged (see HMMMigrateTests).
// Not here: the THP/hugetlb snapshots (compound), mixedmap (the mirror is not a file);
// the other cases are in HMMSelftestPortTests, HMMNotifierTests, HMMExclusiveTests.
import PageLayout
@testable import PageModel
import Testing

@Suite struct HMMDeviceAccessTests {
    static let npages = 256

    /// hmm-tests `anon_read`: pattern everywhere but pages 0-1, mprotect(PROT_READ), the
    /// CPU reads page 1 (zero page), page 0 stays pte_none; READ gives 0, cpages ==
    /// npages, faults == 1, pages 0-1 read as zero and the rest as the pattern.
    @Test(arguments: HMMMigrateTests.designs)
    func anonRead(_ design: Design) throws {
        let n = Self.npages
        let (_, process, mirror, addr, data) = try HMMBuffer.make(design, device: 0, npages: n, filled: false)
        try process.write(Array(data[8192...]), at: addr + 8192)
        try process.mm.mprotect(addr: addr, length: UInt64(n) << 12, prot: [.read])
        #expect(try process.read(addr + 4096, count: 4) == [0, 0, 0, 0])
        var buffer: [UInt8] = []
        let result = try mirror.read(addr: addr, npages: UInt64(n), into: &buffer)
        #expect(result == DeviceMirror.Result(cpages: n, faults: 1))
        #expect(buffer[..<8192].allSatisfy { $0 == 0 })
        #expect(buffer[8192...] == data[8192...])
    }

    /// hmm-tests `anon_read_prot`: a PROT_NONE VMA is -EFAULT and nothing is copied out.
    @Test func anonReadProt() throws {
        let n = Self.npages
        let (_, process, mirror, addr, data) = try HMMBuffer.make(.mainline, device: 0, npages: n)
        try process.mm.mprotect(addr: addr, length: UInt64(n) << 12, prot: [])
        var buffer: [UInt8] = [0xee]
        #expect(throws: Errno.EFAULT) { try mirror.read(addr: addr, npages: UInt64(n), into: &buffer) }
        #expect(buffer == [0xee])
        try process.mm.mprotect(addr: addr, length: UInt64(n) << 12, prot: [.read])
        #expect(try process.read(addr, count: data.count) == data)
    }

    /// hmm-tests `anon_write`: WRITE into an unpopulated RW mapping gives 0, cpages ==
    /// npages, faults == 1, and the CPU sees the pattern. A write into a read-only VMA
    /// is -EPERM (hmm_vma_fault(), as `exclusive_mprotect` expects).
    @Test(arguments: HMMMigrateTests.designs)
    func anonWrite(_ design: Design) throws {
        let n = Self.npages
        let (_, process, mirror, addr, data) = try HMMBuffer.make(design, device: 0, npages: n, filled: false)
        #expect(try mirror.write(addr: addr, npages: UInt64(n), from: data) == DeviceMirror.Result(cpages: n, faults: 1))
        #expect(try process.read(addr, count: data.count) == data)
        let ro = try process.mmapAnon(4 << 12, prot: [.read])
        #expect(throws: Errno.EPERM) { try mirror.write(addr: ro, npages: 4, from: Array(data[..<16384])) }
    }

    /// hmm_vma_walk_test() (mm/hmm.c): a VMA with VM_IO or VM_PFNMAP (or without VM_READ)
    /// is not walked. With HMM_PFN_REQ_FAULT hmm_range_need_fault() says a fault is
    /// needed and hmm_range_fault() is -EFAULT (READ and WRITE fail with it); without it
    /// the range is filled with HMM_PFN_ERROR and the walk goes on to the next VMA, so a
    /// SNAPSHOT reads 0xff (HMM_DMIRROR_PROT_ERROR) there and the ordinary page after it
    /// as 0x00 (pte_none, not valid).
    @Test(arguments: [VMFlags.io, .pfnMap, [.io, .pfnMap]])
    func ioAndPfnmapVMAsAreNotWalked(_ special: VMFlags) throws {
        let (_, process, mirror) = try HMMMigrateTests.setup(.mainline, device: 0)
        let start: UInt64 = 0x7000_0000
        process.mm.mmapLock.withWriteLock {
            process.mm.lockedLinkVMA(start: start, end: start + 0x2000, pgoff: 0,
                                     flags: special.union([.read, .write, .mayRead, .mayWrite]))
        }
        let after = try process.mm.mmap(addr: start + 0x2000, length: 1 << 12, prot: [.read, .write], flags: [.private, .anonymous, .fixed])
        #expect(after == start + 0x2000)
        var buffer: [UInt8] = [0xee]
        #expect(throws: Errno.EFAULT) { try mirror.read(addr: start, npages: 2, into: &buffer) }
        #expect(buffer == [0xee])
        #expect(throws: Errno.EFAULT) { try mirror.write(addr: start, npages: 2, from: [UInt8](repeating: 1, count: 2 << 12)) }
        #expect(try mirror.snapshot(addr: start, npages: 3).1 == [0xff, 0xff, 0x00])
        var range = HMMRange(start: start, end: start + 0x3000, defaultFlags: HMMPFN.reqFault)
        let tables = process.tables
        #expect(throws: Errno.EFAULT) {
            try process.mm.mmapLock.withReadLock { () throws(Errno) in try tables.hmmRangeFault(&range) }
        }
        var peek = HMMRange(start: start, end: start + 0x3000)
        try process.mm.mmapLock.withReadLock { () throws(Errno) in try tables.hmmRangeFault(&peek) }
        #expect(peek.hmmPfns == [HMMPFN.error, HMMPFN.error, 0])
    }

    /// SNAPSHOT bytes (dmirror_mkentry()): a written page 0x02 (WRITE), the zero page
    /// 0x11 (ZERO|READ), pte_none 0x00, a hole 0xff (ERROR); after migrating to device 0
    /// its pages are 0x22 (DEV_PRIVATE_LOCAL|WRITE) from device 0 and 0x00 from device 1
    /// (another owner's private page is not reported without a fault request).
    @Test func snapshotEncoding() throws {
        let (machine, process, mirror) = try HMMMigrateTests.setup(.mainline, device: 0)
        let addr = try process.mmapAnon(3 << 12)
        try process.write([1], at: addr)
        _ = try process.read(addr + 4096, count: 1)
        let (result, bytes) = try mirror.snapshot(addr: addr, npages: 4)
        #expect(result.cpages == 4)
        #expect(bytes == [0x02, 0x11, 0x00, 0xff])
        var buffer: [UInt8] = []
        _ = try mirror.migrateToDevice(addr: addr, npages: 3, into: &buffer)
        #expect(try mirror.snapshot(addr: addr, npages: 3).1 == [0x22, 0x22, 0x22])
        let other = DeviceMirror(device: try DeviceMirrorDevice(machine: machine, id: 1), process: process)
        #expect(try other.snapshot(addr: addr, npages: 3).1 == [0x00, 0x00, 0x00])
        // READ through device 1 faults device 0's pages back (migrate_to_ram()).
        #expect(try other.read(addr: addr, npages: 3, into: &buffer).cpages == 3)
        #expect(buffer[0] == 1)
        #expect(try mirror.snapshot(addr: addr, npages: 3).1.allSatisfy { $0 & 0xf0 == 0 })
    }
}
