// The mirror's device page table kept coherent by its mmu interval notifier
// (lib/test_hmm.c v6.19: dmirror_interval_invalidate(), dmirror_do_update(),
// dmirror_range_fault()): a CPU munmap, mprotect, fork or exit empties the affected part
// of the device page table; the device's own migrations (MMU_NOTIFY_MIGRATE with its
// pgmap owner) do not, another device's do. dmirror_do_update() erases the inclusive
// range [start >> PAGE_SHIFT, end >> PAGE_SHIFT], so the page just after the range goes
// too: the expected counts below include it.
//
// Designs: every design for system memory; every design but lru-pinned-rearranged where
// device memory is involved (see HMMMigrateTests).
import PageLayout
@testable import PageModel
import Testing

@Suite struct HMMNotifierTests {
    static let npages = 16

    static func ptCount(_ mirror: DeviceMirror) -> Int { mirror.pt.withLock { $0.count } }

    /// READ maps every page; munmap of the upper half erases it (UNMAP), and the next
    /// READ of the whole range is -EFAULT (hmm_range_fault() must fault in a hole).
    @Test(arguments: Design.allCases)
    func munmapInvalidatesDevicePageTable(_ design: Design) throws {
        let n = Self.npages
        let (_, process, mirror, addr, _) = try HMMBuffer.make(design, device: 0, npages: n)
        var buffer: [UInt8] = []
        #expect(try mirror.read(addr: addr, npages: UInt64(n), into: &buffer) == DeviceMirror.Result(cpages: n, faults: 1))
        #expect(Self.ptCount(mirror) == n)
        try process.mm.munmap(addr: addr + UInt64(n / 2) << 12, length: UInt64(n / 2) << 12)
        #expect(Self.ptCount(mirror) == n / 2)
        #expect(throws: Errno.EFAULT) { try mirror.read(addr: addr, npages: UInt64(n), into: &buffer) }
        #expect(try mirror.read(addr: addr, npages: UInt64(n / 2), into: &buffer) == DeviceMirror.Result(cpages: n / 2, faults: 0))
    }

    /// mprotect(PROT_READ) erases the device's write mappings (PROTECTION_VMA), so a
    /// device WRITE must fault again and gets -EPERM; READ faults again (faults == 1).
    @Test(arguments: Design.allCases)
    func mprotectInvalidatesDevicePageTable(_ design: Design) throws {
        let n = Self.npages
        let (_, process, mirror, addr, data) = try HMMBuffer.make(design, device: 0, npages: n, filled: false)
        #expect(try mirror.write(addr: addr, npages: UInt64(n), from: data) == DeviceMirror.Result(cpages: n, faults: 1))
        try process.mm.mprotect(addr: addr, length: UInt64(n) << 12, prot: [.read])
        #expect(Self.ptCount(mirror) == 0)
        #expect(throws: Errno.EPERM) { try mirror.write(addr: addr, npages: UInt64(n), from: data) }
        var buffer: [UInt8] = []
        #expect(try mirror.read(addr: addr, npages: UInt64(n), into: &buffer) == DeviceMirror.Result(cpages: n, faults: 1))
        #expect(buffer == data)
    }

    /// fork() write-protects the parent's pages (PROTECTION_PAGE): the device loses its
    /// write mappings, so its next WRITE faults (COW) and lands in the parent's new
    /// pages, never in the pages the child now shares (which a stale device page table
    /// would have written).
    @Test(arguments: Design.allCases)
    func forkInvalidatesDevicePageTable(_ design: Design) throws {
        let n = Self.npages
        let (_, process, mirror, addr, data) = try HMMBuffer.make(design, device: 0, npages: n)
        var buffer: [UInt8] = []
        #expect(try mirror.write(addr: addr, npages: UInt64(n), from: data).faults == 1)
        let child = try process.fork()
        #expect(Self.ptCount(mirror) == 0)
        let other = HMMMigrateTests.pattern(n, plus: 0x1000)
        #expect(try mirror.write(addr: addr, npages: UInt64(n), from: other) == DeviceMirror.Result(cpages: n, faults: 1))
        #expect(try process.read(addr, count: data.count) == other)
        #expect(try child.read(addr, count: data.count) == data)
        #expect(try mirror.read(addr: addr, npages: UInt64(n), into: &buffer).faults == 0)
        #expect(buffer == other)
        child.exit()
    }

