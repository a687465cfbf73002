// GUP-fast (mm/gup.c, v6.19): gup_fast_fallback(), gup_fast(), gup_fast_pgd_range() and
// the levels below it, gup_fast_pmd_leaf(), gup_fast_pte_range(),
// gup_fast_folio_allowed(), gup_fast_unpin_user_pages(). The page tables are walked
// without the mmap_lock and without any page-table lock: every entry is read once,
// atomically; a reference is taken with add-unless-zero (try_grab_folio_fast()) and
// then the entry (and the PMD above it) is read again, and the reference dropped if it
// changed. machine.tableRCU stands for the kernel's local_irq_save(): no page table is
// freed while a walker is inside. FOLL_PIN also brackets the walk with
// mm->write_protect_seq so that a concurrent fork() makes it fall back.
// Per page the walk allocates nothing, looks nothing up in a dictionary and takes no
// lock (mainline; designs that keep pins in side tables pay for them in their grab).
import PageLayout

extension UserPageTables {
    /// Linux: `gup_fast_fallback(start, nr_pages, gup_flags, pages)`: flags outside the
    /// fast set are a WARN and -EINVAL; FOLL_PIN sets MMF_HAS_PINNED; an overflowing
    /// range is -EOVERFLOW and one past TASK_SIZE_MAX -EFAULT. GUP-fast takes what it
    /// can from the start of the range; unless FOLL_FAST_ONLY, the rest goes through
    /// `__gup_longterm_locked()` with FOLL_TOUCH|FOLL_UNLOCKABLE. An error of the slow
    /// path is returned only when GUP-fast got nothing.
    func gupFastFallback(start startIn: UInt64, nrPages: Int, flags: FollFlags,
                         pages: UnsafeMutablePointer<Page>) -> GUPCount {
        guard flags.isSubset(of: FollFlags.fastAllowed) else {
            machine.diagnostics.recordOnce(site: "gup_fast_fallback: gup_flags",
                                   Diagnostic(kind: .warn, reason: "gup_fast_fallback: WARN_ON_ONCE(gup_flags \(flags) outside the GUP-fast flags): EINVAL"))
            return gupErrno(.EINVAL)
        }
        if flags.contains(.pin) { mm.setHasPinned() }
        let start = startIn & ~(UserVM.pageSize - 1)
        // nr_pages is unsigned long in the kernel: a negative count is a huge length.
        let length = UInt64(bitPattern: Int64(nrPages)) &<< UserVM.pageShift
        let (end, overflow) = start.addingReportingOverflow(length)
        if overflow { return gupErrno(.EOVERFLOW) }
        if end > UserVM.taskSize { return gupErrno(.EFAULT) }
        guard nrPages > 0 else { return 0 }
        let pinned = gupFast(start: start, end: end, flags: flags, pages: pages)
        if pinned == nrPages || flags.contains(.fastOnly) { return pinned }
        let rest = gupLongtermLocked(start: start &+ (UInt64(pinned) << UserVM.pageShift), nrPages: nrPages - pinned,
                                     flags: flags.union([.touch, .unlockable]), pages: pages + pinned)
        if rest < 0 { return pinned > 0 ? pinned : rest }
        return rest + pinned
    }

