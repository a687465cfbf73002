// fork(): dup_mmap() (mm/mmap.c), copy_page_range() / copy_pte_range() /
// copy_present_pte() / copy_present_page() / copy_nonpresent_pte() (mm/memory.c),
// copy_huge_pmd() (mm/huge_memory.c), anon_vma_fork() (mm/rmap.c).

extension UserPageTables {
    /// Linux: `dup_mmap()`: copies every VMA except VM_DONTCOPY ones into the mm of
    /// `childTables` (a fresh mm), VM_WIPEONFORK ones without their pages, and copies
    /// the page tables of the VMAs that need it (`vma_needs_copy()`: anonymous memory, PFN maps; file
    /// mappings without anonymous pages refault in the child). Takes both mmap_locks for
    /// write and bumps write_protect_seq around the copy, as the kernel does, so that
    /// GUP-fast sees the race.
    func dupMmap(into childTables: UserPageTables) throws(Errno) {
        let parent: MM = mm, child: MM = childTables.mm
        try parent.mmapLock.withWriteLock { () throws(Errno) in
            try child.mmapLock.withWriteLock { () throws(Errno) in
                // raw_write_seqcount_begin(): the odd count must be visible before any
                // pin check below reads a refcount (a full fence: GUP-fast pins, fences,
                // then re-reads the count; store-load order needs fences on both sides).
                parent.writeProtectSeq.wrappingIncrement(ordering: .sequentiallyConsistent)
                RawMemory.fullFence()
                defer { parent.writeProtectSeq.wrappingIncrement(ordering: .releasing) }
                child.defFlags = parent.defFlags
                for vma in parent.tree.vmas where !vma.flags.contains(.dontCopy) {
                    var copy = vma.duplicate(as: child.newVMAID())
                    copy.flags.subtract(.locked)   // mlock is not inherited (VM_LOCKED cleared)
                    copy.flags.subtract(.lockOnFault)
                    let wipe = vma.flags.contains(.wipeOnFork)
                    if let anonVMA = vma.anonVMA, !wipe {
                        // anon_vma_fork(): the child VMA gets its own anon_vma whose parent
                        // is the parent's, so old folios are found in both mms.
                        let own = child.newAnonVMA(parent: anonVMA)
                        copy.anonVMA = own
                        copy.anonVMAChainLength = vma.anonVMAChainLength + 1
                        own.addMapper(child)
                    } else {
                        copy.anonVMA = nil
                        copy.anonVMAChainLength = 1
                    }
                    child.tree.insert(copy)
                    guard !wipe, vma.anonVMA != nil || !vma.flags.intersection(VMFlags.copyOnFork).isEmpty else { continue }
                    try copyPageRange(dst: childTables, dstVMA: copy, srcVMA: vma)
                }
            }
        }
    }
}

extension UserPageTables {
    /// Linux: `is_cow_mapping()`: private and possibly writable.
    @inline(__always)
    static func isCOWMapping(_ flags: VMFlags) -> Bool { flags.intersection([.shared, .mayWrite]) == .mayWrite }

    /// Linux: `copy_page_range()` for one VMA.
    func copyPageRange(dst: UserPageTables, dstVMA: VMA, srcVMA vma: VMA) throws(Errno) {
        // A COW mapping's parent PTEs are write-protected: MMU_NOTIFY_PROTECTION_PAGE.
        guard Self.isCOWMapping(vma.flags) else { return try copyPageRangeNotified(dst: dst, srcVMA: vma, cow: false) }
        try mm.withMMUNotifier(.protectionPage, start: vma.start, end: vma.end, machine: machine) { () throws(Errno) in
            try copyPageRangeNotified(dst: dst, srcVMA: vma, cow: true)
        }
    }

    private func copyPageRangeNotified(dst: UserPageTables, srcVMA vma: VMA, cow: Bool) throws(Errno) {
        var addr = vma.start
        while addr < vma.end {
            let next = min((addr & Paging.pmdMask) &+ Paging.pmdSize, vma.end)
            defer { addr = next }
            guard let pmd = pmdSlot(addr, allocate: false) else { continue }
            var entry = pmd.load()
            if entry.isNone { continue }
            if entry.isHugeEntry {
                if try copyHugePMD(dst: dst, srcPMD: pmd, address: addr, vma: vma, cow: cow) { continue }
                entry = pmd.load()
            }
            guard entry.isPresent, !entry.isLeaf else { continue }
            guard let dstPMD = dst.pmdSlot(addr, allocate: true), let dstTable = dst.lowerTable(dstPMD, allocate: true) else {
                throw Errno.ENOMEM
            }
            try copyPTEs(dst: dst, dstTable: dstTable, srcTable: entry.pfn, start: addr, end: next, vma: vma, cow: cow)
        }
    }

