// The mirror's coherence with the CPU page tables and its atomic access (lib/test_hmm.c,
// v6.19): dmirror_fops_open()/release()'s interval notifier, dmirror_interval_invalidate()
// and dmirror_do_update(), and the EXCLUSIVE / CHECK_EXCLUSIVE ioctls
// (dmirror_exclusive(), dmirror_atomic_map(), dmirror_check_atomic()).
import Synchronization

/// One entry of the device page table: `xa_tag_pointer(page, tag)` with the page given
/// by the pfn holding its data.
struct DPTEntry: Equatable, Sendable {
    /// DPT_XA_TAG_ATOMIC and DPT_XA_TAG_WRITE; a read-only entry has tag 0.
    static let tagAtomic: UInt8 = 1
    static let tagWrite: UInt8 = 3
    let pfn: Int
    let tag: UInt8

    init(pfn: Int, tag: UInt8) {
        self.pfn = pfn
        self.tag = tag
    }

    init(pfn: Int, write: Bool) { self.init(pfn: pfn, tag: write ? Self.tagWrite : 0) }

    /// dmirror_do_write() writes only through WRITE-tagged entries (not ATOMIC ones).
    var write: Bool { tag == Self.tagWrite }
    var atomic: Bool { tag == Self.tagAtomic }
}

extension DeviceMirror {
    /// Linux: `dmirror_fops_open()`'s `mmu_interval_notifier_insert(&dmirror->notifier,
    /// current->mm, 0, ULONG_MAX & PAGE_MASK, &dmirror_min_ops)`.
    func openNotifier() {
        let sub = MMUIntervalNotifier { [weak self] sub, range, seq in
            self?.intervalInvalidate(sub, range, seq) ?? true
        }
        notifier = sub
        try? process.mm.mmuIntervalNotifierInsert(sub, start: 0, length: UInt64.max & ~(UserVM.pageSize - 1))
    }

    /// Linux: `dmirror_fops_release()`: the notifier goes, and with it the device page
    /// table. Idempotent.
    public func close() {
        guard let sub = notifier else { return }
        notifier = nil
        process.mm.mmuIntervalNotifierRemove(sub)
        pt.withLock { $0.removeAll() }
    }

    /// Linux: `dmirror_interval_invalidate()`: a MIGRATE event of this device's own
    /// pagemap owner is ignored (the migration updates the device page table itself);
    /// anything else records the sequence and erases the range under the mirror's lock.
    /// As `dmirror_do_update()`'s `xa_for_each_range(pt, pfn, entry, start >> PAGE_SHIFT,
    /// end >> PAGE_SHIFT)` has an inclusive last index, the page at `end` goes too.
    private func intervalInvalidate(_ sub: MMUIntervalNotifier, _ range: MMUNotifierRange, _ seq: UInt64) -> Bool {
        if range.event == .migrate, range.owner == device.owner { return true }
        pt.withLock { pt in
            sub.setSeq(seq)
            let first = range.start >> UserVM.pageShift, last = range.end >> UserVM.pageShift
            if UInt64(pt.count) <= last &- first {
                // In place, so that the table keeps its capacity (a filtered copy would
                // be grown again, rehashing, by the next migration's inserts).
                for vpfn in pt.keys.filter({ $0 >= first && $0 <= last }) { pt.removeValue(forKey: vpfn) }
            } else {
                for vpfn in first...last { pt.removeValue(forKey: vpfn) }
            }
        }
        return true
    }

    /// HMM_DMIRROR_EXCLUSIVE: `make_device_exclusive()` on each page (owner NULL, so the
    /// mirror's own MMU_NOTIFY_EXCLUSIVE erases the page first), each page mapped ATOMIC
    /// in the device page table, then the range read back into `into` (cpages). The
    /// first failing page's errno ends it (EFAULT for a hole or a read-only VMA,
    /// EOPNOTSUPP for a page that is not anonymous).
    public func exclusive(addr: UInt64, npages: UInt64, into buffer: inout [UInt8]) throws(Errno) -> Result {
        let (start, end) = try range(addr, npages)
        let tables = process.tables
        let machine = device.machine
        try process.mm.mmapLock.withReadLock { () throws(Errno) in
            var page = start
            while page < end {
                let (p, folio) = try tables.makeDeviceExclusive(page, owner: nil)
                pt.withLock { $0[page >> UserVM.pageShift] = DPTEntry(pfn: p.pfn, tag: DPTEntry.tagAtomic) }
                folio.unlock()
                machine.folioPut(folio)
                page &+= UserVM.pageSize
            }
        }
        return try read(start, end, into: &buffer)
    }

    /// HMM_DMIRROR_CHECK_EXCLUSIVE (`dmirror_check_atomic()`): EPERM while any page of the
    /// range is still mapped ATOMIC by the device, 0 once CPU access revoked them all.
    public func checkExclusive(addr: UInt64, npages: UInt64) throws(Errno) {
        let (start, end) = try range(addr, npages)
        let atomic = pt.withLock { pt in
            (start >> UserVM.pageShift ..< end >> UserVM.pageShift).contains { pt[$0]?.atomic == true }
        }
        if atomic { throw .EPERM }
    }
}