    /// Linux: `gup_fast()`: for FOLL_PIN, `raw_seqcount_try_begin(&mm->write_protect_seq)`
    /// (an odd count means fork() is write-protecting: take nothing), the lockless walk
    /// inside the table-RCU section, then `read_seqcount_retry()`: if fork() ran
    /// meanwhile, everything pinned is unpinned and nothing is returned.
    func gupFast(start: UInt64, end: UInt64, flags: FollFlags,
                 pages: UnsafeMutablePointer<Page>) -> Int {
        var sequence: UInt64 = 0
        let pin = flags.contains(.pin)
        if pin {
            sequence = mm.writeProtectSeq.load(ordering: .acquiring)
            if sequence & 1 != 0 { return 0 }
        }
        var nr = 0
        var batch = PinStatBatch()
        machine.tableRCU.enter()
        machine.gupFastPGDRange(self, start: start, end: end, flags: flags, pages: pages, nr: &nr, batch: &batch)
        machine.tableRCU.leave(machine: machine)
        machine.flush(&batch)
        if pin {
            // smp_rmb() of read_seqcount_retry(): the walk's loads before the re-read of the
            // count (the pins are ordered before those loads by smp_mb__after_atomic()).
            RawMemory.readBarrier()
            if mm.writeProtectSeq.load(ordering: .relaxed) != sequence {
                machine.unpinUserPages(UnsafeBufferPointer(start: pages, count: nr))   // gup_fast_unpin_user_pages()
                return 0
            }
        }
        return nr
    }
}

extension Machine {
    /// Linux: `gup_fast_pgd_range()` → `gup_fast_p4d_range()` → `gup_fast_pud_range()` →
    /// `gup_fast_pmd_range()`: stops at the first entry that is not present (or a leaf
    /// above the PMD level, which the model never maps).
    @inline(__always)
    func gupFastPGDRange(_ tables: UserPageTables, start: UInt64, end: UInt64, flags: FollFlags,
                         pages: UnsafeMutablePointer<Page>, nr: inout Int, batch: inout PinStatBatch) {
        let pudSize: UInt64 = 1 << Paging.pudShift
        var addr = start
        while addr < end {
            let pgd = tables.slot(tables.pgdPfn, Paging.index(addr, Paging.pgdShift)).load()
            guard pgd.isPresent, !pgd.isLeaf else { return }
            let pud = tables.slot(pgd.pfn, Paging.index(addr, Paging.pudShift)).load()
            guard pud.isPresent, !pud.isLeaf else { return }
            let pudEnd = min((addr & ~(pudSize - 1)) &+ pudSize, end)
            while addr < pudEnd {
                let next = min((addr & Paging.pmdMask) &+ Paging.pmdSize, pudEnd)
                let pmdSlot = tables.slot(pud.pfn, Paging.index(addr, Paging.pmdShift))
                let pmd = pmdSlot.load()   // pmdp_get_lockless()
                guard pmd.isPresent else { return }
                if pmd.isLeaf {
                    guard gupFastPMDLeaf(pmd, pmdSlot: pmdSlot, start: addr, end: next, flags: flags, pages: pages, nr: &nr, batch: &batch) else { return }
                } else if pins.isMainline || !pins.hot.hasFastPath {
                    // Mainline's fast path, or none (GUPFastDesigns.swift).
                    guard gupFastPTERange(MainlineFastPins(), tables, pmd: pmd, pmdSlot: pmdSlot, start: addr, end: next, flags: flags, pages: pages, nr: &nr, batch: &batch) else { return }
                } else {
                    guard gupFastOtherDesignPTERange(tables, pmd: pmd, pmdSlot: pmdSlot, start: addr, end: next, flags: flags, pages: pages, nr: &nr, batch: &batch) else { return }
                }
                addr = next
            }
        }
    }

    /// `pte_access_permitted()` / `pmd_access_permitted()` on x86: present and user, and
    /// writable for a write.
    @inline(__always)
    static func accessPermitted(_ entry: PTE, write: Bool) -> Bool {
        let need = PTE.present | PTE.user | (write ? PTE.rw : 0)
        return entry.rawValue & need == need
    }

