// The page cache of one file: struct address_space (include/linux/fs.h) with its i_pages
// xarray of folios of any order, filemap_add_folio()/filemap_get_folio()/filemap_fault()
// and filemap_remove_folio()/remove_mapping() (mm/filemap.c, mm/vmscan.c), shmem's
// shmem_get_folio()/shmem_fault() (mm/shmem.c), and i_mmap, the list of who maps the file.
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who maps a file: an address space (or its rmap walker) that can zap the page-table
/// entries of a range of the file. Registered with `PageCacheMapping.iMmapAdd(_:)`, held
/// weakly. Linux: the VMAs on `mapping->i_mmap` and what `unmap_mapping_range()` does
/// with them.
public protocol PageCacheUnmapper: AnyObject, Sendable {
    /// Linux: `unmap_mapping_range()` / `unmap_mapping_pages()`: zap every PTE that maps
    /// page `firstIndex...lastIndex` of `mapping` (lastIndex `UInt64.max`: to the end of
    /// the file), dropping the mappings' folio references. `evenCows`: also zap private
    /// COW copies of those pages (truncate: true; hole punch: false).
    /// Called with no page-cache lock held, before the folios leave the cache.
    func unmapMappingRange(_ mapping: PageCacheMapping, firstIndex: UInt64, lastIndex: UInt64, evenCows: Bool)

    /// Linux: `folio_mkclean()`: write-protect and clean every PTE that maps `folio`, so
    /// that the next write faults and dirties the folio again. Called by writeback with
    /// the folio locked, before PG_dirty is cleared. Returns how many PTEs were cleaned.
    /// Default: 0 (nothing mapped through this unmapper).
    func mkcleanFolio(_ mapping: PageCacheMapping, folio: Folio) -> Int
}

extension PageCacheUnmapper {
    public func mkcleanFolio(_ mapping: PageCacheMapping, folio: Folio) -> Int { 0 }
}

extension Folio {
    /// Linux: `folio_trylock()`: test_and_set_bit_lock(PG_locked) on the folio's flags
    /// (the head page's in the 64-byte family, the descriptor's in the memdesc designs).
    public func tryLock() -> Bool {
        let bit = context.pointee.bits.locked, offset = context.pointee.layout.folioFlags
        guard bit >= 0, offset >= 0 else { return false }
        return !testAndSetBitLock(bit, inWord: offset)
    }

    /// Linux: `folio_lock()`. The model has no wait queues (PG_waiters stays clear): it
    /// spins, yielding the CPU, until the bit is free.
    public func lock() {
        while !tryLock() { PageCacheMapping.yieldCPU() }
    }

    /// Linux: `folio_unlock()`: clear_bit_unlock(PG_locked).
    public func unlock() {
        let bit = context.pointee.bits.locked, offset = context.pointee.layout.folioFlags
        if bit >= 0, offset >= 0 { clearBitUnlock(bit, inWord: offset) }
    }

    /// Linux: `folio_test_locked()`.
    public var isLocked: Bool { testFlag(context.pointee.bits.locked) }

    /// Linux: `folio_mapped()`: any page-table mapping (small: `_mapcount`; large:
    /// `_large_mapcount` or `_entire_mapcount`).
    var isMappedInPageTables: Bool {
        if mapcountRaw != -1 { return true }
        if isLarge {
            if let large = largeMapcountRaw, large != -1 { return true }
            if let entire = entireMapcountRaw, entire != -1 { return true }
        }
        return false
    }
}

/// The page cache of one file. Linux: `struct address_space`.
///
/// Its kernel address (`folio->mapping` of its folios) is a heap object of kind
/// `.addressSpace`, registered in `machine.registry`, so that reclaim and rmap find the
/// mapping from a folio (`Machine.pageCacheMapping(of:)`).
///
/// A folio of order k at index i covers pages [i, i + 2^k), i aligned to 2^k; a lookup of
/// any page in the range finds it. The cache holds `folio_nr_pages()` references on each
/// of its folios (`filemap_add_folio()` → `folio_ref_add(folio, nr)`).
///
/// Thread safety: the folio table, page count and i_mmap list are behind one `Mutex`
/// (`i_pages`' xa_lock and `i_mmap_rwsem`); no folio lock is ever taken while it is held
/// (lock order: folio lock, then the mapping lock). `host` is written once, in
/// `Inode.init`, before the mapping is published.
public final class PageCacheMapping: @unchecked Sendable {
    /// sizeof(struct address_space) on x86-64 (v6.x, pahole: 200 bytes; the model keeps
    /// the fields in Swift and allocates the object for its address and its heap bytes).
    static let objectSize = 200

