// The HMM test driver's device THPs (lib/test_hmm.c, v6.19): PMD-order device-private and
// device-coherent folios from `free_folios` (DeviceMirrorDevice.swift's allocPage(large:)),
// migrated whole with MIGRATE_VMA_SELECT_COMPOUND / MIGRATE_PFN_COMPOUND
// (dmirror_migrate_alloc_and_copy(), dmirror_migrate_finalize_and_map()), and the
// `folio_split` op that keeps the driver's state right when the core mm splits one
// (dmirror_devmem_folio_split()).

extension DeviceMirrorDevice {
    /// Linux: `dmirror_devmem_folio_split(head, tail)`: each new folio `tail` gets the
    /// head's `pgmap` and `mapping`, its page of the backing folio in `zone_device_data`,
    /// and the head's mirror; with `tail` nil (the split done) the backing folio itself is
    /// split into order-0 pages with one reference each (folio_reset_order(),
    /// clear_compound_head(), folio_set_count(1)), so that each device page frees its
    /// own backing page.
    func devmemFolioSplit(_ head: Folio, _ tail: Folio?) {
        let backing = machine.memmap.page(atAddress: machine.zoneDeviceData(head.headPage)).flatMap { machine.pageFolio($0) }
        guard let tail else {
            if let backing, backing.isLarge { machine.splitBackingFolio(backing) }
            return
        }
        tail.pgmap = head.pgmap
        tail.mapping = head.mapping
        guard let backing else {
            machine.setZoneDeviceData(tail.headPage, 0)
            return
        }
        let offset = tail.pfn - head.pfn
        machine.setZoneDeviceData(tail.headPage, Page(unchecked: backing.pfn + offset, machine.context).address)
        state.withLock { s in s.users[tail.pfn] = s.users[head.pfn] }
    }
}

extension Machine {
    /// The backing half of `dmirror_devmem_folio_split()`: an unmapped, off-LRU large
    /// system folio with one reference becomes order-0 folios with one reference each
    /// (the driver owns them; no anon_vma, no LRU).
    func splitBackingFolio(_ folio: Folio) {
        let nr = folio.nrPages
        // The backing folio is RAM: the memdesc designs need a descriptor per new folio.
        // Deliberate difference: an exhausted descriptor heap leaves it whole (the
        // kernel's struct pages cannot run out).
        guard let descriptors = allocateSplitDescriptors(folio) else { return }
        folio.setRefcount(0)
        folio.mapping = 0
        splitFolioDescriptors(folio, keep: 0, descriptors: descriptors)
        for i in 0..<nr { pageFolio(Page(unchecked: folio.pfn + i, context))?.setRefcount(1) }
    }
}

extension DeviceMirror {
    /// Linux: `dmirror_migrate_alloc_and_copy()`: for each source marked MIGRATE, a device
    /// page, or a device THP for a MIGRATE_PFN_COMPOUND source (a PMD-mapped THP or a
    /// PMD-sized hole), its data copied (or cleared for a hole). A one-shot FAIL_ALLOC
    /// fails that allocation: an order-0 source is then left behind, a compound one falls
    /// back to one device page per page (MIGRATE_PFN_COMPOUND not set in `dst`, so that
    /// migrate_vma_pages() splits the source or inserts the hole page by page).
    func allocAndCopyToDevice(_ args: inout MigrateVMA) {
        let machine = device.machine
        var i = 0
        while i < args.npages {
            let src = args.src[i]
            let large = src & MigratePFN.compound != 0, write = src & MigratePFN.write
            let spfn = MigratePFN.pfn(src)
            guard src & MigratePFN.migrate != 0, spfn.map({ !machine.isZoneDevice($0) }) ?? true else {
                i += 1
                continue
            }
            guard let dpage = consumeFailAlloc() ? nil : device.allocPage(large: large) else {
                guard large else {
                    i += 1
                    continue
                }
                let nr = spfn.flatMap { machine.page($0) }.flatMap { machine.pageFolio($0) }?.nrPages ?? 1 << Paging.pmdOrder
                for k in 0..<min(nr, args.npages - i) {
                    guard let small = device.allocPage() else { break }
                    args.dst[i + k] = MigratePFN.make(small.pfn) | write
                    copyToDevice(from: spfn.map { $0 + k }, to: device.dataPfn(small.headPage))
                }
                i += nr
                continue
            }
            args.dst[i] = MigratePFN.make(dpage.pfn) | write | (large ? MigratePFN.compound : 0)
            let head = dpage.headPage, count = min(dpage.nrPages, args.npages - i)
            // rpage = BACKING_PAGE(dpage) once, then its pages in turn.
            let base = device.folioDataPfn(head, count: count)
            for k in 0..<count {
                copyToDevice(from: spfn.map { $0 + k }, to: device.dataPfn(head, plus: k, base: base))
            }
            i += dpage.nrPages
        }
    }

    /// `copy_highpage(rpage, spage)`, or `clear_highpage(rpage)` for a hole, into the
    /// device page whose data is at `to` (none: nothing).
    private func copyToDevice(from spfn: Int?, to: Int?) {
        guard let to else { return }
        if let spfn { _ = device.machine.frames.copy(from: spfn, to: to) } else { _ = device.machine.frames.clear(pfn: to) }
    }
}