    /// Linux: `gup_fast_pte_range()`. False: stop here (the rest goes to the slow path).
    /// `design`: the design's part of the fast path (GUPFastDesigns.swift), where the
    /// machine has one (`MainlineFastPath`); without it every page takes the generic step.
    @inline(__always)
    func gupFastPTERange<Design: FastPinDesign>(_ design: Design, _ tables: UserPageTables, pmd: PTE, pmdSlot: EntrySlot, start: UInt64, end: UInt64, flags: FollFlags,
                         pages: UnsafeMutablePointer<Page>, nr: inout Int, batch: inout PinStatBatch) -> Bool {
        let write = flags.contains(.write)
        var slot = tables.slot(pmd.pfn, Paging.index(start, Paging.pageShift))
        var addr = start
        // The common case with its offsets resolved once, specialized for the design
        // (GUPFastMainline.swift, GUPFastDesigns.swift); a page it does not cover takes
        // the generic step below.
        let fast = flags.contains(.pin) && flags.isDisjoint(with: [.longterm, .pciP2PDMA, .get]) ? MainlineFastPath(self) : nil
        // Tested once: a design without a fast path does not look into the optional per page.
        let hasFastPath = fast != nil
        while addr < end {
            if hasFastPath, let fast, let done = gupFastMainlinePTEs(design, fast, slot: &slot, addr: &addr, end: end, pmd: pmd, pmdSlot: pmdSlot,
                                                                 flags: flags, pages: pages, nr: &nr, batch: &batch) {
                return done
            }
            let pte = slot.load()   // ptep_get_lockless()
            // A non-present entry (swap, migration, device-private) fails the access check.
            guard Self.accessPermitted(pte, write: write) else { return false }
            // pte_special(): the zero page and PFN maps go to the slow path.
            guard !pte.isSpecial, let page = memmap.page(pte.pfn) else { return false }
            guard let folio = gupFastGrab(page, refs: 1, flags: flags, batch: &batch) else {
                // A vmalloc page whose word reaches its count (seed 004 option 1, or
                // scamem in placement memdesc-pointer) needs no VMA; other placements
                // fall back to the slow path, which has it.
                guard !flags.isDisjoint(with: [.pin, .get]), vmallocFastGrab(page) else { return false }
                if pmdSlot.load() != pmd || slot.load() != pte || (!pte.isWritable && gupMustUnshare(nil, flags, page)) {
                    scamemRelease(page, operation: "gup_put_folio")
                    return false
                }
                pages[nr] = page
                nr += 1
                addr &+= UserVM.pageSize
                slot = slot.advanced(by: 1)
                continue
            }
            if pmdSlot.load() != pmd || slot.load() != pte {
                gupFastUngrab(folio, page: page, refs: 1, flags: flags, batch: &batch)
                return false
            }
            if !gupFastFolioAllowed(folio, flags) || (!pte.isWritable && gupMustUnshare(nil, flags, page)) {
                gupFastUngrab(folio, page: page, refs: 1, flags: flags, batch: &batch)
                return false
            }
            folioSetReferenced(folio)
            pages[nr] = gupResultPage(page, flags: flags)
            nr += 1
            addr &+= UserVM.pageSize
            slot = slot.advanced(by: 1)
        }
        return true
    }

    /// Linux: `gup_fast_pmd_leaf()`: one grab of `refs` = the pages of the range in the
    /// huge PMD, then the re-check of the PMD.
    @inline(__always)
    func gupFastPMDLeaf(_ orig: PTE, pmdSlot: EntrySlot, start: UInt64, end: UInt64, flags: FollFlags,
                        pages: UnsafeMutablePointer<Page>, nr: inout Int, batch: inout PinStatBatch) -> Bool {
        guard Self.accessPermitted(orig, write: flags.contains(.write)), !orig.isSpecial else { return false }
        let refs = Int((end &- start) >> UserVM.pageShift)
        let first = orig.pfn + Paging.index(start, Paging.pageShift)
        guard let page = memmap.page(first), let folio = gupFastGrab(page, refs: Int32(refs), flags: flags, batch: &batch) else { return false }
        if pmdSlot.load() != orig {
            gupFastUngrab(folio, page: page, refs: Int32(refs), flags: flags, batch: &batch)
            return false
        }
        if !gupFastFolioAllowed(folio, flags) || (!orig.isWritable && gupMustUnshare(nil, flags, folio.headPage)) {
            gupFastUngrab(folio, page: page, refs: Int32(refs), flags: flags, batch: &batch)
            return false
        }
        if pins.returnsProxies {
            for j in 0..<refs { pages[nr + j] = gupResultPage(Page(unchecked: first + j, context), flags: flags) }
        } else {
            // record_subpages(): the pages of one folio, whose struct pages are consecutive
            // in the memmap, stored in a tight loop (no per-page lookup or check).
            let stride = context.pointee.pageSize, memmapContext = context
            var out = pages + nr, raw = page.raw, pfn = first
            for _ in 0..<refs {
                out.pointee = Page(outOfMemmap: raw, pfn: pfn, memmapContext)
                out += 1
                raw += stride
                pfn &+= 1
            }
        }
        nr += refs
        folioSetReferenced(folio)
        return true
    }

