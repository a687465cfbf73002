// The dmirror ioctl contract's refusals (lib/test_hmm.c v6.19) and the device memory's
// consistency after them: dmirror_fops_unlocked_ioctl()'s range checks (unaligned
// address, a zero or overflowing length: -EINVAL for every command),
// dmirror_migrate_to_device()/_system()'s vma_lookup() and VM_READ checks (-EINVAL),
// hmm_range_fault()'s (-EFAULT for a fault needed in a hole or a VMA without VM_READ;
// a snapshot reports HMM_DMIRROR_PROT_ERROR), make_device_exclusive()'s (GUP's -EFAULT),
// a page on another device (not selected by migrate_vma: -ENOENT from MIGRATE_TO_DEV,
// cpages 0 from MIGRATE_TO_SYS), HMM_DMIRROR_FLAG_FAIL_ALLOC in both directions, and a
// leak check: after RELEASE and after exit every device page is back on its device's
// free list and every backing page freed.
import PageLayout
@testable import PageModel
import Testing

@Suite struct HMMBadInputTests {
    /// Every range-taking command: unaligned address, zero pages, a range past the top
    /// of the address space.
    @Test func everyCommandChecksItsRange() throws {
        let (_, process, mirror) = try HMMMigrateTests.setup(.mainline, device: 0)
        let addr = try process.mmapAnon(4 << 12)
        var buffer: [UInt8] = []
        let bytes = [UInt8](repeating: 0, count: 8 << 12)
        let commands: [(String, (UInt64, UInt64) throws(Errno) -> Void)] = [
            ("READ", { a, n throws(Errno) in _ = try mirror.read(addr: a, npages: n, into: &buffer) }),
            ("WRITE", { a, n throws(Errno) in _ = try mirror.write(addr: a, npages: n, from: bytes) }),
            ("MIGRATE_TO_DEV", { a, n throws(Errno) in _ = try mirror.migrateToDevice(addr: a, npages: n, into: &buffer) }),
            ("MIGRATE_TO_SYS", { a, n throws(Errno) in _ = try mirror.migrateToSystem(addr: a, npages: n) }),
            ("EXCLUSIVE", { a, n throws(Errno) in _ = try mirror.exclusive(addr: a, npages: n, into: &buffer) }),
            ("CHECK_EXCLUSIVE", { a, n throws(Errno) in try mirror.checkExclusive(addr: a, npages: n) }),
            ("SNAPSHOT", { a, n throws(Errno) in _ = try mirror.snapshot(addr: a, npages: n) }),
        ]
        for (name, command) in commands {
            for (a, n) in [(addr + 1, UInt64(1)), (addr, 0), (UInt64.max & ~0xfff, 2), (addr, UInt64.max >> 11)] {
                #expect(throws: Errno.EINVAL, "\(name) at 0x\(String(a, radix: 16)) x \(n)") { try command(a, n) }
            }
        }
        #expect(mirror.device.pagesInUse == 0)
    }

    /// A range with no VMA and a PROT_NONE VMA.
    @Test(arguments: [false, true])
    func holeAndNoVMRead(_ protNone: Bool) throws {
        let (_, process, mirror) = try HMMMigrateTests.setup(.mainline, device: 0)
        let addr = try process.mmapAnon(4 << 12)
        if protNone { try process.mm.mprotect(addr: addr, length: 4 << 12, prot: []) } else { try process.mm.munmap(addr: addr, length: 4 << 12) }
        var buffer: [UInt8] = []
        #expect(throws: Errno.EINVAL) { try mirror.migrateToDevice(addr: addr, npages: 4, into: &buffer) }
        #expect(throws: Errno.EINVAL) { try mirror.migrateToSystem(addr: addr, npages: 4) }
        #expect(throws: Errno.EFAULT) { try mirror.read(addr: addr, npages: 4, into: &buffer) }
        #expect(throws: Errno.EFAULT) { try mirror.write(addr: addr, npages: 4, from: [UInt8](repeating: 1, count: 4 << 12)) }
        #expect(throws: Errno.EFAULT) { try mirror.exclusive(addr: addr, npages: 4, into: &buffer) }
        #expect(try mirror.snapshot(addr: addr, npages: 4) == (DeviceMirror.Result(cpages: 4), [0xff, 0xff, 0xff, 0xff]))
        try mirror.checkExclusive(addr: addr, npages: 4)
        #expect(mirror.device.pagesInUse == 0)
    }

    /// Pages resident on device 1 (3): device 0 (2) cannot migrate them to itself
    /// (-ENOENT: migrate_vma selects only system pages, or its own) nor to system memory
    /// (cpages 0); they stay where they are, and their own device brings them home.
    @Test(arguments: HMMMigrateTests.designs, [0, 2])
    func pageOnAnotherDevice(_ design: Design, device: Int) throws {
        let n = 8
        let (_, process, mirror, owner, addr, data) = try HMMBuffer.makeWithSecondMirror(design, device: device, npages: n)
        var buffer: [UInt8] = []
        #expect(try owner.migrateToDevice(addr: addr, npages: UInt64(n), into: &buffer).cpages == n)
        #expect(throws: Errno.ENOENT) { try mirror.migrateToDevice(addr: addr, npages: UInt64(n), into: &buffer) }
        #expect(try mirror.migrateToSystem(addr: addr, npages: UInt64(n)).cpages == 0)
        #expect(mirror.device.pagesInUse == 0)
        #expect(owner.device.pagesInUse == n)
        let local: UInt8 = device == 0 ? 0x22 : 0x42
        #expect(try owner.snapshot(addr: addr, npages: UInt64(n)).1 == [UInt8](repeating: local, count: n))
        #expect(try owner.migrateToSystem(addr: addr, npages: UInt64(n)).cpages == n)
        #expect(try process.read(addr, count: data.count) == data)
        #expect(owner.device.pagesInUse == 0)
    }

