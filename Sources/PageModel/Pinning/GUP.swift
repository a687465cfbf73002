// The slow path of get_user_pages() and pin_user_pages() (mm/gup.c, v6.19):
// __get_user_pages_locked(), __get_user_pages(), check_vma_flags(),
// writable_file_mapping_allowed(), follow_page_mask() / follow_pmd_mask() /
// follow_huge_pmd() / follow_page_pte(), can_follow_write_pte(), no_page_table(),
// faultin_page(); gup_must_unshare() of mm/internal.h and vm_fault_to_errno() of
// include/linux/mm.h. The model's walk holds the mmap_lock for read throughout and never
// drops it (no VM_FAULT_RETRY with FAULT_FLAG_ALLOW_RETRY): a fault that asks for a retry
// (a migration entry) is retried in place, as the kernel waits without ALLOW_RETRY.
// Not modelled: hugetlb, secretmem, the gate area, stack expansion, soft-dirty and
// userfaultfd write-protect in can_follow_write_pte(), NUMA hinting (PROT_NONE) entries.
import PageLayout

/// GUP's return value inside the model, as the kernel's `long`: the number of pages
/// taken (≥ 0), or a negated errno.
typealias GUPCount = Int

@inline(__always) func gupErrno(_ errno: Errno) -> GUPCount { -GUPCount(errno.rawValue) }

/// What `follow_page_mask()` found for one address.
enum FollowedPage {
    /// A page, referenced as the flags asked (FOLL_GET/FOLL_PIN); `mask` is the
    /// `page_mask` of the mapping (HPAGE_PMD_NR - 1 for a huge PMD, else 0).
    case page(Page, mask: Int)
    /// NULL: nothing usable is mapped; fault it in.
    case fault
    /// -EMLINK: a read-only pin of a page that must be unshared first.
    case unshare
    /// -EEXIST: an entry without a struct page (`follow_pfn_pte()`).
    case noStructPage
    /// Any other error.
    case error(Errno)
}

extension UserPageTables {
    /// Linux: `follow_page_mask()` → `follow_pmd_mask()`. The caller holds the mmap_lock.
    func followPageMask(_ vma: VMA, address: UInt64, flags: FollFlags) -> FollowedPage {
        guard let pmd = pmdSlot(address, allocate: false) else { return noPageTable(vma, flags) }
        let entry = pmd.load()
        // pmd_none(), or a PMD migration entry (!pmd_present()): no_page_table(), and the
        // fault waits for the migration.
        guard entry.isPresent else { return noPageTable(vma, flags) }
        if entry.isLeaf {
            if flags.contains(.splitPMD) {
                splitHugePMD(vma, address: address)
            } else {
                return followHugePMD(vma, address: address, pmd: pmd, flags: flags)
            }
        }
        return followPagePTE(vma, address: address, flags: flags)
    }

    /// Linux: `no_page_table()`: NULL (fault it in), except for FOLL_DUMP on a hole that
    /// would surely read as zeroes (an anonymous VMA): -EFAULT, so the core dump leaves a
    /// hole instead of allocating.
    @inline(__always)
    func noPageTable(_ vma: VMA, _ flags: FollFlags) -> FollowedPage {
        flags.contains(.dump) && vma.isAnonymous ? .error(.EFAULT) : .fault
    }

    /// Linux: `follow_huge_pmd()` under `pmd_lock()`: one reference (or pin) for the page
    /// at `address`; `__get_user_pages()` takes the rest of the range in the folio with
    /// one more grab.
    func followHugePMD(_ vma: VMA, address: UInt64, pmd: EntrySlot, flags: FollFlags) -> FollowedPage {
        let table = pmdTablePfn(address)
        lockTable(table)
        defer { unlockTable(table) }
        let entry = pmd.load()
        // Split or zapped meanwhile: look again after a (no-op) fault.
        guard entry.isLeaf, let head = machine.memmap.page(entry.pfn),
              let page = machine.memmap.page(entry.pfn + Paging.index(address, Paging.pageShift)) else { return .fault }
        // pmd_page(): both checks look at the head page, as follow_huge_pmd() does (the
        // THP's PageAnonExclusive lives there); the subpage is what is grabbed and
        // handed out (page += offset).
        if flags.contains(.write), !canFollowWrite(entry, page: head, vma, flags) { return .fault }
        if flags.contains(.dump), machine.isHugeZeroPMD(entry) { return .error(.EFAULT) }   // avoid dumping the huge zero page
        if !entry.isWritable, gupMustUnshare(vma, flags, head) { return .unshare }
        if let error = machine.gupGrab(page, refs: 1, flags: flags) { return .error(error) }
        if flags.contains(.touch) {
            // touch_pmd(): young, and dirty for a write.
            pmd.store(PTE(rawValue: entry.rawValue | PTE.accessed | (flags.contains(.write) ? PTE.dirty : 0)))
        }
        return .page(page, mask: Paging.entries - 1)
    }