    /// Linux: `folio_set_referenced()`, as `gup_fast_pte_range()` and
    /// `gup_fast_pmd_leaf()` call it on every folio they hand out (the model reads the
    /// bit first so that an already referenced folio costs no atomic write).
    @inline(__always)
    func folioSetReferenced(_ folio: Folio) {
        if !folio.testFlag(flagBits.referenced) { folio.setFlag(flagBits.referenced) }
    }

    /// Linux: `try_grab_folio_fast(page, refs, flags)`: P2PDMA without FOLL_PCI_P2PDMA
    /// refuses; FOLL_GET is `try_get_folio()`; FOLL_PIN is `tryGrabFolioFast`.
    @inline(__always)
    func gupFastGrab(_ page: Page, refs: Int32, flags: FollFlags, batch: inout PinStatBatch) -> Folio? {
        if flags.contains(.pin) {
            return tryGrabFolioFast(page, refs: refs, longterm: flags.contains(.longterm), allowP2PDMA: flags.contains(.pciP2PDMA), batch: &batch)
        }
        guard flags.contains(.get), let folio = tryGetFolio(page, refs: refs) else { return nil }
        if !flags.contains(.pciP2PDMA), isPCIP2PDMA(folio) {
            folioPutRefs(folio, refs)
            return nil
        }
        return folio
    }

    /// `gup_put_folio(folio, refs, flags)` on GUP-fast's failure paths.
    @inline(__always)
    func gupFastUngrab(_ folio: Folio, page: Page, refs: Int32, flags: FollFlags, batch: inout PinStatBatch) {
        if flags.contains(.pin) { gupPutFolio(folio, refs: refs, page: page, batch: &batch) } else { folioPutRefs(folio, refs) }
    }

    /// Linux: `gup_fast_folio_allowed(folio, flags)` [mm/gup.c]: a
    /// FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE pin is allowed on anonymous folios and shmem
    /// only; and since CONFIG_SECRETMEM is on in the default configs, every order-0
    /// folio is looked at too (secretmem folios are order-0), whatever the flags: one
    /// without a mapping (truncated, or memory a driver mapped without one) takes the
    /// slow path. The model has no secretmem or hugetlb mappings to refuse.
    @inline(__always)
    func gupFastFolioAllowed(_ folio: Folio, _ flags: FollFlags) -> Bool {
        let rejectFileBacked = flags.isSuperset(of: [.pin, .longterm, .write])
        let checkSecretmem = !folio.isLarge   // IS_ENABLED(CONFIG_SECRETMEM) && !folio_test_large()
        if !rejectFileBacked && !checkSecretmem { return true }
        let mapping = folio.mapping   // READ_ONCE(folio->mapping)
        if mapping == 0 { return false }
        if mapping & 3 != 0 { return mapping & 1 != 0 }   // FOLIO_MAPPING_FLAGS: anon (or KSM)
        // secretmem_mapping() is false for every model mapping.
        return !rejectFileBacked || pageCacheMapping(of: folio)?.kind == .shmem
    }
}