    /// Linux: `copy_pte_range()` -> `copy_present_pte()` / `copy_nonpresent_pte()`.
    func copyPTEs(dst: UserPageTables, dstTable: Int, srcTable: Int, start: UInt64, end: UInt64,
                  vma: VMA, cow: Bool) throws(Errno) {
        let first = Paging.index(start, Paging.pageShift)
        let count = Int((end - start) >> Paging.pageShift)
        // Read once: each read of the unowned(unsafe) `mm` as a strong reference retains
        // and releases it, which per PTE made fork of 1 GiB 1.8 times slower.
        let srcMM: MM = mm
        var copyNeeded: [(index: Int, entry: PTE)] = []
        lockTable(srcTable)
        dst.lockTable(dstTable)
        for i in 0..<count {
            let src = slot(srcTable, first + i)
            var entry = src.load()
            if entry.isNone { continue }
            let target = dst.slot(dstTable, first + i)
            if !entry.isPresent {
                guard entry.softLeaf == .deviceExclusive else {
                    copyNonPresentPTE(src: src, target: target, entry: entry, cow: cow)
                    continue
                }
                // copy_nonpresent_pte(): restore the original PTE, then copy it as present.
                entry = restoreExclusivePTEOutOfLine(vma, slot: src, entry: entry)
            }
            if entry.isPresent {
                if let folio = normalFolio(entry) {
                    if machine.folioIsAnon(folio) {
                        guard machine.folioTryDupAnonRmap(folio, firstPfn: entry.pfn, nr: 1, pmd: false, srcMM: srcMM) else {
                            // -EBUSY: possibly pinned; copy_present_page() after the locks drop.
                            copyNeeded.append((first + i, entry))
                            continue
                        }
                    } else {
                        machine.folioAddRmapPTEs(folio, firstPfn: entry.pfn, nr: 1)
                    }
                    folio.get()
                } else if !entry.isSpecial {
                    copyVmallocPage(entry.pfn, vma)
                }
                if cow && entry.isWritable {
                    entry = entry.wrprotected
                    src.store(entry)
                }
                // The child's copy starts clean for shared mappings' accounting, old either way.
                target.store(vma.flags.contains(.shared) ? entry : PTE(rawValue: entry.rawValue & ~PTE.accessed))
                continue
            }
            copyNonPresentPTE(src: src, target: target, entry: entry, cow: cow)
        }
        dst.unlockTable(dstTable)
        unlockTable(srcTable)
        for item in copyNeeded {
            try copyPresentPage(dst: dst, dstTable: dstTable, index: item.index, entry: item.entry, start: start, first: first, vma: vma)
        }
    }

    /// Linux: `copy_nonpresent_pte()` for every entry but a device-exclusive one: a swap
    /// entry gains a reference (and loses its exclusive bit), a writable migration entry
    /// becomes a read one under COW, a device-private entry is copied by its device code.
    /// Out of line, as in the kernel, so that `copyPTEs`' loop stays within the
    /// optimizer's inlining budget: with these cases in it, `vm_normal_folio()` and the
    /// rmap calls of every present PTE were called out of line (42 instructions per page
    /// of fork).
    @inline(never)
    private func copyNonPresentPTE(src: EntrySlot, target: EntrySlot, entry: PTE, cow: Bool) {
        var entry = entry
        switch entry.softLeaf {
        case .swap:
            guard let swapEntry = entry.swapEntry, machine.swapDuplicate(swapEntry) else { return }
            if entry.isSwapExclusive {
                entry = PTE(rawValue: entry.rawValue & ~PTE.swpExclusive)
                src.store(entry)
            }
            target.store(entry)
        case .migrationWrite, .migrationReadExclusive:
            if cow, let swapEntry = entry.swapEntry {
                entry = .migration(pfn: Int(swapEntry.offset), write: false, exclusive: false)
                src.store(entry)
            }
            target.store(entry)
        case .devicePrivateRead, .devicePrivateWrite:
            target.store(copyDevicePrivateEntry(src, entry: entry, cow: cow))
        case .marker:
            // Guard markers are copied (VM_MAYBE_GUARD VMAs copy their tables).
            target.store(entry)
        default:
            target.store(entry)
        }
    }

