// The VMA-less half of device migration (mm/migrate_device.c, v6.19):
// migrate_device_unmap(), migrate_vma_check_page(), __migrate_device_pages(),
// __migrate_device_finalize(), and migrate_device_coherent_folio(), which moves a
// device-coherent folio to system memory before a FOLL_LONGTERM pin (mm/gup.c).

extension Machine {
    /// Linux: `migrate_device_unmap()`: isolate system folios from their LRU (device
    /// folios are on none), check for extra references, and restore what cannot move.
    /// Returns the pages (page-less sources included) still marked MIGRATE.
    func migrateDeviceUnmap(_ src: inout [UInt64], faultPage: Page?) -> Int {
        var unmapped = 0
        var restore: [Int] = []
        for i in src.indices {
            guard let pfn = MigratePFN.pfn(src[i]), let page = memmap.page(pfn), let folio = pageFolio(page) else {
                if src[i] & MigratePFN.migrate != 0 { unmapped += 1 }
                continue
            }
            let device = isZoneDevice(folio.pfn)
            if !device {
                guard folioIsolateLRU(folio) else {
                    src[i] &= ~MigratePFN.migrate
                    restore.append(i)
                    continue
                }
                folioPut(folio)   // the collect reference; the isolation's remains
            }
            if folioMapped(folio) { _ = tryToMigrate(folio) }
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
    /// a page-less source (a hole) goes to `insert` (migrate_vma_insert_page(); none
    /// for migrate_device_pages(), which has no VMA).
    func migrateDevicePages(_ src: inout [UInt64], _ dst: [UInt64], count: Int, faultPage: Page?,
                            insert: ((Int, Folio, Page) -> Bool)? = nil) {
        for i in 0..<count {
            guard let newPfn = MigratePFN.pfn(dst[i]), let newPage = memmap.page(newPfn),
                  let newFolio = pageFolio(newPage) else {
                src[i] &= ~MigratePFN.migrate
                continue
            }
            guard let pfn = MigratePFN.pfn(src[i]), let page = memmap.page(pfn), let folio = pageFolio(page) else {
                guard src[i] & MigratePFN.migrate != 0 else { continue }
                if insert?(i, newFolio, newPage) != true {
                    src[i] &= ~MigratePFN.migrate
                }
                continue
            }
            guard src[i] & MigratePFN.migrate != 0 else { continue }
            let newIsDevice = isZoneDevice(newFolio.pfn)
            if newIsDevice, !folioIsAnon(folio) {
                src[i] &= ~MigratePFN.migrate
                continue
            }
            let extra: Int32 = faultPage?.pfn == page.pfn ? 1 : 0
            let expected: Int32 = 1 + extra
            guard folio.refcount == expected else {
                src[i] &= ~MigratePFN.migrate
                continue
            }
            newFolio.index = folio.index
            newFolio.mapping = folio.mapping
            if folio.testFlag(flagBits.swapbacked) { newFolio.setFlag(flagBits.swapbacked) }
            migrateFlags(from: folio, to: newFolio)
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
