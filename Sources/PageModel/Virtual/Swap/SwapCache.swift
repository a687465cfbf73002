// The swap cache: swap entry → folio (mm/swap_state.c: swap_cache_add_folio(),
// swap_cache_get_folio(), __swap_cache_del_folio()/delete_from_swap_cache(),
// folio_free_swap() in mm/swapfile.c), with PG_swapcache and folio->swap in the memmap.
import Synchronization

/// The swap cache of a machine: every slot of a folio's entries maps to the folio.
/// A folio in it has PG_swapcache (= PG_owner_priv_1 in v6.19), its first entry's
/// `swp_entry_t.val` in `folio->swap` (the `private` word), and `nr` references held by
/// the cache. `NR_SWAPCACHE` counts its pages.
///
/// Thread safety: the table is behind one `Mutex` (the swap address space's xa_lock);
/// no folio lock is taken while it is held.
public final class SwapCache: Sendable {
    unowned let machine: Machine
    let table: SwapInfoTable
    private let entries = ModelMutex<[SwapEntry: Folio]>([:])
    private let pages = Atomic<Int>(0)

    init(machine: Machine, table: SwapInfoTable) {
        self.machine = machine
        self.table = table
    }

    /// `NR_SWAPCACHE`: pages in the swap cache.
    public var nrSwapcache: Int { pages.load(ordering: .relaxed) }
    /// Folios in the swap cache.
    public var folioCount: Int { entries.withLock { Set($0.values.map(\.address)).count } }

    /// Linux: `folio_test_swapcache()`.
    public func contains(_ folio: Folio) -> Bool { folio.testFlag(machine.flagBits.ownerPriv1) && entry(of: folio) != nil }

    /// `folio->swap` of a folio in the swap cache; nil for one that is not.
    public func entry(of folio: Folio) -> SwapEntry? {
        guard folio.testFlag(machine.flagBits.ownerPriv1) else { return nil }
        let entry = SwapEntry(value: folio.privateValue, bitsPerLong: machine.config.arch.bitsPerLong)
        return entries.withLock { $0[entry] == folio } ? entry : nil
    }

    /// Linux: `swap_cache_add_folio()` (`add_to_swap_cache()`): a locked folio enters the
    /// cache at `entry` (its first slot, aligned to its size): PG_swapcache and PG_swapbacked
    /// set, `folio->swap = entry`, `nr` references taken. Every slot must hold
    /// SWAP_HAS_CACHE (from `SwapSpace.allocate` or `prepareSwapin`), else EINVAL;
    /// EEXIST when a slot already has a folio; EINVAL (recorded: the kernel's
    /// VM_BUG_ON_FOLIO) for an unlocked folio, one already in the swap cache, or a
    /// misaligned entry.
    public func add(_ folio: Folio, entry: SwapEntry) throws(Errno) {
        let bits = machine.flagBits, nr = folio.nrPages
        guard folio.isLocked, !folio.testFlag(bits.ownerPriv1) else {
            machine.diagnostics.record(Diagnostic(kind: .bug, pfn: UInt64(folio.pfn),
                                                  reason: folio.isLocked ? "swap_cache_add_folio: folio already in the swap cache" : "swap_cache_add_folio: folio not locked",
                                                  dump: machine.dumpPage(folio.headPage)))
            throw .EINVAL
        }
        guard entry.offset & UInt64(nr - 1) == 0, let device = table.device(entry.type) else { throw .EINVAL }
        for i in 0..<nr where !device.hasCache(entry.offset + UInt64(i)) { throw .EINVAL }
        try entries.withLock { (entries: inout [SwapEntry: Folio]) throws(Errno) in
            for i in 0..<nr where entries[entry.advanced(by: i)] != nil { throw .EEXIST }
            for i in 0..<nr { entries[entry.advanced(by: i)] = folio }
            folio.refAdd(Int32(nr))
            folio.setFlag(bits.swapbacked)
            folio.privateValue = entry.value(bitsPerLong: machine.config.arch.bitsPerLong)
            folio.setFlag(bits.ownerPriv1)
        }
        pages.add(nr, ordering: .relaxed)
    }

    /// The folio at an entry, without a reference (tests, reclaim that holds its own).
    public func lookup(_ entry: SwapEntry) -> Folio? { entries.withLock { $0[entry] } }

    /// Linux: `swap_cache_get_folio()`: the folio at an entry with a reference taken for
    /// the caller, or nil.
    public func getFolio(_ entry: SwapEntry) -> Folio? {
        entries.withLock { entries in
            guard let folio = entries[entry] else { return nil }
            folio.get()
            return folio
        }
    }

    /// Linux: `delete_from_swap_cache()` (`__swap_cache_del_folio()` + `put_swap_folio()`
    /// + `folio_ref_sub(folio, nr)`): a locked folio leaves the cache: PG_swapcache and
    /// `folio->swap` cleared, SWAP_HAS_CACHE given back on every slot (slots with no
    /// reference left are freed), the cache's `nr` references dropped (freeing the folio
    /// if they were the last). False, changing nothing, for a folio not in the cache,
    /// under writeback, or not locked (recorded).
    @discardableResult
    public func remove(_ folio: Folio) -> Bool {
        guard let entry = entry(of: folio) else { return false }
        guard folio.isLocked else {
            machine.diagnostics.record(Diagnostic(kind: .bug, pfn: UInt64(folio.pfn), reason: "delete_from_swap_cache: folio not locked",
                                                  dump: machine.dumpPage(folio.headPage)))
            return false
        }
        guard !folio.testFlag(machine.flagBits.writeback) else { return false }
        let nr = folio.nrPages
        let removed = entries.withLock { entries -> Bool in
            guard entries[entry] == folio else { return false }
            for i in 0..<nr { entries.removeValue(forKey: entry.advanced(by: i)) }
            folio.clearFlag(machine.flagBits.ownerPriv1)
            folio.privateValue = 0
            return true
        }
        guard removed else { return false }
        pages.subtract(nr, ordering: .relaxed)
        if let device = table.device(entry.type) {
            for i in 0..<nr { device.clearCache(entry.offset + UInt64(i)) }
        }
        if nr == 1 { machine.folioPut(folio) }
        else if folio.refSubAndTest(Int32(nr)) { machine.freeFolio(folio) }
        return true
    }
}