    public let machine: Machine
    public let kind: FilesystemKind
    /// The kernel address of the address_space: what `folio->mapping` holds.
    public let address: UInt64
    let stats: WritebackStats
    /// `mapping->host`.
    public private(set) weak var host: Inode?

    struct WeakUnmapper {
        weak var object: (any PageCacheUnmapper)?
    }
    struct State {
        /// i_pages: folios by their first index.
        var folios: [UInt64: Folio] = [:]
        /// `mapping->nrpages`.
        var nrPages = 0
        /// shmem: pages swapped out, as the swap value entries i_pages holds in their
        /// place (`shmem_writeout()`); each holds one swap_map reference.
        var swapped: [UInt64: SwapEntry] = [:]
        /// `mapping->i_mmap`.
        var unmappers: [WeakUnmapper] = []
        var evicted = false
    }
    let state = ModelMutex(State())

    init(machine: Machine, kind: FilesystemKind, stats: WritebackStats) throws(Errno) {
        guard let address = machine.heap.allocate(size: Self.objectSize, alignment: 8, kind: .addressSpace) else { throw .ENOMEM }
        self.machine = machine
        self.kind = kind
        self.stats = stats
        self.address = address
        machine.registry.register(self, at: address)
    }

    func attach(host: Inode) { self.host = host }

    static func yieldCPU() {
        #if canImport(Glibc) || canImport(Darwin)
        sched_yield()
        #endif
    }

    /// Linux: `mapping_can_writeback()` / `vma_needs_dirty_tracking()` for a shared
    /// mapping of this file: true for the disk filesystem, false for shmem.
    public var needsDirtyTracking: Bool { kind == .disk }

    /// `mapping->nrpages`.
    public var nrPages: Int { state.withLock { $0.nrPages } }

    /// Folios in the cache.
    public var folioCount: Int { state.withLock { $0.folios.count } }

    /// Every folio in the cache, by index (tests, reclaim scans).
    public var folios: [Folio] { state.withLock { $0.folios.sorted { $0.key < $1.key }.map(\.value) } }

    // MARK: lookup

    static func coveringLocked(_ index: UInt64, _ state: borrowing State) -> Folio? {
        for order in 0...BuddyConstants.maxOrder {
            let start = index & ~((UInt64(1) << UInt64(order)) - 1)
            if let folio = state.folios[start], index - start < UInt64(folio.nrPages) { return folio }
        }
        return nil
    }

    /// Linux: `filemap_get_folio()` without FGP_CREAT and without taking a reference:
    /// the folio covering page `index`, or nil. For tests and for reclaim, which must hold
    /// its own reference (or the folio lock) before using the folio.
    public func lookup(index: UInt64) -> Folio? {
        state.withLock { Self.coveringLocked(index, $0) }
    }

    /// Linux: `filemap_get_entry()` + `folio_try_get()`: the folio covering `index` with a
    /// reference taken for the caller, or nil.
    func lookupGet(_ index: UInt64) -> Folio? {
        state.withLock { state in
            guard let folio = Self.coveringLocked(index, state) else { return nil }
            folio.get()
            return folio
        }
    }

    // MARK: adding

    /// Whether pages [start, start + count) hold no folio.
    static func rangeFreeLocked(_ start: UInt64, _ count: Int, _ state: borrowing State) -> Bool {
        if coveringLocked(start, state) != nil { return false }
        for i in 1..<max(count, 1) where state.folios[start + UInt64(i)] != nil { return false }
        return true
    }

    /// Linux: `filemap_add_folio()` (`__filemap_add_folio()`): insert a locked folio at
    /// `index` (aligned to its size); sets `folio->mapping` and `folio->index`, takes
    /// `nr` references for the cache, counts NR_FILE_PAGES (and NR_SHMEM). EEXIST if any
    /// page of its range is cached already, EINVAL for a misaligned index.
    func add(_ folio: Folio, at index: UInt64) throws(Errno) {
        let nr = folio.nrPages
        guard index & UInt64(nr - 1) == 0 else { throw .EINVAL }
        let added = state.withLock { state -> Bool in
            guard !state.evicted, Self.rangeFreeLocked(index, nr, state) else { return false }
            folio.mapping = address
            folio.index = index
            folio.refAdd(Int32(nr))
            state.folios[index] = folio
            state.nrPages += nr
            return true
        }
        guard added else { throw .EEXIST }
        stats.filePages.add(nr, ordering: .relaxed)
        if kind == .shmem { stats.shmemPages.add(nr, ordering: .relaxed) }
    }