    /// mprotect() of device-resident memory: PROTECTION_VMA empties the device's page
    /// table (it is not a MIGRATE event), and change_pte_range() makes each writable
    /// device-private entry readable (type 29): the snapshot is DEV_PRIVATE_LOCAL|READ
    /// (0x21) and a device WRITE is -EPERM; the CPU reads the data home read-only and,
    /// after mprotect(RW), writes it.
    @Test(arguments: HMMMigrateTests.designs)
    func mprotectOfDeviceResidentMemory(_ design: Design) throws {
        let n = 4
        let (_, process, mirror, addr, data) = try HMMBuffer.make(design, device: 0, npages: n)
        var buffer: [UInt8] = []
        #expect(try mirror.migrateToDevice(addr: addr, npages: UInt64(n), into: &buffer).cpages == n)
        #expect(Self.ptCount(mirror) == n)
        try process.mm.mprotect(addr: addr, length: UInt64(n) << 12, prot: [.read])
        #expect(Self.ptCount(mirror) == 0)
        let entry = try #require(process.tables.withPTELock(addr) { slot, _ in slot.load() })
        #expect(entry.swapEntry?.type == 29)
        #expect(try mirror.snapshot(addr: addr, npages: UInt64(n)).1 == [0x21, 0x21, 0x21, 0x21])
        #expect(throws: Errno.EPERM) { try mirror.write(addr: addr, npages: UInt64(n), from: data) }
        #expect(try process.read(addr, count: data.count) == data)
        #expect(mirror.device.pagesInUse == 0)
        try process.mm.mprotect(addr: addr, length: UInt64(n) << 12, prot: [.read, .write])
        try process.write([0xab], at: addr)
        #expect(try process.read(addr, count: 2) == [0xab, data[1]])
    }

    /// try_to_migrate_one() and try_to_unmap_one() (MMU_NOTIFY_CLEAR): after the CPU's
    /// page migration (move_pages()) or MADV_PAGEOUT to swap, the device no longer maps
    /// the old page; READ faults again (faults == 1) and reads the data from where it is
    /// now, never from the freed frame.
    @Test(arguments: Design.allCases)
    func pageMigrationAndSwapOutInvalidate(_ design: Design) throws {
        let n = 4
        let (machine, process, mirror, addr, data) = try HMMBuffer.make(design, device: 0, npages: n)
        _ = try machine.swap.swapon(slots: 256)
        var buffer: [UInt8] = []
        #expect(try mirror.read(addr: addr, npages: UInt64(n), into: &buffer).faults == 1)
        let before = mirror.pt.withLock { $0[addr >> 12]?.pfn }
        #expect(process.migrate(addr, length: 4096, toNode: nil).migrated.count == 1)
        #expect(mirror.pt.withLock { $0[addr >> 12] } == nil)
        #expect(try mirror.read(addr: addr, npages: UInt64(n), into: &buffer) == DeviceMirror.Result(cpages: n, faults: 1))
        #expect(buffer == data)
        #expect(mirror.pt.withLock { $0[addr >> 12]?.pfn } != before)
        try process.mm.madvise(addr: addr + (2 << 12), length: 1 << 12, advice: .pageOut)
        #expect(mirror.pt.withLock { $0[(addr >> 12) + 2] } == nil)
        #expect(try mirror.read(addr: addr, npages: UInt64(n), into: &buffer) == DeviceMirror.Result(cpages: n, faults: 1))
        #expect(buffer == data)
    }

