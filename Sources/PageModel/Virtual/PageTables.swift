// The user page tables of one address space: x86-64 four-level paging (PGD, PUD, PMD,
// PTE; 512 8-byte entries each) in physical pages of the model, allocated from the buddy
// allocator as ptdescs (pagetable_alloc(GFP_PGTABLE_USER)), with the split page-table
// locks in ptdesc->ptl. Mirrors the walkers of include/linux/pgtable.h and mm/memory.c
// (__pud_alloc(), __pmd_alloc(), __pte_alloc(), pte_offset_map_lock(), pmd_lock()).
import Atomics
import PageLayout

/// One entry slot of a page table: a host pointer into the table's frame.
/// Entries are read and written with relaxed atomics (the kernel's READ_ONCE/WRITE_ONCE
/// and ptep_get_and_clear()), because GUP-fast reads them without any lock.
public struct EntrySlot: @unchecked Sendable {
    typealias Storage = UnsafeAtomic<UInt64>.Storage
    let pointer: UnsafeMutablePointer<Storage>

    /// ptep_get() / READ_ONCE(*pmdp).
    @inline(__always) public func load() -> PTE { PTE(rawValue: Storage.atomicLoad(at: pointer, ordering: .relaxed)) }
    /// set_pte_at() / WRITE_ONCE(); release so that a lockless reader that sees the entry
    /// sees what was written to the table or page before it (the kernel's smp_wmb() in
    /// pmd_install()/pte_alloc and the page-table lock).
    @inline(__always) public func store(_ pte: PTE) { Storage.atomicStore(pte.rawValue, at: pointer, ordering: .releasing) }
    /// ptep_get_and_clear().
    @inline(__always) public func getAndClear() -> PTE { PTE(rawValue: Storage.atomicExchange(0, at: pointer, ordering: .acquiringAndReleasing)) }
    /// cmpxchg on the entry (the populate race of __pud_alloc()/__pmd_alloc()).
    @inline(__always) func compareExchange(expected: PTE, desired: PTE) -> Bool {
        Storage.atomicCompareExchange(expected: expected.rawValue, desired: desired.rawValue, at: pointer, ordering: .acquiringAndReleasing).exchanged
    }
    @inline(__always) func advanced(by n: Int) -> EntrySlot { EntrySlot(pointer: pointer + n) }
}

/// x86-64 four-level paging constants (arch/x86/include/asm/pgtable_64_types.h).
public enum Paging {
    public static let entries = 512
    public static let pgdShift: UInt64 = 39
    public static let pudShift: UInt64 = 30
    public static let pmdShift: UInt64 = 21
    public static let pageShift: UInt64 = 12
    /// HPAGE_PMD_ORDER.
    public static let pmdOrder = 9
    public static let pmdSize: UInt64 = 1 << pmdShift
    public static let pmdMask: UInt64 = ~(pmdSize - 1)

    @inline(__always) static func index(_ addr: UInt64, _ shift: UInt64) -> Int { Int(truncatingIfNeeded: (addr >> shift) & 511) }
}

/// The page tables of one mm (`mm->pgd` and everything below it).
///
/// Locking (as the kernel): the tables' shape changes (a table is installed or freed)
/// only under the mmap_lock held for write, or by installing into an empty entry with a
/// compare-and-exchange; a PTE table's entries change only under that table's
/// `ptdesc->ptl`, a huge PMD only under the PMD table's ptl. Readers that hold neither
/// (GUP-fast) read entries atomically and re-check them after taking a reference.
/// Freed tables go through `machine.tableRCU`, so a lockless walker never reads a
/// table that was freed and reused under it.
public final class UserPageTables: @unchecked Sendable {
    public let machine: Machine
    /// mm->pgd: the pfn of the top-level table.
    public let pgdPfn: Int
    let frames: UnsafeMutableRawPointer
    let context: UnsafeMutablePointer<MemmapContext>
    let ptlOffset: Int
    /// The mm these tables belong to. Set once by `Process` before the tables are shared;
    /// weak, because the mm owns the tables (as its VMAPageOps).
    weak var owner: MM?
    /// The same mm, for what it drives through its tables (faults, fork, GUP, the VMA
    /// operations): those run only while it lives (their caller holds it), so the
    /// reference is unretained, read on every fault without reference counting. Set
    /// with `owner`. Rmap, which finds the tables through a file's i_mmap, uses `owner`.
    unowned(unsafe) var mm: MM!
    private let exited = ManagedAtomic<Bool>(false)

