// Pageblock migratetypes set from outside the allocator: isolation for memory offlining
// and contiguous allocation, and CMA areas (mm/page_isolation.c:
// start_isolate_page_range()/undo_isolate_page_range(); mm/page_alloc.c:
// set_pageblock_migratetype(), move_freepages_block(), init_cma_reserved_pageblock()).

extension Machine {
    /// Gives the pageblock containing `pfn` a migratetype and moves its free blocks to
    /// that type's lists. MIGRATE_ISOLATE keeps them from being allocated
    /// (`start_isolate_page_range()`); MIGRATE_CMA makes the block a CMA area that only
    /// movable allocations use. Returns false for a pfn outside every zone.
    @discardableResult
    public func setPageblockMigratetype(pfn: Int, _ type: MigrateType) -> Bool {
        guard memmap.isValid(pfn: pfn), let zone = zone(of: pfn), zone.span.span.contains(pfn) else { return false }
        zone.state.withLock { st in
            zone.drainPcpLocked(&st)
            let start = max(pfn & ~((1 << zone.pageblockOrder) - 1), zone.span.span.start)
            // A free block larger than a pageblock is split first (split_large_buddy()),
            // so that only this pageblock's pages change type.
            var order = BuddyConstants.maxOrder
            while order > zone.pageblockOrder {
                let head = start & ~((1 << order) - 1)
                if head >= zone.span.span.start, context.buddyOrder(head) == order {
                    zone.deleteFromFreeList(head, order: order, type: zone.migratetype(of: head, &st), &st)
                    for block in stride(from: head, to: head + (1 << order), by: 1 << zone.pageblockOrder) {
                        zone.addToFreeList(block, order: zone.pageblockOrder, type: zone.migratetype(of: block, &st), tail: false, &st)
                    }
                    break
                }
                order -= 1
            }
            zone.claimPageblocks(containing: start, order: zone.pageblockOrder, to: type.rawValue, &st)
            if type != .isolate {
                // unset_migratetype_isolate(): free blocks go back through
                // __free_one_page() so that they merge with their buddies again.
                let end = min(start + (1 << zone.pageblockOrder), zone.span.span.end)
                var p = start
                while p < end {
                    let order = context.buddyOrder(p)
                    guard order >= 0 else { p += 1; continue }
                    zone.deleteFromFreeList(p, order: order, type: type.rawValue, &st)
                    zone.freeOne(p, order: order, type: type.rawValue, &st)
                    p += 1 << order
                }
            }
        }
        return true
    }

    /// The migratetype of the pageblock containing `pfn`. Linux: `get_pageblock_migratetype()`.
    public func pageblockMigratetype(pfn: Int) -> MigrateType? {
        guard memmap.isValid(pfn: pfn), let zone = zone(of: pfn), zone.span.span.contains(pfn) else { return nil }
        return zone.state.withLock { MigrateType(rawValue: zone.migratetype(of: pfn, &$0)) }
    }
}
