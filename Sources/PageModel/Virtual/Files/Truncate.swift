// Truncation and hole punching: truncate_setsize()/truncate_pagecache(),
// truncate_pagecache_range(), truncate_inode_pages_range() and
// truncate_inode_partial_folio() (mm/truncate.c), pagecache_isize_extended()
// (mm/truncate.c), shmem_fallocate()'s hole punch (mm/shmem.c).

extension PageCacheMapping {
    /// Linux: `truncate_inode_pages_range(mapping, lstart, lend)` with the page-table
    /// side of `truncate_pagecache()`/`truncate_pagecache_range()`: removes bytes
    /// [start, end) of the file from the cache (`end == UInt64.max`: to the end).
    /// 1. `unmap_mapping_range()` of the pages wholly inside the range on every mapper
    ///    (`evenCows`: truncate zaps private COW copies too, hole punch does not);
    /// 2. every folio wholly inside leaves the cache, its dirtiness cancelled
    ///    (`truncate_inode_folio()`, unmapping it again if it is still mapped);
    /// 3. a folio only partly inside has that part zeroed in place
    ///    (`truncate_inode_partial_folio()` when the folio cannot be split; the model
    ///    never splits);
    /// 4. the disk blocks of the range are freed, and partly covered ones zeroed.
    func truncateRange(start: UInt64, end: UInt64, evenCows: Bool) {
        guard start < end else { return }
        let shift = UInt64(FileLimits.pageShift), pageSize = UInt64(FileLimits.pageSize)
        let firstFull = (start + pageSize - 1) >> shift
        let lastFull: UInt64? = end == .max ? .max : (end >> shift == 0 ? nil : (end >> shift) - 1)
        if let lastFull, firstFull <= lastFull {
            unmapMappingRange(firstIndex: firstFull, lastIndex: lastFull, evenCows: evenCows)
        }
        let firstIndex = start >> shift
        let lastIndex = end == .max ? UInt64.max : (end - 1) >> shift
        if let lastFull, firstFull <= lastFull { freeSwapped(firstIndex: firstFull, lastIndex: lastFull) }
        let affected = state.withLock { state -> [Folio] in
            let found = state.folios.values.filter { folio in
                folio.index <= lastIndex && folio.index + UInt64(folio.nrPages) - 1 >= firstIndex
            }.sorted { $0.index < $1.index }
            for folio in found { folio.get() }
            return found
        }
        for folio in affected {
            folio.lock()
            defer {
                folio.unlock()
                machine.folioPut(folio)
            }
            guard folio.mapping == address else { continue }
            let folioStart = folio.index << shift
            let folioEnd = folioStart + UInt64(folio.nrPages) << shift
            if start <= folioStart, end >= folioEnd {
                if folio.isMappedInPageTables {
                    unmapMappingRange(firstIndex: folio.index, lastIndex: folio.index + UInt64(folio.nrPages) - 1, evenCows: evenCows)
                }
                if deleteFromCache(folio) {
                    folio.clearFlag(machine.flagBits.dirty)
                    putCacheReferences(folio, folio.nrPages)
                }
            } else {
                let from = max(start, folioStart), to = min(end, folioEnd)
                if let base = machine.frames.pointer(pfn: folio.pfn) {
                    (base + Int(from - folioStart)).initializeMemory(as: UInt8.self, repeating: 0, count: Int(to - from))
                }
            }
        }
        guard let blocks = host?.blocks else { return }
        if let lastFull, firstFull <= lastFull {
            blocks.discard(firstFull, min(lastFull, host?.maxIndex ?? lastFull))
        }
        if start & (pageSize - 1) != 0 {
            let page = start >> shift
            let to = end >> shift == page ? Int(end & (pageSize - 1)) : Int(pageSize)
            blocks.zero(page, from: Int(start & (pageSize - 1)), to: to)
        }
        if end != .max, end & (pageSize - 1) != 0, end >> shift != start >> shift {
            blocks.zero(end >> shift, from: 0, to: Int(end & (pageSize - 1)))
        }
    }

    /// Linux: `pagecache_isize_extended()` / the zeroing `generic_cont_expand()` does:
    /// when i_size grows from `oldSize`, the bytes of the old last page past it (which a
    /// shared mapping may have written) are zeroed, in the cache and on disk, so that
    /// the extended file reads as zeroes.
    func zeroTailPastEOF(_ oldSize: UInt64) {
        let shift = UInt64(FileLimits.pageShift), pageSize = UInt64(FileLimits.pageSize)
        let offset = oldSize & (pageSize - 1)
        guard offset != 0 else { return }
        let index = oldSize >> shift
        if let folio = lookupGet(index) {
            folio.lock()
            if folio.mapping == address, let base = machine.frames.pointer(pfn: folio.pfn) {
                let folioStart = folio.index << shift
                let folioEnd = folioStart + UInt64(folio.nrPages) << shift
                (base + Int(oldSize - folioStart)).initializeMemory(as: UInt8.self, repeating: 0, count: Int(folioEnd - oldSize))
            }
            folio.unlock()
            machine.folioPut(folio)
        }
        host?.blocks?.zero(index, from: Int(offset), to: Int(pageSize))
    }
}
