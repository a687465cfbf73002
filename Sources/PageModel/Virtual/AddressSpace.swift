// struct mm_struct: one address space, its VMAs, its flags and its mmap_lock.
// Mirrors include/linux/mm_types.h (mm_struct) and the lookup helpers of mm/mmap.c
// (find_vma(), find_vma_prev(), vma_lookup(), find_vma_intersection()).
import Atomics

/// The shape of a model process's user address space (the arch parts of mm/mmap.c).
public struct AddressSpaceLayout: Sendable, Equatable {
    /// TASK_SIZE: the first address past user space.
    public var taskSize: UInt64
    /// mm->mmap_base: where top-down get_unmapped_area() starts.
    public var mmapBase: UInt64
    /// vm.mmap_min_addr: no mapping below it (MAP_FIXED below it is EPERM).
    public var mmapMinAddr: UInt64
    /// vm.max_map_count: the most VMAs an mm may have.
    public var maxMapCount: Int
    /// stack_guard_gap: the gap kept below a VM_GROWSDOWN VMA.
    public var stackGuardGap: UInt64
    /// RLIMIT_MEMLOCK in bytes, for a process without CAP_IPC_LOCK; nil for one with it
    /// (no limit). 0 forbids mlock() altogether (can_do_mlock()).
    public var memlockLimit: UInt64?
    /// RLIMIT_STACK in bytes: how far a VM_GROWSDOWN VMA may grow (acct_stack_growth()).
    public var stackLimit: UInt64

    /// The x86-64 defaults without address-space randomisation, for an unprivileged process
    /// with the default RLIMIT_MEMLOCK of 8 MiB (MLOCK_LIMIT since Linux 5.16) and
    /// RLIMIT_STACK of 8 MiB (_STK_LIM).
    public init(
        taskSize: UInt64 = UserVM.taskSize, mmapBase: UInt64 = UserVM.mmapBase,
        mmapMinAddr: UInt64 = UserVM.mmapMinAddr, maxMapCount: Int = UserVM.maxMapCount,
        stackGuardGap: UInt64 = UserVM.stackGuardGap, memlockLimit: UInt64? = 8 << 20,
        stackLimit: UInt64 = 8 << 20
    ) {
        self.taskSize = taskSize
        self.mmapBase = mmapBase
        self.mmapMinAddr = mmapMinAddr
        self.maxMapCount = maxMapCount
        self.stackGuardGap = stackGuardGap
        self.memlockLimit = memlockLimit
        self.stackLimit = stackLimit
    }

    /// TASK_UNMAPPED_BASE: PAGE_ALIGN(TASK_SIZE / 3), the bottom-up fallback's floor.
    public var taskUnmappedBase: UInt64 { UserVM.pageAlign(taskSize / 3) }
}

/// An address space (`struct mm_struct`).
///
/// Thread safety (the invariant that makes the `@unchecked Sendable` true): every mutable
/// stored property is read only with `mmapLock` held and written only with it held for
/// write, except `flagWord`, an atomic, and each VMA's anon_vma pointer, a set-once atomic
/// that anon_vma_prepare() may fill under the read lock. Methods whose names start with
/// `locked`, and the internal helpers of the VMA-operation files, expect the caller to hold
/// the lock; the public operations take it themselves.
public final class MM: @unchecked Sendable {
    /// mm->mmap_lock.
    public let mmapLock = MMapLock()
    /// The address space's geometry.
    public let layout: AddressSpaceLayout
    /// The page-table side of the VMA operations.
    public let pageOps: any VMAPageOps

    /// mm->write_protect_seq: odd while fork() write-protects the parent's anonymous
    /// pages, so that GUP-fast can see it raced with fork (gup_fast(), FOLL_PIN).
    public let writeProtectSeq = ManagedAtomic<UInt64>(0)

    /// mm->notifier_subscriptions (MMUNotifier.swift).
    public let notifierSubscriptions = MMUNotifierSubscriptions()

    /// mm->flags (MMF_*), atomic as the kernel's bitmap ops are.
    private let flagWord: ManagedAtomic<UInt64>
    /// The VMAs (mm->mm_mt). Guarded by mmapLock.
    var tree = VMATree()
    /// mm->locked_vm in pages. Guarded by mmapLock.
    var lockedVMPages: UInt64 = 0
    /// mm->def_flags: flags every new VMA gets (VM_LOCKED after mlockall(MCL_FUTURE)).
    /// Guarded by mmapLock.
    var defFlags: VMFlags = []
    /// The next VMA identity. Guarded by mmapLock.
    private var nextVMASerial: UInt64 = 1

    /// anon_vma serials are global: anon_vmas outlive and cross mms (fork).
    private static let anonVMASerial = ManagedAtomic<UInt64>(0)

