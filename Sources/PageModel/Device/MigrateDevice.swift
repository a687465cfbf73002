// The VMA-less half of device migration (mm/migrate_device.c, v6.19):
// migrate_device_unmap(), migrate_vma_check_page(), __migrate_device_pages(),
// __migrate_device_finalize(), and migrate_device_coherent_folio(), which moves a
// device-coherent folio to system memory before a FOLL_LONGTERM pin (mm/gup.c).

extension Machine {
    /// Linux: `migrate_device_unmap()`: isolate system folios from their LRU (device
    /// folios are on none), unmap what is still mapped (a huge PMD becomes a PMD migration
    /// entry: try_to_migrate(folio, 0)), check for extra references, and restore what
    /// cannot move. A large folio's entry gets MIGRATE_PFN_COMPOUND and its 511 followers
    /// are passed over. Returns the pages (page-less sources included) still marked MIGRATE.
    func migrateDeviceUnmap(_ src: inout [UInt64], faultPage: Page?) -> Int {
        var unmapped = 0
        var restore: [Int] = []
        var i = 0
        while i < src.count {
            guard let pfn = MigratePFN.pfn(src[i]), let page = memmap.page(pfn), let folio = pageFolio(page) else {
                if src[i] & MigratePFN.migrate != 0 { unmapped += 1 }
                i += 1
                continue
            }
            defer { i += folio.nrPages }
            if folio.nrPages > 1 { src[i] |= MigratePFN.compound }
            let device = isZoneDevice(folio.pfn)
            if !device {
                guard folioIsolateLRU(folio) else {
                    src[i] &= ~MigratePFN.migrate
                    restore.append(i)
                    continue
                }
                folioPut(folio)   // the collect reference; the isolation's remains
            }
            if folioMapped(folio) { _ = tryToMigrate(folio, splitHugePMD: false) }
            if folioMapped(folio) || !migrateVMACheckPage(page, folio: folio, faultPage: faultPage) {
                if !device { folio.get(); folioPutbackLRU(folio) }
                src[i] &= ~MigratePFN.migrate
                restore.append(i)
                continue
            }
            unmapped += 1
        }
        for i in restore {
            guard let pfn = MigratePFN.pfn(src[i]), let page = memmap.page(pfn), let folio = pageFolio(page) else { continue }
            removeMigrationPTEs(folio, to: folio)
            src[i] = 0
            if faultPage?.pfn != page.pfn { folio.unlock() }
            folioPut(folio)
        }
        return unmapped
    }

    /// Linux: `migrate_vma_check_page()`: no references beyond the mappings, the
    /// caller's (isolation or collect) and the faulting one's. A DMA pin is such a
    /// reference in every design (GUP's FOLL_PIN takes at least one).
    private func migrateVMACheckPage(_ page: Page, folio: Folio, faultPage: Page?) -> Bool {
        var extra = 1 + (faultPage?.pfn == page.pfn ? 1 : 0)
        if isZoneDevice(folio.pfn) { extra += 1 }
        return Int(folio.refcount) - extra <= folioMapcount(folio)
    }

    /// Linux: `__migrate_device_pages()`: for each source with a destination the struct
    /// page state moves over (folio_migrate_mapping() of an anonymous folio: its refcount
    /// must be the caller's alone, then mapping, index and flags), or MIGRATE is cleared;
    /// a page-less source (a hole) goes to `insert` (migrate_vma_insert_page() or, for a
    /// compound destination, migrate_vma_insert_huge_pmd_page(); none for
    /// migrate_device_pages(), which has no VMA). MIGRATE_PFN_COMPOUND on both sides
    /// moves a THP whole; a compound source with an order-0 destination is split first
    /// (`split`: migrate_vma_split_unmapped_folio(); without one, migrate_device_pages(),
    /// it stays) or, a hole, inserted page by page; an order-0 source cannot take a
    /// compound destination.
    func migrateDevicePages(_ src: inout [UInt64], _ dst: [UInt64], count: Int, faultPage: Page?,
                            insert: ((Int, Folio, Page) -> Bool)? = nil,
                            split: ((inout [UInt64], Int, Folio) -> Bool)? = nil) {
        var i = 0
        while i < count {
            var nr = 1
            defer { i += nr }
            guard let newPage = MigratePFN.pfn(dst[i]).flatMap({ memmap.page($0) }), let newFolio = pageFolio(newPage) else {
                src[i] &= ~MigratePFN.migrate
                continue
            }
            let srcCompoundOnly = src[i] & MigratePFN.compound != 0 && dst[i] & MigratePFN.compound == 0
            guard let pfn = MigratePFN.pfn(src[i]), let page = memmap.page(pfn), let folio = pageFolio(page) else {
                guard src[i] & MigratePFN.migrate != 0 else { continue }
                if srcCompoundOnly {
                    nr = 1 << Paging.pmdOrder
                    src[i] &= ~MigratePFN.compound
                }
                for j in 0..<min(nr, count - i) {
                    src[i + j] |= MigratePFN.migrate
                    guard let each = MigratePFN.pfn(dst[i + j]).flatMap({ memmap.page($0) }), let eachFolio = pageFolio(each),
                          insert?(i + j, eachFolio, each) == true else {
                        // migrate_vma_insert_huge_pmd_page()'s abort clears all 512.
                        let cleared = dst[i + j] & MigratePFN.compound != 0 ? min(1 << Paging.pmdOrder, count - i - j) : 1
                        for k in 0..<cleared { src[i + j + k] &= ~MigratePFN.migrate }
                        continue
                    }
                }
                continue
            }
            guard src[i] & MigratePFN.migrate != 0 else { continue }
            if srcCompoundOnly {
                nr = folio.nrPages
                guard let split, split(&src, i, folio) else {
                    src[i] &= ~(MigratePFN.migrate | MigratePFN.compound)
                    continue
                }
            } else if dst[i] & MigratePFN.compound != 0, src[i] & MigratePFN.compound == 0 {
                src[i] &= ~MigratePFN.migrate
            }
            if isZoneDevice(newFolio.pfn), !folioIsAnon(folio) {
                src[i] &= ~MigratePFN.migrate
                continue
            }
            let extra: Int32 = faultPage?.pfn == page.pfn ? 1 : 0
            for j in 0..<min(nr, count - i) {
                guard src[i + j] & MigratePFN.migrate != 0,
                      let from = MigratePFN.pfn(src[i + j]).flatMap({ memmap.page($0) }).flatMap({ pageFolio($0) }),
                      let to = MigratePFN.pfn(dst[i + j]).flatMap({ memmap.page($0) }).flatMap({ pageFolio($0) }),
                      from.refcount == 1 + extra else {
                    src[i + j] &= ~MigratePFN.migrate
                    continue
                }
                to.index = from.index
                to.mapping = from.mapping
                if from.testFlag(flagBits.swapbacked) { to.setFlag(flagBits.swapbacked) }
                migrateFlags(from: from, to: to)
            }
        }
    }

