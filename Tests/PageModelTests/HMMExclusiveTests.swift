// Device-exclusive access: hmm-tests.c (v6.19) `exclusive`, `exclusive_mprotect` and
// `exclusive_cow` with the kernel's expected values, plus what mm/rmap.c's
// make_device_exclusive() and mm/memory.c's remove_device_exclusive_entry(),
// copy_nonpresent_pte() and zap_nonpresent_ptes() say of the entries: one
// SWP_DEVICE_EXCLUSIVE type (30), the folio keeps its mapping and the PTE's reference,
// CPU access (and GUP, which faults) restores the PTE and revokes the device's atomic
// mapping (CHECK_EXCLUSIVE 0), fork restores it before copying, zap frees it.
// Buffers are 256 pages rather than HMM_BUFFER_SIZE's 1024 to keep the debug build fast.
//
// Designs: every design (device-exclusive entries point to system memory).
import PageLayout
@testable import PageModel
import Testing

@Suite struct HMMExclusiveTests {
    static let npages = 256

    /// The little-endian int at index `i` of `bytes`.
    static func int(_ bytes: [UInt8], _ i: Int) -> UInt32 {
        UInt32(bytes[4 * i]) | UInt32(bytes[4 * i + 1]) << 8 | UInt32(bytes[4 * i + 2]) << 16 | UInt32(bytes[4 * i + 3]) << 24
    }

