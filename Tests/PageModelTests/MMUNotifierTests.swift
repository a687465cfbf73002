// MMU interval notifiers (mm/mmu_notifier.c, v6.19): the collision-retry sequence counts
// and which event each core-mm change reports. Expected sequence values follow
// mm/mmu_notifier.c: __mmu_notifier_register() starts invalidate_seq at 2; an insert
// while idle gives the subscription invalidate_seq - 1; mn_itree_inv_start_range() makes
// the seq odd (`|= 1`) and mn_itree_inv_end() even again (`++`). Expected events follow
// the kernel's mmu_notifier_range_init() calls: unmap_vmas() MMU_NOTIFY_UNMAP,
// change_pmd_range() PROTECTION_VMA, copy_page_range() of a COW mapping PROTECTION_PAGE,
// zap_page_range_single() (MADV_DONTNEED) and wp_page_copy() CLEAR, exit_mmap()'s
// mmu_notifier_release() RELEASE over [0, ULONG_MAX), migrate_vma_collect() MIGRATE with
// the pgmap owner, make_device_exclusive() EXCLUSIVE with its owner,
// remove_device_exclusive_entry() CLEAR. Run on every design: nothing here needs
// device memory but the migration case.
import PageLayout
@testable import PageModel
import Synchronization
import Testing

/// A subscription that records every invalidation it is given.
final class NotifierRecorder: @unchecked Sendable {
    struct Event: Equatable {
        let event: MMUNotifierEvent
        let start: UInt64
        let end: UInt64
        let owner: UInt64?
    }
    let events = Mutex<[Event]>([])
    let seqs = Mutex<[UInt64]>([])
    var sub: MMUIntervalNotifier!

    init(_ mm: MM, start: UInt64 = 0, length: UInt64 = UInt64.max & ~0xfff) throws {
        sub = MMUIntervalNotifier { [weak self] sub, range, seq in
            sub.setSeq(seq)
            guard let self else { return true }
            self.seqs.withLock { $0.append(seq) }
            self.events.withLock { $0.append(Event(event: range.event, start: range.start, end: range.end, owner: range.owner)) }
            return true
        }
        try mm.mmuIntervalNotifierInsert(sub, start: start, length: length)
    }

    func take() -> [Event] { events.withLock { e in defer { e = [] }; return e } }
}

@Suite struct MMUNotifierTests {
    static func setup(_ design: Design = .mainline) throws -> (Machine, Process) {
        let kernel = try KernelConfig.preset("x86_64-distro").setting(["DEVICE_PRIVATE": .yes])
        let machine = try Machine(config: MachineConfig(ramBytes: 128 << 20, design: design, kernel: kernel))
        return (machine, try Process(machine: machine))
    }

    /// mmu_interval_read_begin()/read_retry(): idle insert seq 1, read_begin 1 without
    /// waiting; an invalidation hands cur_seq 3 to the subscription, so read_retry(1) is
    /// true; the next section (read_begin 3) sees cur_seq 5 after a second invalidation.
    @Test func sequenceCounts() throws {
        let (_, process) = try Self.setup()
        let addr = try process.mmapAnon(8 << 12)
        try process.write([1], at: addr)
        let recorder = try NotifierRecorder(process.mm, start: addr, length: 8 << 12)
        let sub = try #require(recorder.sub)
        #expect(sub.invalidateSeq.load(ordering: .relaxed) == 1)
        let seq = sub.readBegin()
        #expect(seq == 1)
        #expect(!sub.readRetry(seq))
        try process.mm.madvise(addr: addr, length: 1 << 12, advice: .dontNeed)
        #expect(recorder.seqs.withLock { $0 } == [3])
        #expect(sub.readRetry(seq))
        #expect(process.mm.notifierSubscriptions.state.withLock { $0.invalidateSeq } == 4)
        let next = sub.readBegin()
        #expect(next == 3)
        #expect(!sub.readRetry(next))
        try process.mm.madvise(addr: addr, length: 1 << 12, advice: .dontNeed)
        #expect(recorder.seqs.withLock { $0 } == [3, 5])
        #expect(sub.readRetry(next))
    }

