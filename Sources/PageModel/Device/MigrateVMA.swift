// Migration between system and device memory: struct migrate_vma and
// migrate_vma_setup() / migrate_vma_pages() / migrate_vma_finalize() (include/linux/migrate.h,
// mm/migrate_device.c, v6.19: migrate_vma_collect_pmd(), migrate_device_unmap(),
// migrate_vma_check_page(), migrate_vma_insert_page(), __migrate_device_pages(),
// __migrate_device_finalize()).
//
// A PMD-mapped THP (system or device-private) and a PMD-sized hole migrate whole with
// MIGRATE_VMA_SELECT_COMPOUND (MIGRATE_PFN_COMPOUND; MigrateVMACompound.swift); without
// it, or when the range does not cover the whole PMD, a large folio is split first
// (split_folio(), Virtual/FolioSplit.swift): migrate_vma_collect_huge_pmd()'s fallback
// for a huge PMD, migrate_vma_split_folio() for a PTE-mapped one.

/// The MIGRATE_PFN_* encoding of `src[]`/`dst[]` [include/linux/migrate.h].
public enum MigratePFN {
    public static let valid: UInt64 = 1 << 0
    public static let migrate: UInt64 = 1 << 1
    public static let write: UInt64 = 1 << 3
    public static let compound: UInt64 = 1 << 4
    public static let shift: UInt64 = 6
    /// Linux: `migrate_pfn()`.
    public static func make(_ pfn: Int) -> UInt64 { UInt64(pfn) << shift | valid }
    /// Linux: `migrate_pfn_to_page()`'s pfn, nil without MIGRATE_PFN_VALID.
    public static func pfn(_ value: UInt64) -> Int? { value & valid != 0 ? Int(truncatingIfNeeded: value >> shift) : nil }
}

/// `enum migrate_vma_direction`: which pages `migrate_vma_setup()` selects.
public struct MigrateVMASelect: OptionSet, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public static let system = MigrateVMASelect(rawValue: 1 << 0)
    public static let devicePrivate = MigrateVMASelect(rawValue: 1 << 1)
    public static let deviceCoherent = MigrateVMASelect(rawValue: 1 << 2)
    public static let compound = MigrateVMASelect(rawValue: 1 << 3)
}

/// `struct migrate_vma`: one driver request over `[start, end)` of one VMA.
public struct MigrateVMA: @unchecked Sendable {
    public var vma: VMA
    public var start: UInt64
    public var end: UInt64
    public var src: [UInt64] = []
    public var dst: [UInt64] = []
    /// Pages collected (setup) and then pages unmapped and migratable.
    public var cpages = 0
    public var npages = 0
    public var pgmapOwner: UInt64?
    public var flags: MigrateVMASelect
    /// The locked device-private page whose CPU fault started the migration.
    public var faultPage: Page?

    public init(vma: VMA, start: UInt64, end: UInt64, pgmapOwner: UInt64?, flags: MigrateVMASelect, faultPage: Page? = nil) {
        self.vma = vma
        self.start = start
        self.end = end
        self.pgmapOwner = pgmapOwner
        self.flags = flags
        self.faultPage = faultPage
    }
}

