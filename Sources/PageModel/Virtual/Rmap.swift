// Mapcounts and the anonymous/file reverse-map bookkeeping of mm/rmap.c and
// include/linux/rmap.h (v6.19): folio_add_new_anon_rmap(), folio_add_anon_rmap_ptes(),
// folio_add_file_rmap_ptes/pmd(), folio_remove_rmap_ptes/pmd(), __folio_try_dup_anon_rmap(),
// folio_try_share_anon_rmap_pte(), PageAnonExclusive (include/linux/page-flags.h).
import PageLayout

/// FOLIO_MAPPING_ANON: bit 0 of folio->mapping marks an anon_vma pointer.
public let folioMappingAnon: UInt64 = 0x1
/// FOLIO_MAPPING_FLAGS: the two low bits (ANON, ANON_KSM / movable_ops).
public let folioMappingFlags: UInt64 = 0x3
/// ENTIRELY_MAPPED [mm/internal.h]: _nr_pages_mapped's PMD-mapped marker.
let entirelyMapped: Int32 = 0x800000

extension Machine {
    // MARK: Mapcounts (the stored values are -1 based)

    /// The offset of a page's own `_mapcount` (CONFIG_PAGE_MAPCOUNT, and a scheme that
    /// keeps one per page), or -1.
    @inline(__always)
    var pageMapcountOffset: Int { layoutConfig.pageMapcount ? context.pageMapcountOffset : -1 }

    /// Linux: `folio_mapcount()`: how many page-table entries map the folio (a PMD
    /// mapping counts once). memdesc designs keep one count in the descriptor.
    public func folioMapcount(_ folio: Folio) -> Int {
        if layout.foliosAreDescriptors || !folio.isLarge { return Int(folio.mapcountRaw) + 1 }
        return Int(folio.largeMapcountRaw ?? -1) + 1
    }

    /// Linux: `folio_mapped()`.
    public func folioMapped(_ folio: Folio) -> Bool { folioMapcount(folio) > 0 }

    /// Linux: `folio_test_anon()`.
    @inline(__always)
    public func folioIsAnon(_ folio: Folio) -> Bool { folio.mapping & folioMappingAnon != 0 }

    // MARK: PageAnonExclusive

    /// Linux: `PageAnonExclusive()`: PG_anon_exclusive (= PG_owner_2) of the page; for a
    /// PMD-mapped THP, of the head. Where the bit lives is the descriptor scheme's
    /// (memdesc8 has no per-page flags and keeps it per folio).
    @inline(__always)
    public func pageAnonExclusive(_ page: Page, folio: Folio) -> Bool {
        context.anonExclusive(page, folio: folio, bit: flagBits.owner2)
    }

    @inline(__always)
    func setPageAnonExclusive(_ page: Page, folio: Folio, _ on: Bool) {
        context.setAnonExclusive(page, folio: folio, bit: flagBits.owner2, on)
    }

    // MARK: Adding mappings

