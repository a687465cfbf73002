// Collisions between a device's page-table walk and the core mm's invalidations
// (v6.19): hmm_range_fault() returns -EBUSY when `mmu_interval_check_retry(range->notifier,
// range->notifier_seq)` is true, checked before the walk and again each time the walk
// restarts after hmm_vma_fault() (mm/hmm.c: hmm_range_fault()), with the entries from the
// faulting page on left at their input values; lib/test_hmm.c's dmirror_range_fault()
// retries until HMM_RANGE_DEFAULT_TIMEOUT (1000 ms, include/linux/hmm.h), then returns
// -EBUSY. The model's clock (DeviceMirrorRetry.swift) makes each pass of that loop one
// jiffy of a HZ=1000 kernel, so the timeout allows passes at jiffies 0...1000: 1001.
// And __split_huge_pmd() (mm/huge_memory.c) brackets every huge-PMD split with
// MMU_NOTIFY_CLEAR over [address & HPAGE_PMD_MASK, + HPAGE_PMD_SIZE);
// __migrate_device_pages() (mm/migrate_device.c) brackets migrate_vma_pages()' inserts
// of new pages where there were none with MMU_NOTIFY_MIGRATE and the pgmap owner.
import PageLayout
@testable import PageModel
import Synchronization
import Testing