extension UserPageTables {
    /// Linux: `migrate_vma_setup()`: validate, collect each page of the range (holes and
    /// the zero page of an anonymous VMA as page-less sources; present pages and this
    /// owner's device-private entries locked and replaced by migration entries), then
    /// unmap and refuse every folio with references beyond its mappings (a pin).
    /// The caller holds the mmap_lock for read.
    public func migrateVMASetup(_ args: inout MigrateVMA) throws(Errno) {
        let vma = args.vma
        args.start &= ~(UserVM.pageSize - 1)
        args.end &= ~(UserVM.pageSize - 1)
        if vma.flags.contains(.hugeTLB) || !vma.flags.intersection(.special).isEmpty || vma.isFsdax { throw .EINVAL }
        guard args.end > args.start else { throw .EINVAL }
        guard args.start >= vma.start, args.start < vma.end, args.end > vma.start, args.end <= vma.end else { throw .EINVAL }
        if let page = args.faultPage {
            guard let folio = machine.pageFolio(page), machine.folioIsDevicePrivate(folio), folio.isLocked else { throw .EINVAL }
        }
        let nr = Int((args.end - args.start) >> UserVM.pageShift)
        args.src = Array(repeating: 0, count: nr)
        args.dst = Array(repeating: 0, count: nr)
        args.cpages = 0
        args.npages = 0
        // migrate_vma_collect(): MMU_NOTIFY_MIGRATE with the pgmap owner, so that a device
        // can tell its own migrations from other invalidations.
        mm.withMMUNotifier(.migrate, start: args.start, end: args.end, owner: args.pgmapOwner, machine: machine) {
            migrateVMACollect(&args)
        }
        if args.cpages > 0 { args.cpages = machine.migrateDeviceUnmap(&args.src, faultPage: args.faultPage) }
    }

    /// Linux: `migrate_vma_collect()` -> `migrate_vma_collect_pmd()` / `_hole()`. A huge
    /// PMD goes to migrate_vma_collect_huge_pmd() (MigrateVMACompound.swift): collected
    /// whole, skipped, a hole, or split for its PTEs to be read. A PTE-mapped large folio
    /// is split (migrate_vma_split_folio()) and its PTEs read again; when it cannot be
    /// split the rest of its PMD's part of the range is skipped (src 0).
    private func migrateVMACollect(_ args: inout MigrateVMA) {
        var addr = args.start
        while addr < args.end {
            let chunkEnd = min(args.end, (addr & Paging.pmdMask) &+ Paging.pmdSize)
            let faultFolio = args.faultPage.flatMap { machine.pageFolio($0) }
            if let pmd = pmdSlot(addr, allocate: false), pmd.load().isHugeEntry {
                switch collectHugePMD(pmd, start: addr, end: chunkEnd, args: &args, faultFolio: faultFolio) {
                case .collected:
                    addr = chunkEnd
                    continue
                case .skip:
                    skipCollect(&args, from: &addr, to: chunkEnd)
                    continue
                case .hole:
                    collectHole(&args, from: &addr, to: chunkEnd)
                    continue
                case .ptes:
                    break
                }
            }
            if lowerTableIfPresent(addr) == nil {
                // migrate_vma_collect_hole(): no PTE table at all.
                collectHole(&args, from: &addr, to: chunkEnd)
                continue
            }
            var mpfn: UInt64 = 0
            var large: Folio?
            _ = withPTELock(addr) { slot, _ in mpfn = collectPTE(slot, addr: addr, args: &args, faultFolio: faultFolio, large: &large) }
            if let large {
                if !migrateVMASplitFolio(large, faultPage: args.faultPage) { skipCollect(&args, from: &addr, to: chunkEnd) }
                continue   // `goto again`: the PTE is read again, now of an order-0 folio
            }
            args.src[args.npages] = mpfn
            addr &+= UserVM.pageSize
            args.npages += 1
        }
    }

    /// Linux: `migrate_vma_collect_skip()`: src 0 for `[addr, end)`.
    func skipCollect(_ args: inout MigrateVMA, from addr: inout UInt64, to end: UInt64) {
        while addr < end {
            args.src[args.npages] = 0
            args.npages += 1
            addr &+= UserVM.pageSize
        }
    }