    /// Linux: `mm_alloc()`; a new mm starts top-down (MMF_TOPDOWN) as on x86-64.
    public init(layout: AddressSpaceLayout = AddressSpaceLayout(), pageOps: any VMAPageOps = NoPageOps()) {
        self.layout = layout
        self.pageOps = pageOps
        self.flagWord = ManagedAtomic(MMFlags.topDown.rawValue)
    }

    // MARK: mm flags

    /// mm->flags.
    public var flags: MMFlags { MMFlags(rawValue: flagWord.load(ordering: .relaxed)) }

    /// Linux: `mm_flags_set()`; atomic, callable without the mmap_lock.
    public func setFlags(_ flags: MMFlags) {
        _ = flagWord.loadThenBitwiseOr(with: flags.rawValue, ordering: .relaxed)
    }

    /// Linux: `mm_flags_test_and_set()`: sets `flag` atomically; whether it was set before.
    public func testAndSetFlag(_ flag: MMFlags) -> Bool {
        flagWord.loadThenBitwiseOr(with: flag.rawValue, ordering: .relaxed) & flag.rawValue != 0
    }

    /// Linux: `mm_flags_clear()`. MMF_HAS_PINNED is sticky and is never cleared.
    public func clearFlags(_ flags: MMFlags) {
        _ = flagWord.loadThenBitwiseAnd(with: ~flags.subtracting(.hasPinned).rawValue, ordering: .relaxed)
    }

    /// Linux: `mm_set_has_pinned_flag()` (mm/gup.c), called by every FOLL_PIN: test first,
    /// so the common already-set case does not dirty the cache line, then set atomically.
    /// The bit is never cleared for the life of the mm.
    public func setHasPinned() {
        if !hasPinned { _ = flagWord.loadThenBitwiseOr(with: MMFlags.hasPinned.rawValue, ordering: .relaxed) }
    }

    /// `mm_flags_test(MMF_HAS_PINNED, mm)`: whether FOLL_PIN has ever run on this mm.
    public var hasPinned: Bool { flags.contains(.hasPinned) }

    // MARK: lookups (taking the lock)

    /// All VMAs in address order (a snapshot, like reading /proc/PID/maps).
    public var vmas: [VMA] { mmapLock.withReadLock { tree.vmas } }

    /// The VMAs as /proc/PID/maps shows them, one line each
    /// ("10000000-10001000 rw-p 10000000 [anon]"; the model shows no device or inode).
    public var procMaps: String { vmas.map(\.description).joined(separator: "\n") }

    /// mm->map_count.
    public var mapCount: Int { mmapLock.withReadLock { tree.count } }

    /// mm->total_vm in pages.
    public var totalVMPages: UInt64 { mmapLock.withReadLock { tree.vmas.reduce(0) { $0 + $1.pages } } }

    /// mm->locked_vm in pages.
    public var lockedVM: UInt64 { mmapLock.withReadLock { lockedVMPages } }

    /// Linux: `find_vma()`: the first VMA with `end > addr`, which may start above `addr`.
    public func findVMA(_ addr: UInt64) -> VMA? { mmapLock.withReadLock { tree.find(addr) } }

    /// Linux: `vma_lookup()`: the VMA containing `addr`.
    public func vmaLookup(_ addr: UInt64) -> VMA? { mmapLock.withReadLock { lockedVMALookup(addr) } }

    /// Linux: `find_vma_intersection()`: the first VMA intersecting `[start, end)`.
    public func findVMAIntersection(_ start: UInt64, _ end: UInt64) -> VMA? {
        mmapLock.withReadLock { lockedFindVMAIntersection(start, end) }
    }

    // MARK: lookups for callers holding the mmap_lock

    /// find_vma() for a caller that holds the mmap_lock.
    public func lockedFindVMA(_ addr: UInt64) -> VMA? { tree.find(addr) }

    /// vma_lookup() for a caller that holds the mmap_lock.
    public func lockedVMALookup(_ addr: UInt64) -> VMA? { tree.index(containing: addr).map { tree[$0] } }

    /// find_vma_intersection() for a caller that holds the mmap_lock.
    public func lockedFindVMAIntersection(_ start: UInt64, _ end: UInt64) -> VMA? {
        let range = tree.indices(intersecting: start, end)
        return range.isEmpty ? nil : tree[range.lowerBound]
    }

    /// Linux: `find_vma_prev()` for a caller that holds the mmap_lock: find_vma() and the
    /// VMA before it.
    func lockedFindVMAPrev(_ addr: UInt64) -> (vma: VMA?, prev: VMA?) {
        let index = tree.firstIndex(endAbove: addr)
        return (index < tree.count ? tree[index] : nil, index > 0 ? tree[index - 1] : nil)
    }

