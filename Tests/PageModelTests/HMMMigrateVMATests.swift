// A driver's own migrate_vma_setup()/_pages()/_finalize() (DeviceMirror.migrateVMA) with
// the MIGRATE_VMA_SELECT_* flags it chooses (mm/migrate_device.c, v6.19), on the designs
// that hold anonymous device memory (HMMMigrateTests.designs).
import PageLayout
@testable import PageModel
import Testing

@Suite struct HMMMigrateVMATests {
    /// One call may select both directions: RAM pages (and anonymous holes) go to the
    /// device, this device's private pages come back. migrate_vma_collect_hole() collects
    /// a hole of an anonymous VMA whatever the flags; migrate_vma_collect_pmd() collects a
    /// present RAM page with MIGRATE_VMA_SELECT_SYSTEM and a device-private entry of the
    /// same pgmap owner with _DEVICE_PRIVATE.
    @Test(arguments: HMMMigrateTests.designs)
    func bothDirectionsInOneCall(_ design: Design) throws {
        let (machine, process, mirror, addr, data) = try HMMBuffer.make(design, device: 0, npages: 4)
        // Pages 0 and 1 to the device first (SYSTEM only: both collected and moved).
        let first = try mirror.migrateVMA(addr: addr, npages: 2, select: .system)
        #expect(first == MigrateVMAResult(cpages: 2, migrated: 2))
        // Then all four, both flags: 0 and 1 come back, 2 and 3 go.
        let both = try mirror.migrateVMA(addr: addr, npages: 4, select: [.system, .devicePrivate])
        #expect(both == MigrateVMAResult(cpages: 4, migrated: 4))
        for i in 0..<4 {
            let pte = process.tables.entry(at: addr + UInt64(i) << 12).pte
            #expect(pte.isDevicePrivate == (i >= 2), "page \(i)")
        }
        #expect(try process.read(addr, count: data.count) == data)
        #expect(machine.diagnostics.all.isEmpty)
    }

    /// migrate_vma_setup()'s checks are -EINVAL: no VMA at the start (the driver's
    /// vma lookup fails), an end past the VMA's end, an empty range.
    @Test func setupChecksAreEINVAL() throws {
        let (_, _, mirror, addr, _) = try HMMBuffer.make(.mainline, device: 0, npages: 2)
        #expect(throws: Errno.EINVAL) { try mirror.migrateVMA(addr: 0x1000, npages: 1, select: .system) }
        #expect(throws: Errno.EINVAL) { try mirror.migrateVMA(addr: addr, npages: 3, select: .system) }
        #expect(throws: Errno.EINVAL) { try mirror.migrateVMA(addr: addr, npages: 0, select: .system) }
        // No selection flag: nothing present is collected (a hole would be).
        #expect(try mirror.migrateVMA(addr: addr, npages: 2, select: []) == MigrateVMAResult(cpages: 0, migrated: 0))
    }
}