    /// Linux: `__folio_set_anon()` + `folio_add_new_anon_rmap()`: a freshly allocated
    /// folio becomes anonymous (mapping = anon_vma | ANON, index = the linear page index
    /// of `address`), swap-backed, exclusive, mapped once by `nr` PTEs or one PMD.
    /// Returns false when the anon_vma has no kernel address (heap exhausted).
    @discardableResult
    func folioAddNewAnonRmap(_ folio: Folio, anonVMA: AnonVMA, index: UInt64, pmd: Bool, exclusive: Bool = true) -> Bool {
        guard let address = anonVMA.address(in: self) else { return false }
        folio.mapping = address | folioMappingAnon
        folio.index = index
        folio.setFlag(flagBits.swapbacked)
        let nr = folio.nrPages
        if layout.foliosAreDescriptors || nr == 1 {
            // One mapping for the PMD, one per PTE otherwise (folio_add_new_anon_rmap()
            // sets _large_mapcount to nr - 1 for a PTE-mapped large folio).
            folio.mapcountRaw = pmd ? 0 : Int32(nr - 1)
            if exclusive {
                for i in 0..<(pmd ? 1 : nr) { setPageAnonExclusive(Page(unchecked: folio.pfn + i, context), folio: folio, true) }
            }
            return true
        }
        if pmd {
            folio.setAtomic(layout.folioEntireMapcount, 0)
            folio.setAtomic(layout.folioLargeMapcount, 0)
            if layoutConfig.pageMapcount { folio.setAtomic(layout.folioNrPagesMapped, entirelyMapped) }
            if exclusive { setPageAnonExclusive(folio.headPage, folio: folio, true) }
        } else {
            let mapcount = pageMapcountOffset
            for i in 0..<nr {
                let page = Page(unchecked: folio.pfn + i, context)
                page.setAtomic(mapcount, 0)
                if exclusive { setPageAnonExclusive(page, folio: folio, true) }
            }
            folio.setAtomic(layout.folioLargeMapcount, Int32(nr - 1))
            if layoutConfig.pageMapcount { folio.setAtomic(layout.folioNrPagesMapped, Int32(nr)) }
        }
        return true
    }

    /// Linux: `folio_add_anon_rmap_ptes()` / `folio_add_file_rmap_ptes()`: `nr` more PTEs
    /// map the pages of `folio` from `page` (fork, swap-in, file faults, splits).
    /// The small folio's single count is inline; a large folio's per-page counts are
    /// `folioAddRmapPTEsLarge`, so that this stays small enough for the optimizer to
    /// honour @inline(__always) in fork's and the faults' loops.
    @inline(__always)
    func folioAddRmapPTEs(_ folio: Folio, firstPfn: Int, nr: Int) {
        if layout.foliosAreDescriptors || !folio.isLarge {
            folio.atomicAdd(layout.folioMapcount, Int32(nr))
            return
        }
        folioAddRmapPTEsLarge(folio, firstPfn: firstPfn, nr: nr)
    }

    /// `folioAddRmapPTEs` of a large folio of the struct-page family.
    private func folioAddRmapPTEsLarge(_ folio: Folio, firstPfn: Int, nr: Int) {
        var newlyMapped: Int32 = 0
        let mapcount = pageMapcountOffset
        if mapcount >= 0 {
            for i in 0..<nr where Page(unchecked: firstPfn + i, context).atomicAddReturn(mapcount, 1) == 0 { newlyMapped += 1 }
        }
        folio.atomicAdd(layout.folioLargeMapcount, Int32(nr))
        if layoutConfig.pageMapcount, newlyMapped > 0 { folio.atomicAdd(layout.folioNrPagesMapped, newlyMapped) }
    }

    /// Linux: `folio_add_file_rmap_pmd()` / the PMD part of `folio_add_anon_rmap_pmd()`.
    func folioAddRmapPMD(_ folio: Folio) {
        if layout.foliosAreDescriptors {
            folio.atomicAdd(layout.folioMapcount, 1)
            return
        }
        // The first PMD mapping (_entire_mapcount -1 -> 0) adds ENTIRELY_MAPPED, as
        // __folio_add_rmap() does (a PMD migration entry restored: remove_migration_pmd()).
        if folio.atomicAddReturn(layout.folioEntireMapcount, 1) == 0, layoutConfig.pageMapcount {
            folio.atomicAdd(layout.folioNrPagesMapped, entirelyMapped)
        }
        folio.atomicAdd(layout.folioLargeMapcount, 1)
    }

    // MARK: Removing mappings

    /// Linux: `folio_remove_rmap_ptes()`: `nr` PTEs mapping pages of `folio` from
    /// `firstPfn` are gone. A negative count afterwards is the kernel's mapcount underflow
    /// (bad_page "nonzero mapcount" later): recorded.
    /// Split as `folioAddRmapPTEs` is, for the same reason (zap's loop).
    @inline(__always)
    func folioRemoveRmapPTEs(_ folio: Folio, firstPfn: Int, nr: Int) {
        if layout.foliosAreDescriptors || !folio.isLarge {
            if folio.atomicAddReturn(layout.folioMapcount, -Int32(nr)) < -1 { mapcountUnderflow(folio) }
            return
        }
        folioRemoveRmapPTEsLarge(folio, firstPfn: firstPfn, nr: nr)
    }