    /// Linux: `follow_page_pte()` under the PTE lock.
    func followPagePTE(_ vma: VMA, address: UInt64, flags: FollFlags) -> FollowedPage {
        let found: FollowedPage? = withPTELock(address) { slot, _ -> FollowedPage in
            let pte = slot.load()
            guard pte.isPresent else {
                // no_page: a swap or migration entry faults; pte_none() is no_page_table().
                return pte.isNone ? noPageTable(vma, flags) : .fault
            }
            // vm_normal_page(): special entries (the zero page, PFN maps) have none.
            var page: Page? = pte.isSpecial ? nil : machine.memmap.page(pte.pfn)
            if flags.contains(.write), !canFollowWrite(pte, page: page, vma, flags) { return .fault }
            if page == nil {
                if flags.contains(.dump) { return .error(.EFAULT) }   // avoid dumping the zero page
                if machine.isZeroPfn(pte.pfn) {
                    page = machine.memmap.page(pte.pfn)
                } else {
                    // follow_pfn_pte(): FOLL_TOUCH makes the PTE young (and dirty for a
                    // write); then -EEXIST whatever the flags, which __get_user_pages()
                    // returns when it has a pages array to fill.
                    if flags.contains(.touch) {
                        slot.store(PTE(rawValue: pte.rawValue | PTE.accessed | (flags.contains(.write) ? PTE.dirty : 0)))
                    }
                    return .noStructPage
                }
            }
            guard let page else { return .error(.EFAULT) }
            if !pte.isWritable, gupMustUnshare(vma, flags, page) { return .unshare }
            if let error = machine.gupGrab(page, refs: 1, flags: flags, vma: vma) { return .error(error) }
            if flags.contains(.touch) {
                if flags.contains(.write), !pte.isDirty, let folio = machine.pageFolio(page), !folio.testFlag(machine.flagBits.dirty) {
                    machine.gupFolioMarkDirty(folio)
                }
                // folio_mark_accessed(): the model ages by the PTE's young bit.
                if !pte.isYoung { slot.store(PTE(rawValue: pte.rawValue | PTE.accessed)) }
            }
            return .page(page, mask: 0)
        }
        return found ?? noPageTable(vma, flags)
    }

    /// Linux: `can_follow_write_pte()` / `can_follow_write_pmd()`: a writable entry, or
    /// FOLL_FORCE on a private, may-write, not-writable mapping whose page is an exclusive
    /// anonymous page (COW already broken).
    @inline(__always)
    func canFollowWrite(_ entry: PTE, page: Page?, _ vma: VMA, _ flags: FollFlags) -> Bool {
        if entry.isWritable { return true }
        guard flags.contains(.force) else { return false }
        if !vma.flags.isDisjoint(with: [.mayShare, .shared]) { return false }
        guard vma.flags.contains(.mayWrite), !vma.flags.contains(.write) else { return false }
        guard let page, let folio = machine.pageFolio(page), machine.folioIsAnon(folio) else { return false }
        return machine.pageAnonExclusive(page, folio: folio)
    }

    /// Linux: `gup_must_unshare(vma, flags, page)` [mm/internal.h:1483-1525]: only a
    /// read-only pin asks; a non-anonymous page only for FOLL_LONGTERM in a COW mapping
    /// (or when GUP-fast has no VMA to ask); an anonymous page when it is not
    /// PageAnonExclusive.
    @inline(__always)
    func gupMustUnshare(_ vma: VMA?, _ flags: FollFlags, _ page: Page) -> Bool {
        machine.gupMustUnshare(vma, flags, page)
    }
}

