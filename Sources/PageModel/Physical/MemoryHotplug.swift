// Taking memory sections offline and bringing them back online at run time
// (mm/memory_hotplug.c: offline_pages(), online_pages(); mm/page_isolation.c).
import PageLayout

extension Machine {
    /// Whether a section's memory is online (present and handed to the allocator).
    public func isSectionOnline(_ section: Int) -> Bool {
        onlineSections.withLock { $0.contains(section) }
    }

    /// Linux: `offline_pages()` for one section: isolate its pageblocks, require every
    /// page to be free (the model does not migrate pages away: EBUSY otherwise), take the
    /// free blocks off the buddy lists, mark the pages PG_reserved, shrink the zone's
    /// managed pages, and drop the section's page_ext table.
    public func offlineSection(_ section: Int) throws(KernelError) {
        guard isSectionOnline(section) else {
            throw .invalid("section \(section) is not online")
        }
        let start = section << config.pfnSectionShift, end = start + config.pagesPerSection
        let blockPages = 1 << pageblockOrder
        var previous: [Int: MigrateType] = [:]
        for block in stride(from: start, to: end, by: blockPages) {
            if let type = pageblockMigratetype(pfn: block) { previous[block] = type }
            setPageblockMigratetype(pfn: block, .isolate)
        }
        // test_pages_isolated(): every page must now be a free block on an isolate list.
        var blocks: [(pfn: Int, order: Int)] = []
        var pfn = start
        while pfn < end {
            let order = context.buddyOrder(pfn)
            guard order >= 0 else {
                for (block, type) in previous.sorted(by: { $0.key < $1.key }) { setPageblockMigratetype(pfn: block, type) }
                throw .busy("pfn 0x\(String(pfn, radix: 16)) of section \(section) is in use")
            }
            blocks.append((pfn, order))
            pfn += 1 << order
        }
        let reservedBit = flagBits.reserved
        for (head, order) in blocks {
            guard let ref = zoneRef(of: head) else { continue }
            ref._withUnsafeGuaranteedRef { zone in
                zone.state.withLock { st in
                    zone.deleteFromFreeList(head, order: order, type: zone.migratetype(of: head, &st), &st)
                    st.managed -= 1 << order
                    st.present -= 1 << order
                }
            }
            for p in head..<(head + (1 << order)) {
                let page = Page(unchecked: p, context)
                page.setFlag(reservedBit)
                page.setRefcount(1)
            }
        }
        _ = onlineSections.withLock { $0.remove(section) }
        pageExt?.removeTable(section: section)
        setupWatermarks()
    }

    /// Linux: `online_pages()`: the section's pages lose PG_reserved and go to the buddy
    /// allocator in the largest aligned blocks, as at boot; its page_ext table returns.
    public func onlineSection(_ section: Int) throws(KernelError) {
        guard section >= 0, section < topology.sectionPresent.count, topology.sectionPresent[section] else {
            throw .invalid("section \(section) has no memory")
        }
        guard !isSectionOnline(section) else { throw .invalid("section \(section) is already online") }
        let start = section << config.pfnSectionShift, end = start + config.pagesPerSection
        guard (start..<end).allSatisfy({ topology.isRAM($0) }) else {
            throw .invalid("section \(section) has holes; the model onlines whole sections only")
        }
        let reservedBit = flagBits.reserved
        for p in start..<end {
            let page = Page(unchecked: p, context)
            page.clearFlag(reservedBit)
            page.setRefcount(0)
        }
        do {
            try pageExt?.addTable(section: section)
        } catch {
            throw .noSpace(error.description)
        }
        var pfn = start
        while pfn < end {
            let order = min(BuddyConstants.maxOrder, pfn.trailingZeroBitCount)
            if let ref = zoneRef(of: pfn) {
                ref._withUnsafeGuaranteedRef { zone in
                    zone.state.withLock { st in
                        for block in stride(from: pfn, to: pfn + (1 << order), by: 1 << zone.pageblockOrder) {
                            st.pageblockTypes[zone.pageblockIndex(block)] = UInt8(MigrateType.movable.rawValue)
                        }
                        zone.freeOne(pfn, order: order, type: MigrateType.movable.rawValue, toTail: true, &st)
                        st.managed += 1 << order
                        st.present += 1 << order
                    }
                }
            }
            pfn += 1 << order
        }
        _ = onlineSections.withLock { $0.insert(section) }
        setupWatermarks()
    }
}