    /// Only overlapping subscriptions are called (interval_tree_iter_first() over
    /// [start, end - 1]), and a removed one never again.
    @Test func onlyOverlappingSubscriptionsAreCalled() throws {
        let (_, process) = try Self.setup()
        let addr = try process.mmapAnon(8 << 12)
        try process.write([UInt8](repeating: 1, count: 8 << 12), at: addr)
        let low = try NotifierRecorder(process.mm, start: addr, length: 4 << 12)
        let high = try NotifierRecorder(process.mm, start: addr + (4 << 12), length: 4 << 12)
        try process.mm.madvise(addr: addr + (4 << 12), length: 1 << 12, advice: .dontNeed)
        #expect(low.take().isEmpty)
        #expect(high.take() == [.init(event: .clear, start: addr + (4 << 12), end: addr + (5 << 12), owner: nil)])
        // The range's end is exclusive: [addr + 3 pages, addr + 4 pages) misses `high`.
        try process.mm.madvise(addr: addr + (3 << 12), length: 1 << 12, advice: .dontNeed)
        #expect(low.take().count == 1)
        #expect(high.take().isEmpty)
        process.mm.mmuIntervalNotifierRemove(try #require(high.sub))
        try process.mm.munmap(addr: addr, length: 8 << 12)
        #expect(low.take() == [.init(event: .unmap, start: addr, end: addr + (8 << 12), owner: nil)])
        #expect(high.take().isEmpty)
        #expect(process.mm.notifierSubscriptions.count == 1)
    }

    /// __mmu_interval_notifier_insert(): EOVERFLOW for length 0 or start + length - 1
    /// past ULONG_MAX; the whole address space (ULONG_MAX & PAGE_MASK) is fine.
    @Test func insertRejectsEmptyAndOverflowingRanges() throws {
        let (_, process) = try Self.setup()
        let sub = MMUIntervalNotifier { _, _, _ in true }
        #expect(throws: Errno.EOVERFLOW) { try process.mm.mmuIntervalNotifierInsert(sub, start: 0x1000, length: 0) }
        #expect(throws: Errno.EOVERFLOW) { try process.mm.mmuIntervalNotifierInsert(sub, start: UInt64.max - 0xfff, length: 0x2000) }
        #expect(process.mm.notifierSubscriptions.count == 0)
        try process.mm.mmuIntervalNotifierInsert(sub, start: 0, length: UInt64.max & ~0xfff)
        #expect(sub.last == UInt64.max & ~0xfff - 1)
        #expect(process.mm.notifierSubscriptions.count == 1)
    }

    /// The events of mprotect(), MADV_DONTNEED, fork(), a COW fault, munmap() and exit.
    @Test(arguments: Design.allCases)
    func coreMMEvents(_ design: Design) throws {
        let (_, process) = try Self.setup(design)
        let size: UInt64 = 8 << 12
        let addr = try process.mmapAnon(size)
        let recorder = try NotifierRecorder(process.mm)
        try process.write([UInt8](repeating: 7, count: Int(size)), at: addr)
        #expect(recorder.take().isEmpty)   // do_anonymous_page() changes no present PTE
        try process.mm.mprotect(addr: addr, length: size, prot: [.read])
        #expect(recorder.take() == [.init(event: .protectionVMA, start: addr, end: addr + size, owner: nil)])
        try process.mm.mprotect(addr: addr, length: size, prot: [.read, .write])
        #expect(recorder.take() == [.init(event: .protectionVMA, start: addr, end: addr + size, owner: nil)])
        try process.mm.madvise(addr: addr, length: 2 << 12, advice: .dontNeed)
        #expect(recorder.take() == [.init(event: .clear, start: addr, end: addr + (2 << 12), owner: nil)])
        let child = try process.fork()
        #expect(recorder.take().contains(.init(event: .protectionPage, start: addr, end: addr + size, owner: nil)))
        try process.write([9], at: addr + (4 << 12))   // wp_page_copy()
        #expect(recorder.take() == [.init(event: .clear, start: addr + (4 << 12), end: addr + (5 << 12), owner: nil)])
        try child.write([9], at: addr + (5 << 12))     // the child's mm has no subscription
        #expect(recorder.take().isEmpty)
        try process.mm.munmap(addr: addr, length: size)
        #expect(recorder.take() == [.init(event: .unmap, start: addr, end: addr + size, owner: nil)])
        process.exit()
        #expect(recorder.take().first == .init(event: .release, start: 0, end: UInt64.max, owner: nil))
    }

    /// migrate_vma_collect(): MMU_NOTIFY_MIGRATE with the device's pgmap owner, for the
    /// migration to the device and for the CPU fault that brings a page home
    /// (dmirror_devmem_fault() -> migrate_vma_setup() with the same owner).
    @Test(arguments: HMMMigrateTests.designs)
    func migrationEventsCarryTheOwner(_ design: Design) throws {
        let (_, process, mirror) = try HMMMigrateTests.setup(design, device: 0)
        let addr = try process.mmapAnon(4 << 12)
        try process.write([UInt8](repeating: 3, count: 4 << 12), at: addr)
        let recorder = try NotifierRecorder(process.mm)
        var buffer: [UInt8] = []
        #expect(try mirror.migrateToDevice(addr: addr, npages: 4, into: &buffer).cpages == 4)
        let owner = mirror.device.owner
        #expect(recorder.take() == [.init(event: .migrate, start: addr, end: addr + (4 << 12), owner: owner)])
        #expect(try process.read(addr + (1 << 12), count: 1) == [3])
        #expect(recorder.take() == [.init(event: .migrate, start: addr + (1 << 12), end: addr + (2 << 12), owner: owner)])
    }
}