extension Machine {
    /// See `UserPageTables.gupMustUnshare`. `vma` nil is GUP-fast.
    @inline(__always)
    func gupMustUnshare(_ vma: VMA?, _ flags: FollFlags, _ page: Page) -> Bool {
        guard flags.intersection([.write, .pin]) == .pin else { return false }
        guard let folio = pageFolio(page), folioIsAnon(folio) else {
            guard flags.contains(.longterm) else { return false }
            guard let vma else { return true }
            return UserPageTables.isCOWMapping(vma.flags)
        }
        RawMemory.readBarrier()   // smp_rmb(), paired with folio_try_share_anon_rmap_*()
        return !pageAnonExclusive(page, folio: folio)
    }

    /// Linux: `try_grab_folio(page_folio(page), refs, flags)` for either reference kind:
    /// FOLL_PIN goes through the design (`tryGrabPage`); FOLL_GET checks the refcount
    /// (WARN and -ENOMEM at ≤ 0) and P2PDMA (-EREMOTEIO), then `folio_ref_add()`. Neither
    /// flag: nothing. Returns the errno, or nil. `vma` (the slow path's) reaches a
    /// vmalloc page's scamem where the placement keeps it in `vm_private_data`.
    func gupGrab(_ page: Page, refs: Int32, flags: FollFlags, vma: VMA? = nil) -> Errno? {
        if flags.contains(.pin) {
            do { try tryGrabPage(page, refs: refs, allowP2PDMA: flags.contains(.pciP2PDMA), vma: vma) } catch { return error }
            return nil
        }
        guard flags.contains(.get) else { return nil }
        guard let folio = pageFolio(page) else {
            if isZeroPagePfn(page.pfn) { return nil }   // memdesc designs: the zero page has no folio to count
            if refs == 1, scamemTryGrab(page, vma: vma) { return nil }   // a tracked vmalloc page
            diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(page.pfn), reason: "try_grab_folio: memory without a folio has no refcount (ENOMEM)"))
            return .ENOMEM
        }
        if folio.refcount <= 0 {
            diagnostics.recordOnce(site: Self.tryGrabFolioRefcountSite,
                                   Diagnostic(kind: .warn, pfn: UInt64(folio.pfn),
                                              reason: "try_grab_folio: WARN_ON_ONCE(folio_ref_count(folio) <= 0): refcount \(folio.refcount) (ENOMEM)",
                                              dump: dumpPage(folio.headPage)))
            return .ENOMEM
        }
        if !flags.contains(.pciP2PDMA), isPCIP2PDMA(folio) { return .EREMOTEIO }
        folio.refAdd(refs)
        return nil
    }

    /// Drops what `gupGrab` took: `gup_put_folio(folio, refs, flags)`.
    func gupUngrab(_ page: Page, refs: Int32, flags: FollFlags) {
        guard let folio = pageFolio(page) else { return }
        if flags.contains(.pin) { gupPutFolio(folio, refs: refs, page: page) }
        else if flags.contains(.get), !(isZeroPagePfn(page.pfn) && folio.refcount <= 0) { folioPutRefs(folio, refs) }
    }

    /// `folio_mark_dirty()` for FOLL_TOUCH|FOLL_WRITE: through the page cache for a file
    /// folio, PG_dirty for an anonymous one.
    func gupFolioMarkDirty(_ folio: Folio) {
        if let mapping = pageCacheMapping(of: folio) { _ = mapping.folioMarkDirty(folio) }
        else { folio.setFlag(flagBits.dirty) }
    }

    /// What a GUP caller receives for a page: the design's proxy for a pin under a
    /// design that returns proxies, the page itself otherwise.
    @inline(__always)
    func gupResultPage(_ page: Page, flags: FollFlags) -> Page {
        guard pins.returnsProxies, flags.contains(.pin) else { return page }
        if case .proxy(let proxy) = pins.hot { return proxy._withUnsafeGuaranteedRef { $0.gupResult(for: page, in: self) } }
        return pins.tracker.gupResult(for: page, in: self)
    }
}