    /// hmm-tests `exclusive`: EXCLUSIVE gives 0, cpages == npages and the pattern; while
    /// exclusive, CHECK_EXCLUSIVE is -EPERM; the CPU then reads and increments every int
    /// (each page's first access faults the PTE back), sees i + 1, and CHECK_EXCLUSIVE is 0.
    @Test(arguments: Design.allCases)
    func exclusive(_ design: Design) throws {
        let n = Self.npages
        let (machine, process, mirror, addr, data) = try HMMBuffer.make(design, device: 0, npages: n)
        var buffer: [UInt8] = []
        #expect(try mirror.exclusive(addr: addr, npages: UInt64(n), into: &buffer).cpages == n)
        #expect(buffer == data)
        #expect(throws: Errno.EPERM) { try mirror.checkExclusive(addr: addr, npages: UInt64(n)) }
        let entry = try #require(process.tables.withPTELock(addr) { slot, _ in slot.load() })
        #expect(entry.softLeaf == .deviceExclusive)
        #expect(entry.swapEntry?.type == 30)
        let pfn = try #require(entry.devicePfn)
        let folio = try #require(machine.page(pfn).flatMap { machine.pageFolio($0) })
        #expect(folio.refcount == 1)
        #expect(machine.folioMapcount(folio) == 1)
        #expect(!folio.isLocked)
        try process.write(HMMMigrateTests.pattern(n, plus: 1), at: addr)
        #expect(try process.read(addr, count: data.count) == HMMMigrateTests.pattern(n, plus: 1))
        try mirror.checkExclusive(addr: addr, npages: UInt64(n))
        let restored = try #require(process.tables.withPTELock(addr) { slot, _ in slot.load() })
        #expect(restored.isPresent && restored.isWritable && restored.pfn == folio.pfn)
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption }.isEmpty)
    }

    /// hmm-tests `exclusive_mprotect`: after EXCLUSIVE (0, cpages == npages, the
    /// pattern), mprotect(PROT_READ) and a device WRITE is -EPERM.
    @Test(arguments: Design.allCases)
    func exclusiveMprotect(_ design: Design) throws {
        let n = Self.npages
        let (_, process, mirror, addr, data) = try HMMBuffer.make(design, device: 0, npages: n)
        var buffer: [UInt8] = []
        #expect(try mirror.exclusive(addr: addr, npages: UInt64(n), into: &buffer).cpages == n)
        #expect(buffer == data)
        try process.mm.mprotect(addr: addr, length: UInt64(n) << 12, prot: [.read])
        #expect(throws: Errno.EPERM) { try mirror.write(addr: addr, npages: UInt64(n), from: data) }
        // The CPU still reads the data (the entry is restored read-only).
        #expect(try process.read(addr, count: data.count) == data)
        let entry = try #require(process.tables.withPTELock(addr) { slot, _ in slot.load() })
        #expect(entry.isPresent && !entry.isWritable)
    }

    /// hmm-tests `exclusive_cow`: after EXCLUSIVE, fork(); parent and child each read
    /// i and write i + 1 into their own copy. fork restored the entries (present,
    /// write-protected in both, the page shared: mapcount 2) before copying them.
    @Test(arguments: Design.allCases)
    func exclusiveCow(_ design: Design) throws {
        let n = Self.npages
        let (machine, process, mirror, addr, data) = try HMMBuffer.make(design, device: 0, npages: n)
        var buffer: [UInt8] = []
        #expect(try mirror.exclusive(addr: addr, npages: UInt64(n), into: &buffer).cpages == n)
        let child = try process.fork()
        for p in [process, child] {
            let entry = try #require(p.tables.withPTELock(addr) { slot, _ in slot.load() })
            #expect(entry.isPresent && !entry.isWritable)
            let folio = try #require(machine.page(entry.pfn).flatMap { machine.pageFolio($0) })
            #expect(machine.folioMapcount(folio) == 2)
        }
        for p in [process, child] {
            let bytes = try p.read(addr, count: data.count)
            #expect(bytes == data)
            try p.write(HMMMigrateTests.pattern(n, plus: 1), at: addr)
        }
        for p in [process, child] {
            let bytes = try p.read(addr, count: data.count)
            #expect((0..<(n * 1024)).allSatisfy { Self.int(bytes, $0) == UInt32($0) + 1 })
        }
        child.exit()
    }

    /// GUP on a device-exclusive entry faults (do_swap_page() ->
    /// remove_device_exclusive_entry()) and pins the restored page: the device's atomic
    /// mapping is revoked.
    @Test(arguments: Design.allCases)
    func gupRevokesExclusiveAccess(_ design: Design) throws {
        let (machine, process, mirror) = try HMMMigrateTests.setup(design, device: 0)
        let addr = try process.mmapAnon(2 << 12)
        try process.write([1, 2], at: addr)
        var buffer: [UInt8] = []
        #expect(try mirror.exclusive(addr: addr, npages: 2, into: &buffer).cpages == 2)
        let pinned = try process.pinUserPages(start: addr, nrPages: 1, flags: [.write])
        #expect(pinned.count == 1)
        // The fault's MMU_NOTIFY_CLEAR over page 0 erases pages 0 and 1 of the device page
        // table (dmirror_do_update()'s inclusive end), although page 1's CPU entry is still
        // device-exclusive.
        try mirror.checkExclusive(addr: addr, npages: 2)
        let entry = try #require(process.tables.withPTELock(addr) { slot, _ in slot.load() })
        #expect(entry.isPresent)
        let next = try #require(process.tables.withPTELock(addr + 4096) { slot, _ in slot.load() })
        #expect(next.softLeaf == .deviceExclusive)
        machine.unpinUserPages(pinned)
        #expect(try process.read(addr, count: 2) == [1, 2])
    }

    /// zap_nonpresent_ptes(): munmap of exclusive entries drops their mapping and the
    /// PTE's reference: with a reference of the test's own held across the munmap, each
    /// folio is left with refcount 1 and no mapping; putting it frees the page. No
    /// diagnostic.
    @Test(arguments: Design.allCases)
    func unmapFreesExclusivePages(_ design: Design) throws {
        let n = 8
        let (machine, process, mirror, addr, _) = try HMMBuffer.make(design, device: 0, npages: n)
        var buffer: [UInt8] = []
        _ = try mirror.exclusive(addr: addr, npages: UInt64(n), into: &buffer)
        let folios = try (0..<n).map { i -> Folio in
            let pfn = try #require(process.tables.withPTELock(addr + UInt64(i) << 12) { s, _ in s.load() }?.devicePfn)
            let folio = try #require(machine.page(pfn).flatMap { machine.pageFolio($0) })
            folio.get()
            return folio
        }
        try process.mm.munmap(addr: addr, length: UInt64(n) << 12)
        #expect(folios.map(\.refcount) == Array(repeating: 1, count: n))
        #expect(folios.allSatisfy { machine.folioMapcount($0) == 0 })
        folios.forEach { machine.folioPut($0) }
        #expect(mirror.pt.withLock { $0.isEmpty })
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption || $0.kind == .warn }.isEmpty)
    }

    /// make_device_exclusive()'s refusals: a hole and a VMA without VM_WRITE are GUP's
    /// -EFAULT (FOLL_WRITE), a shared anonymous (shmem) page is not anonymous:
    /// -EOPNOTSUPP. Pages before the failing one stay exclusive.
    @Test func exclusiveErrors() throws {
        let (_, process, mirror) = try HMMMigrateTests.setup(.mainline, device: 0)
        var buffer: [UInt8] = []
        let addr = try process.mmapAnon(2 << 12)
        #expect(throws: Errno.EFAULT) { try mirror.exclusive(addr: addr, npages: 3, into: &buffer) }
        #expect(throws: Errno.EPERM) { try mirror.checkExclusive(addr: addr, npages: 2) }
        let ro = try process.mmapAnon(2 << 12, prot: [.read])
        #expect(throws: Errno.EFAULT) { try mirror.exclusive(addr: ro, npages: 1, into: &buffer) }
        let shared = try process.mmapAnon(2 << 12, flags: [.shared, .anonymous])
        #expect(throws: Errno.EOPNOTSUPP) { try mirror.exclusive(addr: shared, npages: 1, into: &buffer) }
    }
}