    /// FAIL_ALLOC on MIGRATE_TO_SYS: the first system page cannot be had, so
    /// dmirror_devmem_fault_alloc_and_copy() returns VM_FAULT_OOM before any
    /// destination: 0 with cpages 0, every page still on the device and readable by it;
    /// the flag is one-shot, the next MIGRATE_TO_SYS moves all with every byte intact.
    /// On MIGRATE_TO_DEV (coherent too): one page stays behind (-ENOENT), bytes intact.
    @Test(arguments: HMMMigrateTests.designs, [0, 2])
    func failAllocEndsConsistent(_ design: Design, device: Int) throws {
        let n = 16
        let (machine, process, mirror, addr, data) = try HMMBuffer.make(design, device: device, npages: n)
        var buffer: [UInt8] = []
        mirror.setFlags(DeviceMirror.flagFailAlloc)
        #expect(throws: Errno.ENOENT) { try mirror.migrateToDevice(addr: addr, npages: UInt64(n), into: &buffer) }
        #expect(mirror.device.pagesInUse == n - 1)
        #expect(try mirror.migrateToDevice(addr: addr, npages: UInt64(n), into: &buffer).cpages == n)
        mirror.setFlags(DeviceMirror.flagFailAlloc)
        #expect(try mirror.migrateToSystem(addr: addr, npages: UInt64(n)).cpages == 0)
        #expect(mirror.device.pagesInUse == n)
        #expect(try mirror.read(addr: addr, npages: UInt64(n), into: &buffer).cpages == n)
        #expect(buffer == data)
        #expect(try mirror.migrateToSystem(addr: addr, npages: UInt64(n)).cpages == n)
        #expect(mirror.device.pagesInUse == 0)
        #expect(try process.read(addr, count: data.count) == data)
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption }.isEmpty)
    }

    /// FAIL_ALLOC on MIGRATE_TO_DEV, looked at right after the failure: lib/test_hmm.c's
    /// dmirror_migrate_alloc_and_copy() walks src[] from index 0 and the one-shot flag
    /// fails the first allocation, so page 0 stays a writable system page (SNAPSHOT
    /// HMM_DMIRROR_PROT_WRITE 0x02) and pages 1... are this device's (DEV_PRIVATE_LOCAL
    /// 0x20 or DEV_COHERENT_LOCAL 0x40, | WRITE); the device reads every byte back
    /// (the page left behind through hmm_range_fault()), and so does the CPU (the
    /// private pages through migrate_to_ram()). After exit every device page is back on
    /// the free list.
    @Test(arguments: HMMMigrateTests.designs, [0, 2])
    func failAllocToDeviceLeavesEveryByteReadable(_ design: Design, device: Int) throws {
        let n = 8
        let (machine, process, mirror, addr, data) = try HMMBuffer.make(design, device: device, npages: n)
        var buffer: [UInt8] = []
        mirror.setFlags(DeviceMirror.flagFailAlloc)
        #expect(throws: Errno.ENOENT) { try mirror.migrateToDevice(addr: addr, npages: UInt64(n), into: &buffer) }
        let local: UInt8 = device == 0 ? 0x22 : 0x42
        #expect(try mirror.snapshot(addr: addr, npages: UInt64(n)).1 == [0x02] + [UInt8](repeating: local, count: n - 1))
        #expect(mirror.device.pagesInUse == n - 1)
        #expect(try mirror.read(addr: addr, npages: UInt64(n), into: &buffer).cpages == n)
        #expect(buffer == data)
        #expect(try process.read(addr, count: data.count) == data)
        process.exit()
        #expect(mirror.device.pagesInUse == 0)
        #expect(mirror.device.freePages == HMMMigrateTests.chunkPages)
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption }.isEmpty)
    }

    /// The leak check: device pages shared by a fork, evicted by RELEASE (every chunk
    /// gone: 0 free, 0 in use, the data in system memory in both processes), migrated
    /// again (a new chunk), then both processes exit: every page of the chunk is back on
    /// the free list and every backing page freed.
    @Test(arguments: HMMMigrateTests.designs, [0, 2])
    func releaseAndExitLeakNothing(_ design: Design, device: Int) throws {
        let n = 32
        let (machine, process, mirror, addr, data) = try HMMBuffer.make(design, device: device, npages: n)
        var buffer: [UInt8] = []
        #expect(try mirror.migrateToDevice(addr: addr, npages: UInt64(n), into: &buffer).cpages == n)
        let child = try process.fork()
        mirror.device.release()
        #expect(mirror.device.pagesInUse == 0)
        #expect(mirror.device.freePages == 0)
        #expect(try child.read(addr, count: data.count) == data)
        #expect(try process.read(addr, count: data.count) == data)
        #expect(try mirror.migrateToDevice(addr: addr, npages: UInt64(n), into: &buffer).cpages == n)
        let backing = try (0..<n).map { i -> Int in
            let pfn = try #require(process.tables.withPTELock(addr + UInt64(i) << 12) { s, _ in s.load() }?.devicePfn
                                   ?? process.tables.withPTELock(addr + UInt64(i) << 12) { s, _ in s.load().pfn })
            let page = try #require(machine.page(pfn))
            return try #require(mirror.device.dataPfn(page))
        }
        child.exit()
        process.exit()
        #expect(mirror.device.pagesInUse == 0)
        #expect(mirror.device.freePages == HMMMigrateTests.chunkPages)
        if device == 0 { #expect(backing.allSatisfy { HMMMigrateTests.folioRefcount(machine, $0) == 0 }) }
        #expect(machine.diagnostics.all.filter { $0.kind == .bug || $0.kind == .corruption }.isEmpty)
    }
}