    /// Marks the tables torn down; true for the first caller only.
    func markExited() -> Bool { !exited.exchange(true, ordering: .acquiringAndReleasing) }

    /// Linux: `mm_alloc_pgd()` / `pgd_alloc()`. Throws ENOMEM when no page is left.
    public init(machine: Machine) throws(Errno) {
        self.machine = machine
        frames = machine.frames.base
        context = machine.context
        ptlOffset = machine.layout.ptdescPtl
        guard let pgd = machine.pagetableAlloc(Self.gfp) else { throw Errno.ENOMEM }
        pgdPfn = pgd.pfn
        initPtl(pgd.pfn)
    }

    /// GFP_PGTABLE_USER: GFP_KERNEL_ACCOUNT | __GFP_ZERO.
    static let gfp: GFP = [.kernel, .account, .zero]

    /// Linux: `pgd_free()`; the mm must have been torn down (exit_mmap() freed the
    /// lower levels).
    func freePgd() {
        machine.tableRCU.free(pgdPfn, machine: machine)
    }

    // MARK: Entry slots

    @inline(__always)
    func slot(_ tablePfn: Int, _ index: Int) -> EntrySlot {
        EntrySlot(pointer: (frames + (tablePfn << 12) + index &* 8).assumingMemoryBound(to: EntrySlot.Storage.self))
    }

    /// pgd_offset() + pud_offset() + pmd_offset(): the PMD slot of `addr`, or nil where a
    /// level is missing (allocate: false) or no page is left for it (allocate: true).
    @inline(__always)
    func pmdSlot(_ addr: UInt64, allocate: Bool) -> EntrySlot? {
        guard let pud = lowerTable(slot(pgdPfn, Paging.index(addr, Paging.pgdShift)), allocate: allocate),
              let pmd = lowerTable(slot(pud, Paging.index(addr, Paging.pudShift)), allocate: allocate) else { return nil }
        return slot(pmd, Paging.index(addr, Paging.pmdShift))
    }

    /// The table an upper-level entry points to, allocating and installing one when the
    /// entry is empty (`__pud_alloc()`, `__pmd_alloc()`, `__pte_alloc()` +
    /// `pmd_install()`): a racing installer wins by compare-and-exchange and the loser's
    /// table is freed. nil for an empty entry without allocate, a leaf (huge) entry, or
    /// ENOMEM.
    @inline(__always)
    func lowerTable(_ entry: EntrySlot, allocate: Bool) -> Int? {
        let current = entry.load()
        if current.isPresent { return current.isLeaf ? nil : current.pfn }
        guard allocate, current.isNone else { return nil }
        return installTable(entry)
    }

    func installTable(_ entry: EntrySlot) -> Int? {
        guard let page = machine.pagetableAlloc(Self.gfp) else { return nil }
        initPtl(page.pfn)
        if entry.compareExchange(expected: PTE(rawValue: 0), desired: .table(pfn: page.pfn)) { return page.pfn }
        machine.pagetableFree(page)
        let winner = entry.load()
        return winner.isPresent && !winner.isLeaf ? winner.pfn : nil
    }

    /// pte_offset_map(): the PTE slot of `addr` if a PTE table maps it.
    @inline(__always)
    public func pteSlot(_ addr: UInt64) -> EntrySlot? {
        guard let pmd = pmdSlot(addr, allocate: false) else { return nil }
        let entry = pmd.load()
        guard entry.isPresent, !entry.isLeaf else { return nil }
        return slot(entry.pfn, Paging.index(addr, Paging.pageShift))
    }