    /// Allocates, fills and inserts a folio covering `index`, of order `wanted` where the
    /// aligned range is free and within the file's limit, else smaller orders down to 0.
    /// Returns the folio with one reference for the caller (the allocation's), unlocked
    /// and uptodate; or, if another thread inserted one first, that one, referenced.
    /// Linux: `filemap_create_folio()` / `shmem_alloc_and_add_folio()`; shmem and holes
    /// are zeroed (`folio_zero_range()`), disk pages read from the blocks (`->read_folio()`).
    func create(index: UInt64, order wanted: Int) throws(Errno) -> Folio {
        let maxIndex = host?.maxIndex ?? 0
        guard index <= maxIndex else { throw .EFBIG }
        var order = min(max(wanted, 0), BuddyConstants.maxOrder)
        while true {
            let nr = 1 << order
            let start = index & ~UInt64(nr - 1)
            if order > 0 {
                let fits = start + UInt64(nr - 1) <= maxIndex && state.withLock { Self.rangeFreeLocked(start, nr, $0) }
                if !fits { order -= 1; continue }
            }
            let gfp: GFP = order > 0 ? [.highuserMovable, .nowarn, .noretry] : .highuserMovable
            guard let folio = machine.folioAlloc(gfp, order: order) else {
                if order == 0 { throw .ENOMEM }
                order -= 1
                continue
            }
            fill(folio, start: start)
            folio.setFlag(machine.flagBits.uptodate)
            if kind == .shmem { folio.setFlag(machine.flagBits.swapbacked) }
            _ = folio.tryLock()   // a new folio: nobody else can hold it
            do {
                try add(folio, at: start)
                // filemap_add_folio() → folio_add_lru(): reclaim finds it on the file
                // (or, for shmem, the anon) LRU.
                machine.folioAddLRU(folio)
                folio.unlock()
                return folio
            } catch {
                folio.unlock()
                folio.clearFlag(machine.flagBits.uptodate)
                folio.clearFlag(machine.flagBits.swapbacked)
                machine.folioPut(folio)
                if let raced = lookupGet(index) { return raced }
                if state.withLock({ $0.evicted }) { throw .ENXIO }
                // Another folio took part of the range: try smaller.
                if order == 0 { continue }
                order -= 1
            }
        }
    }

    /// The contents of a new folio: the disk blocks (holes as zeroes), or zeroes.
    func fill(_ folio: Folio, start: UInt64) {
        let blocks = kind == .disk ? host?.blocks : nil
        for i in 0..<folio.nrPages {
            guard let destination = machine.frames.pointer(pfn: folio.pfn + i) else { continue }
            if let blocks { blocks.read(start + UInt64(i), into: destination) }
            else { machine.frames.clear(pfn: folio.pfn + i) }
        }
    }

    /// The folio covering `index`, found or created, with one reference for the caller.
    func getOrCreate(_ index: UInt64, order: Int? = nil) throws(Errno) -> Folio {
        if let folio = try lookupOrSwapIn(index) { return folio }
        return try create(index: index, order: order ?? host?.preferredOrder ?? 0)
    }

    // MARK: the fault path

    /// Linux: `filemap_fault()` / `shmem_fault()`: the uptodate folio covering page
    /// `index` of the file, found in the cache or created (read from the disk blocks, or
    /// zeroed for holes and shmem) with the inode's preferred order, returned unlocked
    /// with ONE reference taken for the caller, which its page-table mapping keeps.
    ///
    /// Errors, as the fault path must turn them into a fault result:
    /// - `EFAULT`: `index >= DIV_ROUND_UP(i_size, PAGE_SIZE)`, the kernel's
    ///   VM_FAULT_SIGBUS (which `vm_fault_to_errno()` reports to GUP as -EFAULT); also
    ///   when the inode is gone. Deliver SIGBUS.
    /// - `ENOMEM`: no memory for the folio: VM_FAULT_OOM.
    public func faultFolio(index: UInt64) throws(Errno) -> Folio {
        try faultFolio(index: index, order: host?.preferredOrder ?? 0)
    }