    /// `restoreExclusivePTE` kept out of `copyPTEs`' loop (see `copyNonPresentPTE`).
    @inline(never)
    private func restoreExclusivePTEOutOfLine(_ vma: VMA, slot: EntrySlot, entry: PTE) -> PTE {
        restoreExclusivePTE(vma, slot: slot, entry: entry)
    }

    /// A tracked vmalloc page: the child's PTE holds one reference (out of the loop too).
    @inline(never)
    private func copyVmallocPage(_ pfn: Int, _ vma: VMA) {
        if let page = machine.memmap.page(pfn) { machine.scamemTryGrab(page, vma: vma, mapping: true) }
    }

    /// Linux: `copy_present_page()`: the child gets its own exclusive copy of a page that
    /// may be DMA-pinned, mapped writable and dirty where the VMA allows; the parent's
    /// page (and pin) stay untouched.
    func copyPresentPage(dst: UserPageTables, dstTable: Int, index: Int, entry: PTE, start: UInt64, first: Int, vma: VMA) throws(Errno) {
        let address = (start & Paging.pmdMask) | UInt64(index) << Paging.pageShift
        guard let anonVMA = dst.owner?.lockedAnonVMAPrepare(at: address),
              let new = machine.folioAlloc(.highuserMovable) else { throw Errno.ENOMEM }
        machine.frames.copy(from: entry.pfn, to: new.pfn)
        guard machine.folioAddNewAnonRmap(new, anonVMA: anonVMA, index: machine.linearPageIndex(vma, address), pmd: false) else {
            machine.folioPut(new)
            throw Errno.ENOMEM
        }
        dst.lockTable(dstTable)
        dst.slot(dstTable, index).store(.page(pfn: new.pfn, writable: vma.flags.contains(.write), dirty: true))
        dst.unlockTable(dstTable)
        machine.folioAddLRU(new)
        VMEvents.bump(machine.vmEvents.forkPinnedCopies)
    }

    /// Linux: `copy_huge_pmd()`: share an anonymous THP with the child, write-protected in
    /// both; a THP that may be pinned is split and copied at the PTE level instead
    /// (the kernel splits and returns -EAGAIN). Returns false when the caller must copy
    /// PTEs.
    func copyHugePMD(dst: UserPageTables, srcPMD: EntrySlot, address: UInt64, vma: VMA, cow: Bool) throws(Errno) -> Bool {
        var entry = srcPMD.load()
        if entry.isPMDSoftLeaf { return try copyPMDSoftLeaf(dst: dst, srcPMD: srcPMD, address: address) }
        if machine.isHugeZeroPMD(entry) {
            guard let dstPMD = dst.pmdSlot(address, allocate: true) else { throw Errno.ENOMEM }
            copyHugeZeroPMD(dst: dst, dstPMD: dstPMD, entry: entry, address: address)
            return true
        }
        guard entry.isLeaf, let folio = normalFolio(entry) else { return false }
        guard let dstPMD = dst.pmdSlot(address, allocate: true) else { throw Errno.ENOMEM }
        let table = pmdTablePfn(address)
        lockTable(table)
        if machine.folioIsAnon(folio), !machine.folioTryDupAnonRmap(folio, firstPfn: folio.pfn, nr: folio.nrPages, pmd: true, srcMM: mm) {
            unlockTable(table)
            splitHugePMD(vma, address: address)
            return false
        }
        if !machine.folioIsAnon(folio) { machine.folioAddRmapPMD(folio) }
        folio.get()
        if cow && entry.isWritable {
            entry = entry.wrprotected
            srcPMD.store(entry)
        }
        unlockTable(table)
        let dstTable = dst.pmdTablePfn(address)
        dst.lockTable(dstTable)
        dstPMD.store(entry)
        dst.unlockTable(dstTable)
        return true
    }

    /// `copy_huge_pmd()`'s non-present arm (copy_huge_non_present_pmd(), in
    /// Device/DevicePrivatePMD.swift) under both PMD locks.
    private func copyPMDSoftLeaf(dst: UserPageTables, srcPMD: EntrySlot, address: UInt64) throws(Errno) -> Bool {
        guard let dstPMD = dst.pmdSlot(address, allocate: true) else { throw Errno.ENOMEM }
        let table = pmdTablePfn(address), dstTable = dst.pmdTablePfn(address)
        lockTable(table)
        let entry = srcPMD.load()
        guard entry.isPMDSoftLeaf else {
            unlockTable(table)
            return false
        }
        let copied = copyPMDSoftLeaf(srcPMD, entry: entry)
        dst.lockTable(dstTable)
        dstPMD.store(copied)
        dst.unlockTable(dstTable)
        unlockTable(table)
        return true
    }
}