    /// exit_mmap(): RELEASE over the whole address space empties the device page table.
    @Test(arguments: Design.allCases)
    func exitEmptiesDevicePageTable(_ design: Design) throws {
        let (_, process, mirror) = try HMMMigrateTests.setup(design, device: 0)
        let addr = try process.mmapAnon(4 << 12)
        var buffer: [UInt8] = []
        _ = try mirror.read(addr: addr, npages: 4, into: &buffer)
        #expect(Self.ptCount(mirror) == 4)
        process.exit()
        #expect(Self.ptCount(mirror) == 0)
    }

    /// dmirror_interval_invalidate() ignores MMU_NOTIFY_MIGRATE of its own pgmap owner:
    /// device 0 migrating pages 0-7 keeps its other entries and its sequence count, and
    /// maps the migrated pages itself; device 1's mirror of the same process is
    /// invalidated over pages 0-8 (the inclusive end) and keeps pages 9-15.
    @Test(arguments: HMMMigrateTests.designs, [0, 2])
    func ownMigrationDoesNotInvalidate(_ design: Design, device: Int) throws {
        let n = Self.npages
        let (_, _, mirror, other, addr, data) = try HMMBuffer.makeWithSecondMirror(design, device: device, npages: n)
        var buffer: [UInt8] = []
        _ = try mirror.read(addr: addr, npages: UInt64(n), into: &buffer)
        _ = try other.read(addr: addr, npages: UInt64(n), into: &buffer)
        let sub = try #require(mirror.notifier), otherSub = try #require(other.notifier)
        let seq = sub.readBegin(), otherSeq = otherSub.readBegin()
        #expect(try mirror.migrateToDevice(addr: addr, npages: UInt64(n / 2), into: &buffer).cpages == n / 2)
        #expect(buffer == Array(data[..<(n / 2 * 4096)]))
        #expect(!sub.readRetry(seq))
        #expect(otherSub.readRetry(otherSeq))
        #expect(Self.ptCount(mirror) == n)
        #expect(Self.ptCount(other) == n - (n / 2 + 1))
        // The device's own copy is what it reads back; device 1 faults the pages home.
        #expect(try mirror.read(addr: addr, npages: UInt64(n), into: &buffer) == DeviceMirror.Result(cpages: n, faults: 0))
        #expect(buffer == data)
        #expect(try other.read(addr: addr, npages: UInt64(n), into: &buffer).faults == 1)
        #expect(buffer == data)
    }

    /// hmm-tests `anon_teardown` (the unmapping thread without its random delay): READ
    /// races a munmap of the upper half. Either READ wins (0, cpages == npages,
    /// faults == 1, the pattern) or it fails; either way the device page table keeps
    /// nothing of the unmapped half afterwards.
    @Test(arguments: [Design.mainline, .memdesc8])
    func anonTeardown(_ design: Design) async throws {
        let n = 64
        for c in 0..<4 {
            let (_, process, mirror) = try HMMMigrateTests.setup(design, device: 0)
            let addr = try process.mmapAnon(UInt64(n) << 12)
            let data = HMMMigrateTests.pattern(n, plus: UInt32(c))
            try process.write(data, at: addr)
            let unmapper = Task.detached { try process.mm.munmap(addr: addr + UInt64(n / 2) << 12, length: UInt64(n / 2) << 12) }
            var buffer: [UInt8] = []
            if let result = try? mirror.read(addr: addr, npages: UInt64(n), into: &buffer) {
                #expect(result == DeviceMirror.Result(cpages: n, faults: 1))
                #expect(buffer == data)
            }
            try await unmapper.value
            let upper = UInt64(addr >> 12) + UInt64(n / 2)
            #expect(mirror.pt.withLock { pt in pt.keys.allSatisfy { $0 < upper } })
        }
    }
}
