// Freeing page tables safely under lockless walkers: the model's MMU_GATHER_RCU_TABLE_FREE
// (mm/mmu_gather.c: tlb_remove_table(), tlb_remove_table_sync_one()). GUP-fast walks the
// tables with interrupts disabled, which holds off the IPI or RCU grace period a table
// free waits for; the model counts walkers instead.
import Synchronization

/// Deferred freeing of page-table pages. A lockless walker brackets its walk with
/// `enter()`/`leave()`; a table freed while any walker is inside is queued and freed when
/// the last walker leaves (or at the next free with none inside), so no walker ever reads
/// a table page that was freed and reused. Differs from the kernel in granularity: one
/// machine-wide reader count stands for every CPU's irq-disabled section.
public final class PageTableRCU: Sendable {
    private let readers = Atomic<Int>(0)
    private let pending = ModelMutex<[Int]>([])
    private let pendingCount = Atomic<Int>(0)

    init() {}

    /// local_irq_save() at the start of gup_fast().
    @inline(__always)
    public func enter() { readers.add(1, ordering: .sequentiallyConsistent) }

    /// local_irq_restore() at the end of gup_fast(); the last walker out frees what was queued.
    @inline(__always)
    public func leave(machine: Machine) {
        if readers.subtract(1, ordering: .sequentiallyConsistent).newValue == 0,
           pendingCount.load(ordering: .acquiring) > 0 {
            drain(machine)
        }
    }

    /// tlb_remove_table(): free the table page now if no walker is inside, else later.
    func free(_ pfn: Int, machine: Machine) {
        if readers.load(ordering: .sequentiallyConsistent) == 0, pendingCount.load(ordering: .relaxed) == 0 {
            machine.pagetableFree(Page(unchecked: pfn, machine.context))
            return
        }
        pending.withLock { $0.append(pfn) }
        pendingCount.add(1, ordering: .releasing)
        if readers.load(ordering: .acquiring) == 0 { drain(machine) }
    }

    private func drain(_ machine: Machine) {
        let tables = pending.withLock { list -> [Int] in
            // Re-checked under the lock: a walker that entered meanwhile keeps them queued.
            guard readers.load(ordering: .acquiring) == 0 else { return [] }
            defer { list.removeAll() }
            return list
        }
        guard !tables.isEmpty else { return }
        pendingCount.subtract(tables.count, ordering: .releasing)
        for pfn in tables { machine.pagetableFree(Page(unchecked: pfn, machine.context)) }
    }

    /// Tables waiting for walkers to leave.
    public var queued: Int { pendingCount.load(ordering: .relaxed) }
}
