// hmm-tests.c's (tools/testing/selftests/mm/hmm-tests.c, v6.19) cases about the device
// file itself, in the private (device 0) and coherent (device 2) variants, on every
// design: `open_close` (FIXTURE_SETUP(hmm) opens /dev/hmm_dmirrorN, ASSERT_GE(fd, 0);
// FIXTURE_TEARDOWN closes it, ASSERT_EQ(close(fd), 0)) and `mixedmap` (mmap() of the
// device file, MAP_PRIVATE, PROT_READ|PROT_WRITE, one page; HMM_DMIRROR_SNAPSHOT gives 0,
// cpages 1 and m[0] == HMM_DMIRROR_PROT_READ). What open and close do is lib/test_hmm.c's
// dmirror_fops_open() (mmu_interval_notifier_insert(&dmirror->notifier, current->mm, 0,
// ULONG_MAX & PAGE_MASK, ...)) and dmirror_fops_release() (mmu_interval_notifier_remove(),
// xa_destroy(&dmirror->pt)); what mmap maps is dmirror_fops_mmap() (a zeroed page per
// page, vm_insert_page(): VM_MIXEDMAP, a normal PTE under vm_page_prot, one reference).
import PageLayout
@testable import PageModel
import Testing

@Suite struct HMMDeviceFileTests {
    static let variants: [(Design, Int)] = Design.allCases.flatMap { d in [(d, 0), (d, 2)] }

    /// hmm-tests `open_close`: open inserts one interval notifier over [0, ULONG_MAX &
    /// PAGE_MASK) of the opening process (last = 0xffff_ffff_ffff_efff), close removes it
    /// and the device page table goes; a second close changes nothing, and an ioctl on
    /// the closed file is EBADF.
    @Test(arguments: variants)
    func openClose(_ design: Design, _ device: Int) throws {
        let (_, process, mirror, addr, _) = try HMMBuffer.make(design, device: device, npages: 1)
        let subscriptions = process.mm.notifierSubscriptions
        #expect(subscriptions.count == 1)
        let sub = try #require(mirror.notifier)
        #expect(sub.start == 0 && sub.last == 0xffff_ffff_ffff_efff)
        let second = DeviceMirror(device: mirror.device, process: process)
        #expect(subscriptions.count == 2)
        var buffer: [UInt8] = []
        #expect(try mirror.read(addr: addr, npages: 1, into: &buffer).cpages == 1)
        #expect(mirror.pt.withLock { $0.count } == 1)
        mirror.close()
        #expect(subscriptions.count == 1)
        #expect(mirror.pt.withLock { $0.isEmpty })
        mirror.close()
        #expect(subscriptions.count == 1)
        #expect(throws: Errno.EBADF) { try mirror.read(addr: addr, npages: 1, into: &buffer) }
        #expect(throws: Errno.EBADF) { try mirror.snapshot(addr: addr, npages: 1) }
        #expect(throws: Errno.EBADF) { try mirror.mmap(length: 1 << 12, prot: [.read], flags: [.private]) }
        second.close()
        #expect(subscriptions.count == 0)
    }

    /// hmm-tests `mixedmap`: the snapshot of a private mapping of the device file is
    /// HMM_DMIRROR_PROT_READ (0x01): a normal page, read-only because a private writable
    /// mapping's vm_page_prot is copy-on-write. The VMA is VM_MIXEDMAP; the inserted page
    /// is zeroed, its PTE not special, its folio held once (insert_page()'s folio_get()
    /// after alloc_page(), minus dmirror_fops_mmap()'s put_page()) and mapped once.
    @Test(arguments: variants)
    func mixedmap(_ design: Design, _ device: Int) throws {
        let (machine, process, mirror) = try HMMMigrateTests.setup(design, device: device)
        let addr = try mirror.mmap(length: 1 << 12, prot: [.read, .write], flags: [.private])
        let (result, m) = try mirror.snapshot(addr: addr, npages: 1)
        #expect(result.cpages == 1)
        #expect(m == [0x01])
        let vma = try #require(process.mm.mmapLock.withReadLock { process.mm.lockedVMALookup(addr) })
        #expect(vma.flags.contains(.mixedMap))
        let pte = process.tables.entry(at: addr).pte
        #expect(pte.isPresent && !pte.isSpecial && !pte.isWritable)
        let folio = try #require(machine.page(pte.pfn).flatMap(machine.pageFolio))
        #expect(folio.refcount == 1 && machine.folioMapcount(folio) == 1)
        #expect(try process.read(addr, count: 1 << 12) == [UInt8](repeating: 0, count: 1 << 12))
    }

    /// Not in hmm-tests: a shared writable mapping of the device file maps its page
    /// writable (vm_page_prot of VM_SHARED|VM_WRITE without write-notify: no vm_ops, a
    /// character device's mapping cannot write back), so the snapshot byte is
    /// HMM_DMIRROR_PROT_WRITE (0x02) for each of its 3 pages.
    @Test func sharedMappingOfTheDeviceFileIsWritable() throws {
        let (_, _, mirror) = try HMMMigrateTests.setup(.mainline, device: 0)
        let addr = try mirror.mmap(length: 3 << 12, prot: [.read, .write], flags: [.shared])
        #expect(try mirror.snapshot(addr: addr, npages: 3).1 == [0x02, 0x02, 0x02])
    }
}