    /// Linux: `__migrate_device_finalize()`: every migration entry points to the
    /// destination where the migration went through, back to the source elsewhere; the
    /// sources are unlocked and their last reference dropped (a device page goes back to
    /// its driver), the destinations unlocked and their allocation reference dropped.
    func migrateDeviceFinalize(_ srcPfns: [UInt64], _ dstPfns: [UInt64], count: Int, faultPage: Page?) {
        for i in 0..<count {
            let newFolio = MigratePFN.pfn(dstPfns[i]).flatMap { memmap.page($0) }.flatMap { pageFolio($0) }
            guard let pfn = MigratePFN.pfn(srcPfns[i]), let page = memmap.page(pfn), let src = pageFolio(page) else {
                if let newFolio {
                    newFolio.unlock()
                    folioPut(newFolio)
                }
                continue
            }
            var dst = src
            if srcPfns[i] & MigratePFN.migrate != 0, let newFolio { dst = newFolio } else if let newFolio {
                newFolio.unlock()
                folioPut(newFolio)
            }
            if !isZoneDevice(dst.pfn) { folioAddLRU(dst) }
            removeMigrationPTEs(src, to: dst)
            if faultPage?.pfn != page.pfn { src.unlock() }
            folioPut(src)
            if dst.pfn != src.pfn {
                dst.unlock()
                folioPut(dst)
            }
        }
    }

    /// Linux: `migrate_device_coherent_folio()`: the caller holds a reference (the pin it
    /// converted); the folio is unmapped, copied to a new system page and its mappings
    /// moved there. EBUSY when it cannot be unmapped or no page can be had.
    func migrateDeviceCoherentFolio(_ folio: Folio) throws(Errno) {
        if folio.isLarge {
            // WARN_ON_ONCE(folio_test_large(folio)): the order-0 destination cannot take a
            // coherent THP (migrate_device_pages() has no VMA to split it in): EBUSY.
            diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(folio.pfn), reason: "migrate_device_coherent_folio: large folio"))
        }
        folio.lock()
        var src = [MigratePFN.make(folio.pfn) | MigratePFN.migrate]
        _ = migrateDeviceUnmap(&src, faultPage: nil)
        guard src[0] & MigratePFN.migrate != 0 else { throw .EBUSY }
        var dst: [UInt64] = [0]
        let dfolio = folioAlloc(GFP.user.union(.nowarn))
        if let dfolio {
            dfolio.lock()
            dst[0] = MigratePFN.make(dfolio.pfn)
        }
        migrateDevicePages(&src, dst, count: 1, faultPage: nil)
        if src[0] & MigratePFN.migrate != 0, let dfolio { _ = frames.copy(from: folio.pfn, to: dfolio.pfn) }
        let moved = src[0] & MigratePFN.migrate != 0
        migrateDeviceFinalize(src, dst, count: 1, faultPage: nil)
        guard moved else { throw .EBUSY }
    }

    /// Linux: `migrate_device_range()`: each device page of `[start, start + count)`
    /// that is in use (a reference can be had: folio_get_nontail_page()) and can be
    /// locked is selected (migrate_device_pfn_lock()), then all are unmapped.
    func migrateDeviceRange(start: Int, count: Int) -> [UInt64] {
        var src = [UInt64](repeating: 0, count: count)
        for i in 0..<count {
            guard let page = memmap.page(start + i), let folio = pageFolio(page), folio.pfn == page.pfn,
                  folio.refAddUnless(1, unless: 0) else { continue }
            guard folio.tryLock() else {
                folioPut(folio)
                continue
            }
            src[i] = MigratePFN.make(page.pfn) | MigratePFN.migrate
        }
        _ = migrateDeviceUnmap(&src, faultPage: nil)
        return src
    }
}