    /// `faultFolio(index:)` creating, where the cache has no folio, one of order `order`
    /// if its aligned range is free (falling back to smaller orders): a THP-backed shmem
    /// fault (`shmem_get_folio_gfp()` with huge orders allowed) asks for PMD_ORDER (9).
    public func faultFolio(index: UInt64, order: Int) throws(Errno) -> Folio {
        guard let host else { throw .EFAULT }
        guard index < host.sizeInPages else { throw .EFAULT }
        let folio: Folio
        do throws(Errno) { folio = try getOrCreate(index, order: order) }
        catch let error where error == .ENOMEM { throw error }
        catch { throw .EFAULT }
        // filemap_fault(): "max_idx = DIV_ROUND_UP(i_size_read(inode), PAGE_SIZE)" again,
        // after the folio is ours: a racing truncate makes it SIGBUS.
        if index >= host.sizeInPages || folio.mapping != address {
            machine.folioPut(folio)
            throw .EFAULT
        }
        return folio
    }

    // MARK: removal

    /// Takes a folio out of the table; the caller then drops the cache's references with
    /// `putCacheReferences`. Linux: `page_cache_delete()` + `filemap_unaccount_folio()`:
    /// `folio->mapping = NULL`, nrpages and NR_FILE_PAGES/NR_SHMEM (and NR_FILE_DIRTY for
    /// a dirty folio of an accounting mapping, `folio_account_cleaned()`).
    @discardableResult
    func deleteFromCache(_ folio: Folio) -> Bool {
        let nr = folio.nrPages
        let deleted = state.withLock { state -> Bool in
            guard state.folios[folio.index] == folio else { return false }
            state.folios.removeValue(forKey: folio.index)
            state.nrPages -= nr
            folio.mapping = 0
            return true
        }
        guard deleted else { return false }
        stats.filePages.subtract(nr, ordering: .relaxed)
        if kind == .shmem { stats.shmemPages.subtract(nr, ordering: .relaxed) }
        if kind == .disk, folio.testFlag(machine.flagBits.dirty) {
            folio.clearFlag(machine.flagBits.dirty)
            stats.dirty.subtract(nr, ordering: .relaxed)
        }
        return true
    }

    /// Linux: `__folio_migrate_mapping()` for a page-cache folio: `new` takes `old`'s
    /// slot in i_pages and the cache's `nr` references move with it (old keeps none).
    /// Both are locked by the caller; false if `old` is not in this mapping.
    func replaceFolio(_ old: Folio, with new: Folio) -> Bool {
        let nr = old.nrPages
        let replaced = state.withLock { state -> Bool in
            guard state.folios[old.index] == old else { return false }
            state.folios[old.index] = new
            new.mapping = address
            new.index = old.index
            return true
        }
        guard replaced else { return false }
        new.refAdd(Int32(nr))
        _ = old.refSubAndTest(Int32(nr))   // the caller still holds old: never the last
        old.mapping = 0
        return true
    }

    /// Linux: `folio_put_refs(folio, nr)` (`filemap_free_folio()`): drops the cache's
    /// references, freeing the folio if they were the last.
    func putCacheReferences(_ folio: Folio, _ nr: Int) {
        if nr == 1 { machine.folioPut(folio); return }
        if folio.refSubAndTest(Int32(nr)) { machine.freeFolio(folio) }
        else if folio.refcount < 0 {
            machine.diagnostics.record(Diagnostic(kind: .bug, pfn: UInt64(folio.pfn), reason: "folio_put_refs: refcount underflow",
                                                  dump: machine.dumpPage(folio.headPage)))
            folio.setRefcount(0)
        }
    }

