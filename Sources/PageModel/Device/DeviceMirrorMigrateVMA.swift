// A driver's own migrate_vma_setup() / migrate_vma_pages() / migrate_vma_finalize() over one
// VMA (mm/migrate_device.c, v6.19), with the MIGRATE_VMA_SELECT_* flags it chooses: the
// sequence every device driver (nouveau, amdgpu's SVM, lib/test_hmm.c) runs, with the
// mirror device as the driver. Pages of system memory (and anonymous holes) go to the
// device's memory; this device's private or coherent pages come back to system memory.
// Unlike the test driver's ioctls it does not split the range at VMA boundaries (the
// caller's range must lie in one VMA, as migrate_vma_setup() requires).

/// What one migration reports: `cpages` as migrate_vma_setup() leaves it (pages
/// collected, then unmapped and migratable: migrate_vma_unmap()), and the source entries
/// still MIGRATE_PFN_MIGRATE after migrate_vma_pages() (the pages, holes included, that
/// moved: the driver's count after the copy, as dmirror_successful_migrated_pages()).
public struct MigrateVMAResult: Equatable, Sendable {
    public var cpages = 0
    public var migrated = 0
}

extension DeviceMirror {
    /// `migrate_vma_setup()` with `.start = addr`, `.end = addr + npages pages`,
    /// `.pgmap_owner` this device and `.flags = select`, the destinations allocated and
    /// copied, `migrate_vma_pages()`, the device page table updated, then
    /// `migrate_vma_finalize()`. EINVAL: no VMA at `addr`, or migrate_vma_setup()'s
    /// checks (an empty range, one past the VMA's end, a special, hugetlb or DAX VMA).
    public func migrateVMA(addr: UInt64, npages: UInt64, select: MigrateVMASelect) throws(Errno) -> MigrateVMAResult {
        guard npages <= UInt64.max >> UserVM.pageShift else { throw .EINVAL }
        let (end, overflow) = addr.addingReportingOverflow(npages << UserVM.pageShift)
        guard !overflow else { throw .EINVAL }
        let mm = process.mm, tables = process.tables
        return try mm.mmapLock.withReadLock { () throws(Errno) -> MigrateVMAResult in
            guard let vma = mm.lockedVMALookup(addr) else { throw .EINVAL }
            var args = MigrateVMA(vma: vma, start: addr, end: end, pgmapOwner: device.owner, flags: select)
            try tables.migrateVMASetup(&args)
            var result = MigrateVMAResult(cpages: args.cpages)
            if select.contains(.system) { allocAndCopyToDevice(&args) }
            if !select.isDisjoint(with: [.devicePrivate, .deviceCoherent]) { _ = device.allocAndCopyToSystem(&args, mirror: self) }
            tables.migrateVMAPages(&args)
            result.migrated = args.src.prefix(args.npages).filter { $0 & MigratePFN.migrate != 0 }.count
            finalizeAndMap(args)
            tables.migrateVMAFinalize(args)
            return result
        }
    }
}