/// The slow GUP walk over the page tables of one mm (`tables.mm`).
extension UserPageTables {
    /// Linux: `check_vma_flags(vma, gup_flags)` [mm/gup.c:1200-1260].
    func checkVMAFlags(_ vma: VMA, _ flags: FollFlags) -> Errno? {
        let vmFlags = vma.flags
        if !vmFlags.isDisjoint(with: [.io, .pfnMap]) { return .EFAULT }
        if flags.contains(.anon), !vma.isAnonymous { return .EFAULT }
        if flags.contains(.longterm), vma.isFsdax { return .EOPNOTSUPP }
        // FOLL_SPLIT_PMD on hugetlb → -EOPNOTSUPP and secretmem → -EFAULT: the model has
        // neither.
        if flags.contains(.write) {
            if !vma.isAnonymous, !writableFileMappingAllowed(vma, flags) { return .EFAULT }
            if !vmFlags.contains(.write) {
                if !flags.contains(.force) { return .EFAULT }
                // FOLL_FORCE writes only break COW in private mappings.
                if !UserPageTables.isCOWMapping(vmFlags) { return .EFAULT }
            }
        } else if !vmFlags.contains(.read) {
            if !flags.contains(.force) { return .EFAULT }
            if !vmFlags.contains(.mayRead) { return .EFAULT }
        }
        return nil
    }

    /// Linux: `writable_file_mapping_allowed()` [mm/gup.c:1182-1198]: only a
    /// FOLL_PIN|FOLL_LONGTERM write to a VMA that `vma_needs_dirty_tracking()` (shared,
    /// writable, on a filesystem that writes back: the model's `.disk` kind) is refused.
    func writableFileMappingAllowed(_ vma: VMA, _ flags: FollFlags) -> Bool {
        guard flags.isSuperset(of: [.pin, .longterm]) else { return true }
        return !vmaNeedsDirtyTracking(vma)
    }

    /// Linux: `vma_needs_dirty_tracking()` [mm/vma.c:2056-2071].
    func vmaNeedsDirtyTracking(_ vma: VMA) -> Bool {
        guard vma.flags.isSuperset(of: [.write, .shared]) else { return false }
        if vma.flags.contains(.pfnMap) { return false }
        return fileMapping(vma)?.needsDirtyTracking ?? false
    }

    /// Linux: `vm_fault_to_errno()`.
    @inline(__always)
    static func vmFaultToErrno(_ fault: VMFault, _ flags: FollFlags) -> Errno? {
        if fault.contains(.oom) { return .ENOMEM }
        if !fault.isDisjoint(with: [.hwpoison, .hwpoisonLarge]) { return flags.contains(.hwpoison) ? .EHWPOISON : .EFAULT }
        if !fault.isDisjoint(with: [.sigbus, .sigsegv]) { return .EFAULT }
        return nil
    }

    /// Linux: `faultin_page()`: FOLL_NOFAULT → -EFAULT; otherwise `handle_mm_fault()` with
    /// FAULT_FLAG_WRITE for FOLL_WRITE, FAULT_FLAG_UNSHARE for an unshare, REMOTE,
    /// ALLOW_RETRY/KILLABLE/INTERRUPTIBLE, RETRY_NOWAIT and TRIED as the flags ask, and
    /// the memalloc_pin scope of FOLL_LONGTERM (`pinScope`). A fault error becomes its
    /// errno; VM_FAULT_RETRY is -EBUSY. nil: faulted, look again.
    func faultinPage(_ vma: VMA, address: UInt64, flags: FollFlags, unshare: Bool, pinScope: Bool) -> Errno? {
        if flags.contains(.nofault) { return .EFAULT }
        var faultFlags: FaultFlags = []
        if flags.contains(.write) { faultFlags.insert(.write) }
        if flags.contains(.remote) { faultFlags.insert(.remote) }
        if flags.contains(.unlockable) {
            faultFlags.formUnion([.allowRetry, .killable])
            if flags.contains(.interruptible) { faultFlags.insert(.interruptible) }
        }
        if flags.contains(.nowait) { faultFlags.formUnion([.allowRetry, .retryNowait]) }
        if flags.contains(.tried) { faultFlags.insert(.tried) }
        if unshare { faultFlags.insert(.unshare) }
        if pinScope { faultFlags.insert(.memallocPin) }
        let result = handleFault(vma, address: address, flags: faultFlags)
        if result.isError, let errno = Self.vmFaultToErrno(result, flags) { return errno }
        if result.contains(.retry) { return .EBUSY }
        return nil
    }

    /// How often one address may be faulted and looked up again before the model gives
    /// up with -EFAULT (a livelock guard; the kernel would keep trying).
    static let gupRetryLimit = 100_000