    /// The reason a folio may not leave the cache now, recorded as the kernel would
    /// warn; nil when it may.
    private func removalRefusal(_ folio: Folio, caller: String) -> String? {
        guard folio.mapping == address else { return "not in this mapping" }
        if !folio.isLocked {
            machine.diagnostics.record(Diagnostic(kind: .bug, pfn: UInt64(folio.pfn), reason: "\(caller): folio not locked",
                                                  dump: machine.dumpPage(folio.headPage)))
            return "not locked"
        }
        if folio.testFlag(machine.flagBits.dirty) { return "dirty" }
        if folio.testFlag(machine.flagBits.writeback) { return "under writeback" }
        if folio.isMappedInPageTables {
            machine.diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(folio.pfn), reason: "\(caller): folio still mapped",
                                                  dump: machine.dumpPage(folio.headPage)))
            return "mapped"
        }
        return nil
    }

    /// Linux: `filemap_remove_folio()` (`__filemap_remove_folio()` + `filemap_free_folio()`):
    /// takes a clean folio out of the cache and drops the cache's `nr` references.
    /// The caller holds the folio lock and its own reference, has unmapped the folio,
    /// and afterwards unlocks it and drops its reference (`folio_unlock()`, `folio_put()`).
    /// Returns false, changing nothing, for a folio that is not in this mapping, dirty,
    /// under writeback, not locked (recorded: the kernel's VM_BUG_ON) or still mapped
    /// (recorded: the kernel's "BUG: Bad page cache" warning).
    @discardableResult
    public func removeFolio(_ folio: Folio) -> Bool {
        guard removalRefusal(folio, caller: "filemap_remove_folio") == nil else { return false }
        guard deleteFromCache(folio) else { return false }
        putCacheReferences(folio, folio.nrPages)
        return true
    }

    /// Linux: `remove_mapping()` (`__remove_mapping()`, mm/vmscan.c): reclaim's removal,
    /// which also requires that nobody but the cache and the caller holds the folio:
    /// `folio_ref_freeze(folio, 1 + nr)` fails (false) if a GUP pin, a mapping or any
    /// other reference exists. On success the caller keeps exactly one reference
    /// (`folio_ref_unfreeze(folio, 1)`): unlocking and putting it frees the folio.
    @discardableResult
    public func removeMapping(_ folio: Folio) -> Bool {
        guard removalRefusal(folio, caller: "__remove_mapping") == nil else { return false }
        let nr = folio.nrPages
        let offset = machine.layout.folioRefcount
        guard offset >= 0, folio.atomicCompareExchange(offset, expected: Int32(1 + nr), desired: 0).exchanged else { return false }
        if !deleteFromCache(folio) {
            folio.setRefcount(Int32(1 + nr))
            return false
        }
        folio.setRefcount(1)
        return true
    }

    /// Linux: `truncate_inode_pages_final()` at `evict()`: every folio leaves the cache,
    /// dirty ones included (their dirtiness is cancelled), and the address_space is freed.
    func evict() {
        let all = state.withLock { state -> [Folio] in
            guard !state.evicted else { return [] }
            state.evicted = true
            defer { state.swapped.removeAll() }
            for entry in state.swapped.values { machine.swap.free(entry) }
            return Array(state.folios.values)
        }
        for folio in all {
            folio.lock()
            if deleteFromCache(folio) {
                folio.clearFlag(machine.flagBits.dirty)
                folio.unlock()
                putCacheReferences(folio, folio.nrPages)
            } else {
                folio.unlock()
            }
        }
        state.withLock { $0.unmappers.removeAll() }
        machine.registry.unregister(address)
        machine.heap.free(address, size: Self.objectSize, alignment: 8, kind: .addressSpace)
    }

    // MARK: i_mmap

    /// Linux: `vma_interval_tree_insert()` into `mapping->i_mmap` (at mmap of the file):
    /// registers who maps the file, held weakly and once per object.
    public func iMmapAdd(_ unmapper: any PageCacheUnmapper) {
        state.withLock { state in
            state.unmappers.removeAll { $0.object == nil }
            if !state.unmappers.contains(where: { $0.object === unmapper }) { state.unmappers.append(WeakUnmapper(object: unmapper)) }
        }
    }

    /// Linux: `vma_interval_tree_remove()` (the last mapping of the file went away).
    public func iMmapRemove(_ unmapper: any PageCacheUnmapper) {
        state.withLock { $0.unmappers.removeAll { $0.object == nil || $0.object === unmapper } }
    }

    /// Who maps the file now.
    public var iMmap: [any PageCacheUnmapper] { state.withLock { $0.unmappers.compactMap(\.object) } }

    /// Linux: `unmap_mapping_range()` on every registered mapper, with no lock held.
    public func unmapMappingRange(firstIndex: UInt64, lastIndex: UInt64, evenCows: Bool) {
        guard firstIndex <= lastIndex else { return }
        for unmapper in iMmap { unmapper.unmapMappingRange(self, firstIndex: firstIndex, lastIndex: lastIndex, evenCows: evenCows) }
    }
}

extension Machine {
    /// Linux: `folio_mapping()` for a page-cache folio: the `PageCacheMapping` whose
    /// address `folio->mapping` holds; nil for anonymous, swap-cache or free folios.
    public func pageCacheMapping(of folio: Folio) -> PageCacheMapping? {
        let mapping = folio.mapping
        guard mapping != 0, mapping & 3 == 0 else { return nil }
        return registry.object(at: mapping, as: PageCacheMapping.self)
    }
}
