// Faults on file-backed VMAs: do_fault() and do_read_fault(), do_cow_fault(),
// do_shared_fault() of mm/memory.c, with the page cache as the file's
// vm_ops->fault (filemap_fault(), shmem_fault()) and vma_wants_writenotify() of mm/mmap.c.

/// A mapped file backed by a page cache.
public protocol PageCacheBackedFile: MappedFile {
    /// The file's page cache on `machine` (the inode's i_mapping).
    func pageCache(on machine: Machine) -> (PageCacheMapping)?
}

extension UserPageTables {
    /// The page cache behind a file VMA, if it has one.
    func fileMapping(_ vma: VMA) -> (PageCacheMapping)? {
        (vma.file?.file as? any PageCacheBackedFile)?.pageCache(on: machine)
    }

    /// Linux: `vma_wants_writenotify()` for a shared writable mapping: a filesystem that
    /// writes back tracks dirtying through write faults.
    func wantsWriteNotify(_ vma: VMA, _ mapping: PageCacheMapping) -> Bool {
        vma.flags.contains(.shared) && vma.flags.contains(.write) && mapping.needsDirtyTracking
    }

    /// Linux: `do_fault()`: a read maps the page-cache page (do_read_fault()); a write to
    /// a private mapping maps a private copy (do_cow_fault()); a write to a shared mapping
    /// maps the page writable and dirties it (do_shared_fault()).
    func doFault(_ vma: VMA, address: UInt64, pte: EntrySlot, table: Int, flags: FaultFlags) -> VMFault {
        guard let mapping = fileMapping(vma) else { return .sigbus }
        let index = machine.linearPageIndex(vma, address)
        let folio: Folio
        do { folio = try mapping.faultFolio(index: index) } catch {
            return error == .ENOMEM ? .oom : .sigbus
        }
        mapping.iMmapAdd(self)
        let pfn = folio.pfn + Int(index &- folio.index)
        let write = flags.contains(.write)
        if write && !vma.flags.contains(.shared) {
            return doCOWFault(vma, address: address, pte: pte, table: table, source: folio, pfn: pfn, flags: flags)
        }
        var writable = false, dirty = false
        if vma.flags.contains(.shared) && vma.flags.contains(.write) {
            if write {
                _ = mapping.folioMarkDirty(folio)
                writable = true
                dirty = true
            } else {
                writable = !wantsWriteNotify(vma, mapping)
            }
        }
        lockTable(table)
        guard pte.load().isNone else {
            unlockTable(table)
            machine.folioPut(folio)
            return []
        }
        machine.folioAddRmapPTEs(folio, firstPfn: pfn, nr: 1)
        pte.store(.page(pfn: pfn, writable: writable, dirty: dirty))
        unlockTable(table)
        return []
    }

    /// Linux: `do_cow_fault()`: a new anonymous folio with the file page's bytes; the
    /// page-cache reference is dropped once copied.
    func doCOWFault(_ vma: VMA, address: UInt64, pte: EntrySlot, table: Int, source: Folio, pfn: Int, flags: FaultFlags) -> VMFault {
        defer { machine.folioPut(source) }
        guard let anonVMA = vmfAnonPrepare(vma, at: address) else { return .oom }
        guard let new = machine.folioAlloc(userGFP(flags)) else { return .oom }
        machine.frames.copy(from: pfn, to: new.pfn)
        lockTable(table)
        guard pte.load().isNone,
              machine.folioAddNewAnonRmap(new, anonVMA: anonVMA, index: machine.linearPageIndex(vma, address), pmd: false) else {
            unlockTable(table)
            machine.folioPut(new)
            return []
        }
        pte.store(.page(pfn: new.pfn, writable: vma.flags.contains(.write), dirty: true))
        unlockTable(table)
        machine.folioAddLRU(new)
        VMEvents.bump(machine.vmEvents.cowCopies)
        return []
    }
}