    /// The entry mapping `addr` at the PTE level, or the huge PMD covering it; none if
    /// nothing maps it. For inspection and tests (no lock; a snapshot).
    public func entry(at addr: UInt64) -> (pte: PTE, huge: Bool) {
        guard let pmd = pmdSlot(addr, allocate: false) else { return (PTE(rawValue: 0), false) }
        let pmdEntry = pmd.load()
        if pmdEntry.isLeaf { return (pmdEntry, true) }
        if !pmdEntry.isPresent { return (pmdEntry, false) }
        return (slot(pmdEntry.pfn, Paging.index(addr, Paging.pageShift)).load(), false)
    }

    // MARK: Page-table locks (ptdesc->ptl)

    /// Linux: `ptlock_init()` (spin_lock_init(&ptdesc->ptl)); where the ptdesc lives is
    /// the descriptor scheme's (`ptdesc(_:)`).
    func initPtl(_ tablePfn: Int) {
        context.ptdesc(tablePfn).setAtomic(ptlOffset, 0)
    }

    /// Linux: `spin_lock(ptlock_ptr(ptdesc))`: a test-and-set spinlock on the real
    /// spinlock_t bytes of the table's ptdesc, yielding the CPU while it spins (the
    /// model's threads may be preempted while holding it; the kernel's are not).
    @inline(__always)
    public func lockTable(_ tablePfn: Int) {
        let ptdesc = context.ptdesc(tablePfn), ptl = ptlOffset
        if ptdesc.atomicCompareExchange(ptl, expected: 0, desired: 1).exchanged { return }
        var spins = 0
        while !(ptdesc.atomic(ptl) == 0 && ptdesc.atomicCompareExchange(ptl, expected: 0, desired: 1).exchanged) {
            spins += 1
            if spins > 32 { sched_yield_model() }
        }
    }

    /// Linux: `spin_unlock()`.
    @inline(__always)
    public func unlockTable(_ tablePfn: Int) { context.ptdesc(tablePfn).setAtomicRelease(ptlOffset, 0) }

    /// Runs `body` with the PTE table of `addr` locked (pte_offset_map_lock()), passing
    /// the slot of `addr`; nil if no PTE table maps `addr`. The PMD is re-read under the
    /// lock, as pte_offset_map_lock() re-validates it.
    @inline(__always)
    public func withPTELock<T>(_ addr: UInt64, _ body: (EntrySlot, Int) -> T) -> T? {
        guard let pmd = pmdSlot(addr, allocate: false) else { return nil }
        let entry = pmd.load()
        guard entry.isPresent, !entry.isLeaf else { return nil }
        let table = entry.pfn
        lockTable(table)
        defer { unlockTable(table) }
        guard pmd.load() == entry else { return nil }
        return body(slot(table, Paging.index(addr, Paging.pageShift)), table)
    }

    // MARK: Counting

    /// Page-table pages of this mm (pgd included), counted by walking (mm_pgtables_bytes()).
    public var tablePages: Int {
        var count = 1
        for g in 0..<Paging.entries {
            let pgd = slot(pgdPfn, g).load()
            guard pgd.isPresent else { continue }
            count += 1
            for u in 0..<Paging.entries {
                let pud = slot(pgd.pfn, u).load()
                guard pud.isPresent, !pud.isLeaf else { continue }
                count += 1
                for m in 0..<Paging.entries {
                    let pmd = slot(pud.pfn, m).load()
                    if pmd.isPresent, !pmd.isLeaf { count += 1 }
                }
            }
        }
        return count
    }
}

#if canImport(Glibc)
import Glibc
@inline(__always) func sched_yield_model() { _ = sched_yield() }
#elseif canImport(Darwin)
import Darwin
@inline(__always) func sched_yield_model() { _ = sched_yield() }
#endif