    /// Linux: `__get_user_pages_locked()`: FOLL_GET is implied by a `pages` array without
    /// FOLL_PIN, FOLL_PIN marks the mm MMF_HAS_PINNED, and the walk runs under the
    /// mmap_lock held for read (taken here: model callers never hold it).
    func getUserPagesLocked(start: UInt64, nrPages: Int, flags flagsIn: FollFlags,
                            pages: UnsafeMutablePointer<Page>?, pinScope: Bool) -> GUPCount {
        var flags = flagsIn
        if pages != nil, !flags.contains(.pin) { flags.insert(.get) }
        if flags.contains(.pin) { mm.setHasPinned() }
        return mm.mmapLock.withReadLock {
            getUserPagesWalk(start: start, nrPages: nrPages, flags: flags, pages: pages, pinScope: pinScope)
        }
    }

    /// Linux: `__get_user_pages()`. The caller holds the mmap_lock for read. Returns the
    /// pages taken, or the errno of the first failure when none was.
    func getUserPagesWalk(start startIn: UInt64, nrPages: Int, flags: FollFlags,
                          pages: UnsafeMutablePointer<Page>?, pinScope: Bool) -> GUPCount {
        guard nrPages > 0 else { return 0 }
        var start = startIn & ~(UserVM.pageSize - 1)
        var remaining = nrPages
        var taken = 0
        var failure: Errno = .EFAULT
        var vma: VMA?
        walk: repeat {
            if vma == nil || start >= vma!.end {
                if flags.contains(.madvPopulate) {
                    guard let found = mm.lockedVMALookup(start) else { failure = .ENOMEM; break walk }
                    if checkVMAFlags(found, flags) != nil { failure = .EINVAL; break walk }
                    vma = found
                } else {
                    // gup_vma_lookup(): the model does not expand stacks here.
                    guard let found = mm.lockedVMALookup(start) else { failure = .EFAULT; break walk }
                    if let error = checkVMAFlags(found, flags) { failure = error; break walk }
                    vma = found
                }
            }
            let current = vma!
            var page: Page?
            var mask = 0
            var tries = 0
            retry: while true {
                let unshare: Bool
                switch followPageMask(current, address: start, flags: flags) {
                case .page(let found, let foundMask):
                    page = found
                    mask = foundMask
                    break retry
                case .noStructPage:
                    // A proper entry without a struct page: fine without a pages array.
                    if pages != nil { failure = .EEXIST; break walk }
                    break retry
                case .error(let error):
                    failure = error
                    break walk
                case .fault: unshare = false
                case .unshare: unshare = true
                }
                if let error = faultinPage(current, address: start, flags: flags, unshare: unshare, pinScope: pinScope) {
                    if error == .EBUSY || error == .EAGAIN {
                        // VM_FAULT_RETRY. With FOLL_NOWAIT (FAULT_FLAG_RETRY_NOWAIT: the
                        // lock was kept) __get_user_pages() returns what it took so far,
                        // possibly 0, which __get_user_pages_locked() passes on. Otherwise
                        // the model retries in place, as the kernel's fault waits when
                        // FAULT_FLAG_ALLOW_RETRY is not set. Deliberately, a wait for a
                        // migration entry, which the model's fault reports as a retry,
                        // also ends a FOLL_NOWAIT walk (migration_entry_wait() sleeps).
                        if flags.contains(.nowait) { return taken }
                    } else {
                        failure = error
                        break walk
                    }
                }
                tries += 1
                if tries > Self.gupRetryLimit {
                    machine.diagnostics.record(Diagnostic(kind: .warn, reason: "__get_user_pages: 0x\(String(start, radix: 16)) did not settle after \(Self.gupRetryLimit) faults (EFAULT)"))
                    failure = .EFAULT
                    break walk
                }
            }
            // next_page:
            var increment = 1 + (~Int(truncatingIfNeeded: start >> UserVM.pageShift) & mask)
            if increment > remaining { increment = remaining }
            if let pages, let page {
                if increment > 1 {
                    // A large folio: the references for the rest of the range at once.
                    let next = Page(unchecked: page.pfn + 1, page.context)
                    if machine.gupGrab(next, refs: Int32(increment - 1), flags: flags) != nil {
                        machine.gupUngrab(page, refs: 1, flags: flags)
                        failure = .EFAULT
                        break walk
                    }
                }
                for j in 0..<increment {
                    pages[taken + j] = machine.gupResultPage(Page(unchecked: page.pfn + j, page.context), flags: flags)
                }
            }
            taken += increment
            start &+= UInt64(increment) << UserVM.pageShift
            remaining -= increment
        } while remaining > 0
        return taken > 0 ? taken : gupErrno(failure)
    }
}
