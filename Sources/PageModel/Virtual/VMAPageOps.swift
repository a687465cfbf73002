// The page-level side of the VMA operations: what mm/vma.c, mm/mprotect.c, mm/madvise.c
// mm/mremap.c and mm/mlock.c ask of the page tables (unmap_vmas(), free_pgtables(),
// change_protection(), move_page_tables(), vma_adjust_trans_huge(), zap_page_range_single(),
// madvise_free_pte_range(), reclaim_pages(), madvise_collapse()'s scan,
// mlock_vma_pages_range(), populate_vma_page_range()).

/// The hook through which the VMA layer drives the page tables.
///
/// The VMA operations are complete at the VMA level (validation, errno, splitting,
/// merging, flags); whatever they do to pages goes through this protocol, which the page
/// table layer implements. Every method has a no-op default, so an MM without page tables
/// (`NoPageOps`) behaves like a kernel whose address space has never been touched.
///
/// Calling convention: every method is called with the mm's mmap_lock held: for write,
/// except `advise` and `collapse` (held for read, so page-level madvise() runs concurrently
/// with faults as in the kernel; for write for MADV_GUARD_*) and `populate` (held for read after mmap(), mlock() and
/// mremap() dropped the write lock, as mm_populate() does; for write from mprotect()).
/// Implementations must not call back into the MM's locking API; the VMAs they are given
/// are current snapshots. An implementation belongs to one mm and knows it
/// (`UserPageTables.mm`): the calls do not pass it.
public protocol VMAPageOps: Sendable {
    /// vma_adjust_trans_huge(): a VMA boundary is about to be placed at `addr` (split,
    /// shrink or partial merge); a PMD-mapped THP spanning `addr` must be split first.
    func vmaBoundaryWillMove(_ vma: VMA, to addr: UInt64)

    /// unmap_vmas() for one VMA: drop the mappings of `[start, end)` (munmap, MAP_FIXED
    /// over a mapping, mremap shrink or move source).
    func unmapRange(_ vma: VMA, start: UInt64, end: UInt64)

    /// free_pgtables(): free the page-table pages of `[start, end)` that no longer map
    /// anything, not touching tables shared with `floor`..`ceiling` neighbours (0 = none).
    func freePageTables(start: UInt64, end: UInt64, floor: UInt64, ceiling: UInt64)

    /// change_protection(): `vma` (already carrying its new flags) covers `[start, end)`
    /// whose PTEs must be rewritten.
    func changeProtection(_ vma: VMA, start: UInt64, end: UInt64)

    /// move_page_tables(): move the entries of `length` bytes from `oldAddr` in `from` to
    /// `newAddr` in `to`. Returns the bytes moved (the kernel may move less and then
    /// undo); the default moves everything, there being nothing to move.
    func movePageTables(from: VMA, oldAddr: UInt64, to: VMA, newAddr: UInt64, length: UInt64) -> UInt64

    /// The page-level part of an madvise() behaviour on `[start, end)` of `vma`, after the
    /// VMA-level checks passed: MADV_DONTNEED(_LOCKED) zaps, MADV_FREE marks lazy-free,
    /// MADV_PAGEOUT/MADV_COLD reclaim or deactivate, MADV_WILLNEED reads ahead,
    /// MADV_POPULATE_READ/WRITE fault in, MADV_REMOVE punches a hole in the backing file,
    /// MADV_GUARD_INSTALL/REMOVE place or clear guard markers. Errors are the kernel's
    /// for those paths.
    func advise(_ advice: Advice, _ vma: VMA, start: UInt64, end: UInt64) throws(Errno)

    /// MADV_COLLAPSE on the PMD-aligned `[start, end)` of `vma` (madvise_collapse()): collapse
    /// each 2 MiB range into a THP, throwing madvise_collapse_errno() of the last failure.
    func collapse(_ vma: VMA, start: UInt64, end: UInt64) throws(Errno)

    /// mlock_vma_pages_range(): `vma` now has its new VM_LOCKED/VM_LOCKONFAULT flags over
    /// `[start, end)`; mlock or munlock the folios mapped there.
    func mlockRange(_ vma: VMA, start: UInt64, end: UInt64)

    /// mm_populate(): fault in `[start, end)` (MAP_POPULATE, MAP_LOCKED, mremap of a
    /// VM_LOCKED VMA; mprotect() making a private VM_LOCKED VMA writable). Called with the
    /// mmap_lock held for read from mmap() and for write from mprotect(), as in the kernel.
    func populate(start: UInt64, end: UInt64)
}

extension VMAPageOps {
    public func vmaBoundaryWillMove(_ vma: VMA, to addr: UInt64) {}
    public func unmapRange(_ vma: VMA, start: UInt64, end: UInt64) {}
    public func freePageTables(start: UInt64, end: UInt64, floor: UInt64, ceiling: UInt64) {}
    public func changeProtection(_ vma: VMA, start: UInt64, end: UInt64) {}
    public func movePageTables(from: VMA, oldAddr: UInt64, to: VMA, newAddr: UInt64, length: UInt64) -> UInt64 {
        length
    }
    public func advise(_ advice: Advice, _ vma: VMA, start: UInt64, end: UInt64) throws(Errno) {}
    public func collapse(_ vma: VMA, start: UInt64, end: UInt64) throws(Errno) {}
    public func mlockRange(_ vma: VMA, start: UInt64, end: UInt64) {}
    public func populate(start: UInt64, end: UInt64) {}
}

/// An address space without page tables: every page-level effect is a no-op.
public struct NoPageOps: VMAPageOps {
    public init() {}
}