    /// Linux: `migrate_vma_split_folio()`: split a PTE-mapped large folio (referenced
    /// and locked here unless it is the faulting one); afterwards the lock is held on
    /// the folio of the fault page, if any.
    private func migrateVMASplitFolio(_ folio: Folio, faultPage: Page?) -> Bool {
        let faultFolio = faultPage.flatMap { machine.pageFolio($0) }
        if folio != faultFolio {
            folio.get()
            folio.lock()
        }
        do { try machine.splitFolio(folio) } catch {
            if folio != faultFolio {
                folio.unlock()
                machine.folioPut(folio)
            }
            return false
        }
        guard let newFaultFolio = faultPage.flatMap({ machine.pageFolio($0) }) else {
            folio.unlock()
            machine.folioPut(folio)
            return true
        }
        if folio != newFaultFolio {
            if newFaultFolio != faultFolio {
                newFaultFolio.get()
                newFaultFolio.lock()
            }
            folio.unlock()
            machine.folioPut(folio)
        }
        return true
    }

    /// Whether a PTE table maps `addr` (none: a hole for migrate_vma_collect_hole()).
    private func lowerTableIfPresent(_ addr: UInt64) -> Int? {
        guard let pmd = pmdSlot(addr, allocate: false) else { return nil }
        let entry = pmd.load()
        guard entry.isPresent, !entry.isLeaf else { return nil }
        return entry.pfn
    }

    /// One PTE of `migrate_vma_collect_pmd()`, under its lock: the src entry.
    /// A large folio is not collected: it is returned in `large`, to be split.
    private func collectPTE(_ slot: EntrySlot, addr: UInt64, args: inout MigrateVMA, faultFolio: Folio?, large: inout Folio?) -> UInt64 {
        let vma = args.vma
        let pte = slot.load()
        if pte.isNone {
            guard vma.isAnonymous else { return 0 }
            args.cpages += 1
            return MigratePFN.migrate
        }
        var mpfn: UInt64
        let page: Page
        if !pte.isPresent {
            // Only device-private entries of this owner; swap and migration entries stay.
            guard pte.isDevicePrivate, let pfn = pte.devicePfn, let p = machine.memmap.page(pfn),
                  args.flags.contains(.devicePrivate), machine.pagePgmap(p)?.owner == args.pgmapOwner else { return 0 }
            page = p
            mpfn = MigratePFN.make(pfn) | MigratePFN.migrate
            if pte.softLeaf == .devicePrivateWrite { mpfn |= MigratePFN.write }
        } else {
            if pte.pfn == machine.zeroPagePfn, args.flags.contains(.system) {
                args.cpages += 1
                return MigratePFN.migrate
            }
            guard let folio = normalFolio(pte), let p = machine.memmap.page(pte.pfn) else { return 0 }
            let device = machine.isZoneDevice(folio.pfn)
            if !device, !args.flags.contains(.system) { return 0 }
            if device {
                guard let pgmap = machine.pagePgmap(p), pgmap.type == .deviceCoherent,
                      args.flags.contains(.deviceCoherent), pgmap.owner == args.pgmapOwner else { return 0 }
            }
            page = p
            mpfn = MigratePFN.make(pte.pfn) | MigratePFN.migrate | (pte.isWritable ? MigratePFN.write : 0)
        }
        guard let folio = machine.pageFolio(page) else { return 0 }
        if folio.isLarge {
            large = folio
            return 0
        }
        guard folio.mapping != 0 else { return 0 }
        folio.get()
        guard faultFolio?.pfn == folio.pfn || folio.tryLock() else {
            machine.folioPut(folio)
            return 0
        }
        let anonExclusive = machine.folioIsAnon(folio) && machine.pageAnonExclusive(page, folio: folio)
        let old = slot.getAndClear()
        if anonExclusive, !machine.folioTryShareAnonRmap(page, folio: folio) {
            slot.store(old)
            if faultFolio?.pfn != folio.pfn { folio.unlock() }
            machine.folioPut(folio)
            return 0
        }
        args.cpages += 1
        if old.isPresent, old.isDirty { folio.setFlag(machine.flagBits.dirty) }
        slot.store(.migration(pfn: page.pfn, write: mpfn & MigratePFN.write != 0, exclusive: anonExclusive))
        machine.folioRemoveRmapPTEs(folio, firstPfn: page.pfn, nr: 1)
        machine.folioPut(folio)
        return mpfn
    }