@Suite struct HMMRetryTests {
    /// An invalidation between mmu_interval_read_begin() and hmm_range_fault() (here an
    /// MADV_DONTNEED of another page of the subscribed range: zap_page_range_single()'s
    /// MMU_NOTIFY_CLEAR) makes the walk return -EBUSY before it stores anything; a new
    /// read section then walks the range.
    @Test func hmmRangeFaultIsEBUSYAfterACollision() throws {
        let (_, process) = try MMUNotifierTests.setup()
        let addr = try process.mmapAnon(4 << 12)
        try process.write([UInt8](repeating: 7, count: 4 << 12), at: addr)
        let recorder = try NotifierRecorder(process.mm, start: addr, length: 4 << 12)
        let sub = try #require(recorder.sub)
        var range = HMMRange(start: addr, end: addr + (2 << 12), notifier: sub)
        range.notifierSeq = sub.readBegin()
        try process.mm.madvise(addr: addr + (3 << 12), length: 1 << 12, advice: .dontNeed)
        let tables = process.tables
        #expect(throws: Errno.EBUSY) {
            try process.mm.mmapLock.withReadLock { () throws(Errno) in try tables.hmmRangeFault(&range) }
        }
        #expect(range.hmmPfns == [0, 0])
        range.notifierSeq = sub.readBegin()
        try process.mm.mmapLock.withReadLock { () throws(Errno) in try tables.hmmRangeFault(&range) }
        #expect(range.hmmPfns.allSatisfy { $0 & (HMMPFN.valid | HMMPFN.write) == HMMPFN.valid | HMMPFN.write })
    }

    /// A fault hmm_range_fault() makes can invalidate the range itself: a write fault on
    /// the shared zero page copies it (wp_page_copy(): MMU_NOTIFY_CLEAR over the page),
    /// so the walk's restart finds its own sequence stale and returns -EBUSY with every
    /// entry at its input value; the fault was made, so the next section completes.
    /// Faulting in a page where nothing was mapped (do_anonymous_page()) invalidates
    /// nothing and the walk finishes in one call.
    @Test func aFaultThatInvalidatesEndsTheWalkWithEBUSY() throws {
        let (machine, process) = try MMUNotifierTests.setup()
        let addr = try process.mmapAnon(2 << 12)
        #expect(try process.read(addr, count: 1) == [0])   // the zero page, read-only
        #expect(process.tables.entry(at: addr).pte.pfn == machine.zeroPagePfn)
        let recorder = try NotifierRecorder(process.mm, start: addr, length: 2 << 12)
        let sub = try #require(recorder.sub)
        let tables = process.tables
        var range = HMMRange(start: addr, end: addr + (2 << 12), defaultFlags: HMMPFN.reqFault | HMMPFN.reqWrite, notifier: sub)
        range.notifierSeq = sub.readBegin()
        #expect(throws: Errno.EBUSY) {
            try process.mm.mmapLock.withReadLock { () throws(Errno) in try tables.hmmRangeFault(&range) }
        }
        #expect(range.hmmPfns == [0, 0])
        #expect(recorder.take() == [.init(event: .clear, start: addr, end: addr + (1 << 12), owner: nil)])
        range.notifierSeq = sub.readBegin()
        try process.mm.mmapLock.withReadLock { () throws(Errno) in try tables.hmmRangeFault(&range) }
        #expect(range.hmmPfns.allSatisfy { $0 & (HMMPFN.valid | HMMPFN.write) == HMMPFN.valid | HMMPFN.write })
        #expect(range.hmmPfns.allSatisfy { Int($0 & HMMPFN.pfnMask) != machine.zeroPagePfn })
        // The page that was never touched was faulted without an invalidation.
        #expect(recorder.take() == [])
    }

    /// dmirror_range_fault() under an invalidation on every pass: HMM_DMIRROR_READ fails
    /// with -EBUSY after 1001 passes (jiffies 0...msecs_to_jiffies(1000) at HZ=1000), and
    /// nothing is mapped by the device. With collisions on the first 3 passes only, the
    /// 4th succeeds: the data read back, cpages npages, faults 1 (one dmirror_fault()).
    @Test(arguments: [0, 2])
    func mirrorFaultTimesOutWithEBUSY(device: Int) throws {
        let npages = 4
        let (_, process, mirror, addr, data) = try HMMBuffer.make(.mainline, device: device, npages: npages)
        let other = try process.mmapAnon(1 << 12)
        let passes = Mutex(0)
        mirror.rangeFaultCollision = {
            passes.withLock { $0 += 1 }
            try? process.mm.madvise(addr: other, length: 1 << 12, advice: .dontNeed)
        }
        var buffer: [UInt8] = []
        #expect(throws: Errno.EBUSY) { try mirror.read(addr: addr, npages: UInt64(npages), into: &buffer) }
        #expect(passes.withLock { $0 } == 1001)
        #expect(DeviceMirror.rangeFaultPasses == 1001)
        #expect(mirror.pt.withLock { $0.isEmpty })

        passes.withLock { $0 = 0 }
        mirror.rangeFaultCollision = {
            let n = passes.withLock { p in p += 1; return p }
            if n <= 3 { try? process.mm.madvise(addr: other, length: 1 << 12, advice: .dontNeed) }
        }
        let result = try mirror.read(addr: addr, npages: UInt64(npages), into: &buffer)
        #expect(result == DeviceMirror.Result(cpages: npages, faults: 1))
        #expect(buffer == data)
        #expect(passes.withLock { $0 } == 4)
    }

    /// HMM_DMIRROR_SNAPSHOT retries under its own temporary notifier the same way: an
    /// invalidation on every pass is -EBUSY after 1001 passes; the temporary notifier
    /// is gone afterwards (only the open file's own subscription is left).
    @Test func snapshotTimesOutWithEBUSY() throws {
        let (_, process, mirror, addr, _) = try HMMBuffer.make(.mainline, device: 0, npages: 2)
        let passes = Mutex(0)
        mirror.rangeFaultCollision = {
            passes.withLock { $0 += 1 }
            try? process.mm.madvise(addr: addr + (1 << 12), length: 1 << 12, advice: .dontNeed)
        }
        #expect(throws: Errno.EBUSY) { try mirror.snapshot(addr: addr, npages: 2) }
        #expect(passes.withLock { $0 } == 1001)
        #expect(process.mm.notifierSubscriptions.count == 1)
    }

    /// A driver's own hmm_range_fault() (DeviceMirror.rangeFault(), the scenario
    /// language's hmm_range_fault): mmu_interval_notifier_insert() over the range, the
    /// dmirror_range_fault() loop, the notifier removed afterwards (only the open file's
    /// own subscription is left). A concurrent invalidation on every one of the 1001
    /// passes is -EBUSY, raised by hmm_range_fault()'s mmu_interval_check_retry() before
    /// the walk, so nothing was faulted; on the first 1000 only, the last pass walks.
    /// An empty range cannot be subscribed: __mmu_interval_notifier_insert()'s -EOVERFLOW
    /// (mm/mmu_notifier.c); after close the file is gone (-EBADF).
    @Test func driverRangeFaultUnderItsOwnNotifier() throws {
        let (machine, process) = try MMUNotifierTests.setup()
        let mirror = DeviceMirror(device: try DeviceMirrorDevice(machine: machine, id: 0), process: process)
        let addr = try process.mmapAnon(4 << 12)
        #expect(throws: Errno.EBUSY) { try mirror.rangeFault(addr: addr, npages: 4, write: true, collisions: 1001) }
        #expect(!process.tables.entry(at: addr).pte.isPresent)
        #expect(process.mm.notifierSubscriptions.count == 1)
        let range = try mirror.rangeFault(addr: addr, npages: 4, write: true, collisions: 1000)
        #expect(range.hmmPfns.allSatisfy { $0 & (HMMPFN.valid | HMMPFN.write) == HMMPFN.valid | HMMPFN.write })
        #expect(range.hmmPfns.map { Int($0 & HMMPFN.pfnMask) } == (0..<4).map { process.tables.entry(at: addr + UInt64($0) << 12).pte.pfn })
        #expect(process.mm.notifierSubscriptions.count == 1)
        #expect(throws: Errno.EOVERFLOW) { try mirror.rangeFault(addr: addr, npages: 0, write: false) }
        mirror.close()
        #expect(throws: Errno.EBADF) { try mirror.rangeFault(addr: addr, npages: 1, write: false) }
    }

    /// A 2 MiB-aligned MADV_HUGEPAGE region with its first PMD faulted in as a THP.
    static func thp(_ process: Process) throws -> UInt64 {
        let raw = try process.mmapAnon(4 << 20)
        let start = (raw + (1 << 21) - 1) & ~((1 << 21) - 1)
        try process.mm.madvise(addr: start, length: 2 << 20, advice: .hugePage)
        try process.write([1], at: start)
        #expect(process.tables.entry(at: start).huge)
        return start
    }

    /// MADV_DONTNEED of one page of a THP: zap_page_range_single()'s MMU_NOTIFY_CLEAR
    /// over the page, then, nested in it, zap_pmd_range()'s __split_huge_pmd() with
    /// MMU_NOTIFY_CLEAR over the whole PMD.
    @Test func splittingAHugePMDNotifiesThePMDRange() throws {
        let (_, process) = try MMUNotifierTests.setup()
        let start = try Self.thp(process)
        let recorder = try NotifierRecorder(process.mm)
        try process.mm.madvise(addr: start + (1 << 12), length: 1 << 12, advice: .dontNeed)
        #expect(!process.tables.entry(at: start).huge)
        #expect(recorder.take() == [
            .init(event: .clear, start: start + (1 << 12), end: start + (2 << 12), owner: nil),
            .init(event: .clear, start: start, end: start + (2 << 20), owner: nil),
        ])
    }

    /// mprotect() of the second half of a THP: __split_vma()'s vma_adjust_trans_huge() ->
    /// split_huge_pmd_address() splits at the new boundary (CLEAR over the PMD), then
    /// change_protection() notifies MMU_NOTIFY_PROTECTION_VMA over the changed half. A
    /// mirror subscribed to the whole address space loses its device mapping of all 512
    /// pages (dmirror_interval_invalidate() on a CLEAR).
    @Test func mprotectSplitNotifiesClearThenProtection() throws {
        let (_, process) = try MMUNotifierTests.setup()
        let start = try Self.thp(process)
        let mirror = DeviceMirror(device: try DeviceMirrorDevice(machine: process.machine, id: 0), process: process)
        var buffer: [UInt8] = []
        #expect(try mirror.read(addr: start, npages: 512, into: &buffer).cpages == 512)
        #expect(mirror.pt.withLock { $0.count } == 512)
        let recorder = try NotifierRecorder(process.mm)
        try process.mm.mprotect(addr: start + (1 << 20), length: 1 << 20, prot: [.read])
        #expect(recorder.take() == [
            .init(event: .clear, start: start, end: start + (2 << 20), owner: nil),
            .init(event: .protectionVMA, start: start + (1 << 20), end: start + (2 << 20), owner: nil),
        ])
        #expect(mirror.pt.withLock { $0.isEmpty })
    }

    /// The same mprotect() where no THP was ever mapped, in a VMA spanning the whole PMD
    /// around the new boundary: split_huge_pmd_if_needed() still calls
    /// split_huge_pmd_address(), and __split_huge_pmd() notifies CLEAR over the PMD
    /// before it finds nothing huge to split (mm_find_pmd() finds the PMD: a page of the
    /// region was touched, so the tables exist).
    @Test func boundaryInsideAPMDNotifiesEvenWithoutATHP() throws {
        let (_, process) = try MMUNotifierTests.setup()
        let raw = try process.mmapAnon(4 << 20)
        let start = (raw + (1 << 21) - 1) & ~((1 << 21) - 1)
        try process.write([1], at: start)
        #expect(!process.tables.entry(at: start).huge)
        let recorder = try NotifierRecorder(process.mm)
        try process.mm.mprotect(addr: start + (1 << 20), length: 1 << 20, prot: [.read])
        #expect(recorder.take() == [
            .init(event: .clear, start: start, end: start + (2 << 20), owner: nil),
            .init(event: .protectionVMA, start: start + (1 << 20), end: start + (2 << 20), owner: nil),
        ])
    }

    /// HMM_DMIRROR_MIGRATE_TO_DEV of 4 pages of which only the first was ever written:
    /// migrate_vma_collect()'s MMU_NOTIFY_MIGRATE over the 4 pages, then
    /// __migrate_device_pages()' over [the first page-less source, end) = pages 1-3, both
    /// with the device as owner. A range with no page-less source notifies once.
    @Test(arguments: [0, 2])
    func migrateVMAPagesNotifiesTheInsertedRange(device: Int) throws {
        let (_, process, mirror) = try HMMMigrateTests.setup(.mainline, device: device)
        let addr = try process.mmapAnon(4 << 12)
        try process.write([1], at: addr)
        let recorder = try NotifierRecorder(process.mm)
        var buffer: [UInt8] = []
        #expect(try mirror.migrateToDevice(addr: addr, npages: 4, into: &buffer).cpages == 4)
        let owner = mirror.device.owner
        #expect(recorder.take() == [
            .init(event: .migrate, start: addr, end: addr + (4 << 12), owner: owner),
            .init(event: .migrate, start: addr + (1 << 12), end: addr + (4 << 12), owner: owner),
        ])
        let second = try process.mmapAnon(2 << 12)
        try process.write([UInt8](repeating: 2, count: 2 << 12), at: second)
        _ = recorder.take()
        _ = try mirror.migrateToDevice(addr: second, npages: 2, into: &buffer)
        #expect(recorder.take() == [.init(event: .migrate, start: second, end: second + (2 << 12), owner: owner)])
    }
}