    /// `folioRemoveRmapPTEs` of a large folio of the struct-page family.
    private func folioRemoveRmapPTEsLarge(_ folio: Folio, firstPfn: Int, nr: Int) {
        var unmapped: Int32 = 0
        let mapcount = pageMapcountOffset
        if mapcount >= 0 {
            for i in 0..<nr where Page(unchecked: firstPfn + i, context).atomicAddReturn(mapcount, -1) == -1 { unmapped += 1 }
        }
        if folio.atomicAddReturn(layout.folioLargeMapcount, -Int32(nr)) < -1 { mapcountUnderflow(folio) }
        if layoutConfig.pageMapcount, unmapped > 0 { folio.atomicAdd(layout.folioNrPagesMapped, -unmapped) }
    }

    /// Linux: `folio_remove_rmap_pmd()`.
    func folioRemoveRmapPMD(_ folio: Folio) {
        if layout.foliosAreDescriptors {
            if folio.atomicAddReturn(layout.folioMapcount, -1) < -1 { mapcountUnderflow(folio) }
            return
        }
        if folio.atomicAddReturn(layout.folioEntireMapcount, -1) == -1, layoutConfig.pageMapcount {
            folio.atomicAdd(layout.folioNrPagesMapped, -entirelyMapped)
        }
        if folio.atomicAddReturn(layout.folioLargeMapcount, -1) < -1 { mapcountUnderflow(folio) }
    }

    private func mapcountUnderflow(_ folio: Folio) {
        diagnostics.record(Diagnostic(kind: .bug, pfn: UInt64(folio.pfn), reason: "folio_remove_rmap: mapcount underflow",
                                      dump: dumpPage(folio.headPage)))
    }

    // MARK: fork and temporary unmapping

    /// Linux: `__folio_try_dup_anon_rmap()` for `nr` PTEs (or the PMD): fork wants to share
    /// the pages with the child. If the mm ever pinned and the folio may be DMA-pinned and
    /// a page is exclusive, refuse (EBUSY: the child gets a copy); otherwise clear
    /// PageAnonExclusive and add the mappings.
    func folioTryDupAnonRmap(_ folio: Folio, firstPfn: Int, nr: Int, pmd: Bool, srcMM: MM) -> Bool {
        let device = zone(of: folio.pfn)?.type == .device
        if !device, folioNeedsCOWForDMA(folio, in: srcMM) {
            for i in 0..<(pmd ? 1 : nr) where pageAnonExclusive(Page(unchecked: firstPfn + i, context), folio: folio) {
                return false
            }
        }
        for i in 0..<(pmd ? 1 : nr) { setPageAnonExclusive(Page(unchecked: firstPfn + i, context), folio: folio, false) }
        if pmd { folioAddRmapPMD(folio) } else { folioAddRmapPTEs(folio, firstPfn: firstPfn, nr: nr) }
        return true
    }

    /// Linux: `folio_try_share_anon_rmap_pte()`: before an exclusive anon page is
    /// temporarily unmapped (swap-out, migration), it must become possibly shared; a
    /// folio that may be pinned refuses (EBUSY), after the full barrier that pairs with
    /// GUP-fast's.
    func folioTryShareAnonRmap(_ page: Page, folio: Folio) -> Bool {
        guard pageAnonExclusive(page, folio: folio) else { return true }
        RawMemory.fullFence()
        if folioMaybeDMAPinned(folio) { return false }
        setPageAnonExclusive(page, folio: folio, false)
        return true
    }

    /// The linear page index of `address` in `vma` (linear_page_index()).
    @inline(__always)
    func linearPageIndex(_ vma: VMA, _ address: UInt64) -> UInt64 { vma.pgoff &+ ((address &- vma.start) >> 12) }
}