    /// Linux: `migrate_vma_pages()`: page-less sources are inserted now
    /// (migrate_vma_insert_page()); the others as `Machine.migrateDevicePages`.
    /// `__migrate_device_pages()` brackets the inserts with MMU_NOTIFY_MIGRATE (the pgmap
    /// owner) over [the first page-less source with a destination, end): nothing before
    /// it is inserted, so the model opens the bracket before the loop.
    public func migrateVMAPages(_ args: inout MigrateVMA) {
        let first = (0..<args.npages).first {
            args.src[$0] & MigratePFN.migrate != 0 && MigratePFN.pfn(args.src[$0]) == nil && MigratePFN.pfn(args.dst[$0]) != nil
        }
        let start = args.start &+ UInt64(first ?? 0) << UserVM.pageShift
        let pages = { (args: inout MigrateVMA) in
            let vmaArgs = args
            self.machine.migrateDevicePages(&args.src, vmaArgs.dst, count: vmaArgs.npages, faultPage: vmaArgs.faultPage, insert: { i, folio, page in
                let address = vmaArgs.start &+ UInt64(i) << UserVM.pageShift
                if vmaArgs.dst[i] & MigratePFN.compound != 0 { return self.migrateVMAInsertHugePMD(vmaArgs, address: address, folio: folio) }
                return self.migrateVMAInsertPage(vmaArgs, address: address, folio: folio, page: page)
            }, split: { src, i, folio in
                var split = vmaArgs
                split.src = src
                let done = self.migrateVMASplitUnmappedFolio(&split, idx: i, folio: folio)
                src = split.src
                return done
            })
        }
        guard first != nil else { return pages(&args) }
        mm.withMMUNotifier(.migrate, start: start, end: args.end, owner: args.pgmapOwner, machine: machine) { pages(&args) }
    }

    /// Linux: `migrate_vma_insert_page()`: map a new destination page where there was
    /// none (or the zero page, or the huge zero PMD, split first) in an anonymous VMA: a device-private entry for
    /// device-private memory, a present PTE otherwise; exclusive, one reference.
    private func migrateVMAInsertPage(_ args: MigrateVMA, address: UInt64, folio: Folio, page: Page) -> Bool {
        let vma = args.vma
        guard vma.isAnonymous, let pmd = pmdSlot(address, allocate: true) else { return false }
        if pmd.load().isLeaf {
            // Only the huge zero PMD gives way, split into small zero PTEs (split_huge_pmd()).
            guard machine.isHugeZeroPMD(pmd.load()) else { return false }
            splitHugePMD(vma, address: address)
            if pmd.load().isLeaf { return false }
        }
        guard let table = lowerTable(pmd, allocate: true), let anonVMA = vmfAnonPrepare(vma, at: address) else { return false }
        let privateFolio = machine.folioIsDevicePrivate(folio)
        let write = vma.flags.contains(.write)
        let entry: PTE = privateFolio ? .devicePrivate(pfn: page.pfn, write: write) : .page(pfn: page.pfn, writable: write, dirty: write)
        lockTable(table)
        defer { unlockTable(table) }
        let slot = self.slot(table, Paging.index(address, Paging.pageShift))
        let orig = slot.load()
        if orig.isPresent { guard orig.pfn == machine.zeroPagePfn else { return false } } else if !orig.isNone { return false }
        folio.setFlag(machine.flagBits.uptodate)
        guard machine.folioAddNewAnonRmap(folio, anonVMA: anonVMA, index: address >> UserVM.pageShift, pmd: false) else { return false }
        if !machine.isZoneDevice(folio.pfn) { machine.folioAddLRU(folio) }
        folio.get()
        slot.store(entry)
        return true
    }

    /// Linux: `migrate_vma_finalize()`.
    public func migrateVMAFinalize(_ args: MigrateVMA) {
        machine.migrateDeviceFinalize(args.src, args.dst, count: args.npages, faultPage: args.faultPage)
    }
}