    // MARK: anon_vma

    /// Linux: `anon_vma_prepare()`: give the VMA containing `addr` an anon_vma if it has none,
    /// reusing a compatible neighbour's (find_mergeable_anon_vma()) so that the two may still
    /// merge later. Returns the anon_vma. Takes the mmap_lock for read, as a fault does.
    public func anonVMAPrepare(at addr: UInt64) throws(Errno) -> AnonVMA {
        try mmapLock.withReadLock { () throws(Errno) -> AnonVMA in
            guard let anonVMA = lockedAnonVMAPrepare(at: addr) else { throw Errno.EFAULT }
            return anonVMA
        }
    }

    /// anon_vma_prepare() for a caller that holds the mmap_lock (for read, as the fault
    /// path does, or for write). Racing callers get the same anon_vma: the VMA's anon_vma
    /// pointer is set once, atomically (the kernel serialises this on mm->page_table_lock).
    /// Nil if no VMA contains `addr`.
    public func lockedAnonVMAPrepare(at addr: UInt64) -> AnonVMA? {
        guard let index = tree.index(containing: addr) else { return nil }
        let vma = tree[index]
        if let existing = vma.anonVMA { return existing }
        var chosen: AnonVMA?
        // find_mergeable_anon_vma(): a neighbour that could merge with this VMA after an
        // mprotect(), whose own anon_vma is not shared with a fork parent
        // (reusable_anon_vma()).
        for neighbour in [index + 1, index - 1] where neighbour >= 0 && neighbour < tree.count {
            let other = tree[neighbour]
            guard let candidate = other.anonVMA, !other.hadUncowedParents else { continue }
            let touching = neighbour > index ? other.start == vma.end : other.end == vma.start
            // anon_vma_compatible(): only the access flags and VM_SOFTDIRTY may differ.
            let sameKind = other.flags.symmetricDifference(vma.flags)
                .subtracting(VMFlags.accessFlags.union(.softDirty)).isEmpty
            let linear = neighbour > index
                ? other.pgoff == vma.pgoff + vma.pages : other.pgoff + other.pages == vma.pgoff
            if touching && sameKind && linear && other.file == vma.file {
                chosen = candidate
                break
            }
        }
        let anonVMA = vma.anonSlot.setIfNil(chosen ?? newAnonVMA())
        anonVMA.addMapper(self)
        return anonVMA
    }

    /// A fresh anon_vma (anon_vma_alloc()); a fork child's has its parent's as `parent`.
    func newAnonVMA(parent: AnonVMA? = nil) -> AnonVMA {
        AnonVMA(serial: Self.anonVMASerial.wrappingIncrementThenLoad(ordering: .relaxed), parent: parent)
    }

    /// A fresh VMA identity (vm_area_alloc()). Caller holds the mmap_lock for write.
    func newVMAID() -> VMAID {
        defer { nextVMASerial += 1 }
        return VMAID(rawValue: nextVMASerial)
    }

    /// Links a new VMA with the given attributes without merging (vma_link(); the kernel's
    /// VMA tests call it `alloc_and_link_vma()`). Caller holds the mmap_lock for write and
    /// the range must be free.
    @discardableResult
    func lockedLinkVMA(
        start: UInt64, end: UInt64, pgoff: UInt64, flags: VMFlags,
        file: FileRef? = nil, anonVMA: AnonVMA? = nil
    ) -> Int {
        let vma = VMA(id: newVMAID(), start: start, end: end, pgoff: pgoff, flags: flags,
                      file: file, anonVMA: anonVMA)
        return tree.insert(vma)
    }

    // MARK: invariants

    /// Checks the VMA list: sorted, non-overlapping, page aligned, non-empty, inside user
    /// space, within vm.max_map_count (validate_mm()). Returns the problems found.
    public func checkInvariants() -> [String] {
        mmapLock.withReadLock {
            var problems: [String] = []
            var previousEnd: UInt64 = 0
            for vma in tree.vmas {
                if vma.start >= vma.end { problems.append("\(vma.id): empty or inverted \(vma)") }
                if UserVM.isUnaligned(vma.start) || UserVM.isUnaligned(vma.end) {
                    problems.append("\(vma.id): unaligned \(vma)")
                }
                if vma.start < previousEnd { problems.append("\(vma.id): overlaps its predecessor \(vma)") }
                if vma.end > layout.taskSize { problems.append("\(vma.id): beyond TASK_SIZE \(vma)") }
                previousEnd = vma.end
            }
            if tree.count > layout.maxMapCount + 1 {
                problems.append("map_count \(tree.count) exceeds max_map_count \(layout.maxMapCount)")
            }
            return problems
        }
    }
}
