// Dirtying and writing back page-cache folios: folio_mark_dirty()/filemap_dirty_folio()/
// noop_dirty_folio(), folio_clear_dirty_for_io(), folio_start_writeback()/
// folio_end_writeback() and filemap_write_and_wait() (mm/page-writeback.c, mm/filemap.c),
// with ->writepage copying real bytes to the disk blocks (block_write_full_folio()).

extension Folio {
    /// Linux: `folio_test_set_*()`: atomically sets a flag bit (`test_and_set_bit()`,
    /// fully ordered); returns its old value.
    func atomicTestAndSetFlag(_ bit: Int) -> Bool {
        testAndSetBit(bit, inWord: context.pointee.layout.folioFlags)
    }

    /// Linux: `folio_test_clear_*()`: atomically clears a flag bit
    /// (`test_and_clear_bit()`, fully ordered); returns its old value.
    func atomicTestAndClearFlag(_ bit: Int) -> Bool {
        testAndClearBit(bit, inWord: context.pointee.layout.folioFlags)
    }
}

extension PageCacheMapping {
    /// Linux: `folio_mark_dirty()` → `->dirty_folio()`. Disk: `filemap_dirty_folio()`:
    /// sets PG_dirty and, on the clean → dirty transition of a folio still in this
    /// mapping, counts `nr_dirty` and `nr_dirtied` (`folio_account_dirtied()`). Shmem:
    /// `noop_dirty_folio()`: PG_dirty only, nothing counted. Returns whether the folio
    /// was clean before.
    @discardableResult
    public func folioMarkDirty(_ folio: Folio) -> Bool {
        let wasDirty = folio.atomicTestAndSetFlag(machine.flagBits.dirty)
        guard !wasDirty else { return false }
        if kind == .disk, folio.mapping == address {
            stats.dirty.add(folio.nrPages, ordering: .relaxed)
            stats.dirtied.add(folio.nrPages, ordering: .relaxed)
        }
        return true
    }

    /// The first half of writing a folio back, for callers that want to see the folio
    /// under writeback: `folio_clear_dirty_for_io()` (every mapper's `folio_mkclean()`,
    /// then PG_dirty cleared, `nr_dirty` −nr), `folio_start_writeback()` (PG_writeback,
    /// `nr_writeback` +nr) and `->writepage`'s copy of the folio's pages inside i_size to
    /// the disk blocks (the page straddling i_size has its tail zeroed first, as
    /// `block_write_full_folio()` does). The caller holds the folio lock and keeps it
    /// until `endWriteback(_:)`: the model's I/O completes before the folio is unlocked.
    /// Returns false, changing nothing, for shmem (no writeback), a folio that is not in
    /// this mapping, not dirty, already under writeback, or not locked (recorded).
    public func beginWriteback(_ folio: Folio) -> Bool {
        guard kind == .disk, folio.mapping == address else { return false }
        guard folio.isLocked else {
            machine.diagnostics.record(Diagnostic(kind: .bug, pfn: UInt64(folio.pfn), reason: "folio_clear_dirty_for_io: folio not locked",
                                                  dump: machine.dumpPage(folio.headPage)))
            return false
        }
        let bits = machine.flagBits
        guard folio.testFlag(bits.dirty), !folio.testFlag(bits.writeback) else { return false }
        for unmapper in iMmap { _ = unmapper.mkcleanFolio(self, folio: folio) }
        let nr = folio.nrPages
        if folio.atomicTestAndClearFlag(bits.dirty) { stats.dirty.subtract(nr, ordering: .relaxed) }
        folio.setFlag(bits.writeback)
        stats.writeback.add(nr, ordering: .relaxed)
        if let host, let blocks = host.blocks {
            let size = UInt64(host.size)
            for i in 0..<nr {
                let index = folio.index + UInt64(i)
                let start = index << UInt64(FileLimits.pageShift)
                guard start < size, let frame = machine.frames.pointer(pfn: folio.pfn + i) else { continue }
                let valid = Int(min(size - start, UInt64(FileLimits.pageSize)))
                if valid < FileLimits.pageSize { (frame + valid).initializeMemory(as: UInt8.self, repeating: 0, count: FileLimits.pageSize - valid) }
                blocks.write(index, from: frame)
            }
        }
        return true
    }

    /// Linux: `folio_end_writeback()`: PG_writeback cleared, `nr_writeback` −nr,
    /// `nr_written` +nr. A folio not under writeback is left alone (false).
    @discardableResult
    public func endWriteback(_ folio: Folio) -> Bool {
        guard folio.atomicTestAndClearFlag(machine.flagBits.writeback) else { return false }
        stats.writeback.subtract(folio.nrPages, ordering: .relaxed)
        stats.written.add(folio.nrPages, ordering: .relaxed)
        return true
    }

    /// Linux: `folio_clear_dirty_for_io()` + `->writepage` + `folio_start_writeback()` /
    /// `folio_end_writeback()`: writes a dirty, locked folio's bytes to the disk blocks,
    /// leaving it clean and still locked. False for shmem (which has no writeback: its
    /// folios are swapped by reclaim) and for the cases `beginWriteback(_:)` refuses.
    @discardableResult
    public func writeback(_ folio: Folio) -> Bool {
        guard beginWriteback(folio) else { return false }
        endWriteback(folio)
        return true
    }

    /// Linux: `filemap_write_and_wait()` (fsync, sync): writes back every dirty folio,
    /// taking each folio's lock. Returns the number of folios written.
    @discardableResult
    public func writebackAll() -> Int {
        guard kind == .disk else { return 0 }
        let dirtyBit = machine.flagBits.dirty
        let dirty = state.withLock { state -> [Folio] in
            let found = state.folios.values.filter { $0.testFlag(dirtyBit) }.sorted { $0.index < $1.index }
            for folio in found { folio.get() }
            return found
        }
        var written = 0
        for folio in dirty {
            folio.lock()
            if writeback(folio) { written += 1 }
            folio.unlock()
            machine.folioPut(folio)
        }
        return written
    }
}
