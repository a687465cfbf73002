// The device workload (issue 14 item 8) on every design at the smallest size. Every
// expected count is derived from the script's steps (DeviceWorkload.swift) and the
// kernel's rules, with B buffer pages (RAM / 256 / 4096 = 256 here), C = 64 coherent
// pages and n = 16 pages per pin:
// - to device: B (step 2) + C (step 5) + B/2 + n before fork (the even pages read home
//   in step 3 and the odd ones of the two pins) + B before the eviction;
// - faults home (migrate_to_ram(), mm/memory.c do_swap_page()): B/2 CPU reads + n GUP
//   faults (kernel-facts §4.6: GUP on a device-private entry faults it in) + B around
//   fork (the child's stores to every fourth page, then the parent's loads of the rest;
//   a page brought home by either is brought home for both: try_to_migrate() and
//   remove_migration_ptes() walk every mapping of the folio);
// - to system: C (MIGRATE_TO_SYS, or a FOLL_LONGTERM pin moving a coherent page out
//   first: mm/gup.c check_and_migrate_movable_folios()) + B evicted;
// - device pins: n private (faulted home, then pinned) + n coherent.
import PageLayout
@testable import PageModel
import Testing

@Suite struct DeviceWorkloadTests {
    static let ram: UInt64 = 256 << 20
    static let b = 256, c = 64, n = 16

    static func run(_ design: Design) throws -> (WorkloadResult, DeviceFigures) {
        let result = try WorkloadKind.device.run(design: design, ramBytes: ram)
        return (result, try #require(result.device))
    }

    /// The designs that keep pgmap and pin exactly where HMM needs it: every count as
    /// derived, nothing broken, every byte verified: the device reads the buffer three
    /// times (3B) and the coherent one once (C), the CPU reads B/2 + C pages, parent and
    /// child read the buffer after fork (2B), and every page once more after the
    /// eviction (B + C).
    @Test(arguments: [Design.mainline, .dmaPinnedField, .proxy, .memdesc32, .memdesc8])
    func everyCountAsDerived(_ design: Design) throws {
        let (result, device) = try Self.run(design)
        let b = Self.b, c = Self.c, n = Self.n
        #expect(result.failures.isEmpty, "\(result.failures)")
        #expect(result.passed)
        #expect(device.migrationsToDevice == b + c + (b / 2 + n) + b)
        #expect(device.migrationsToSystem == c + b)
        #expect(device.faultsToRAM == b / 2 + n + b)
        #expect(device.devicePins == 2 * n)
        #expect(device.devicePinsRefused == 0)
        #expect(device.longtermMovedOff == n / 2)
        #expect(device.evicted == b)
        #expect(device.corruptions == 0)
        #expect(device.stats.falseNegatives == 0)
        #expect(device.stats.pinsAcquired == device.stats.pinsReleased)
        #expect(device.devicePagesLeaked == 0)
        #expect(result.leakedPages == 0)
        #expect(result.dataErrors == 0)
        #expect(result.bytesVerified == (3 * b + c + b / 2 + c + 2 * b + b + c) * 4096)
        #expect(device.timedPages == DeviceWorkload.timedPages)
        #expect((device.nsPerMigratedPage ?? 0) > 0)
    }

    /// page-ext has no page_ext for ZONE_DEVICE memory: both pins of coherent pages are
    /// refused (n), so no long-term pin moves one out and MIGRATE_TO_SYS takes all C.
    /// Device-private pages are faulted home before the pin, into RAM page_ext covers.
    @Test func pageExtRefusesCoherentPins() throws {
        let (result, device) = try Self.run(.pageExt)
        #expect(result.failures.isEmpty, "\(result.failures)")
        #expect(device.devicePins == Self.n)
        #expect(device.devicePinsRefused == Self.n)
        #expect(device.longtermMovedOff == 0)
        #expect(device.migrationsToSystem == Self.c + Self.b)
        #expect(device.corruptions == 0 && device.devicePagesLeaked == 0 && result.dataErrors == 0)
    }

    /// Seed 001 under lru-pinned: the pin counter in the lru words overwrites pgmap of
    /// every pinned coherent page (n corruptions); the long-term pin then cannot see a
    /// device page (folio_is_longterm_pinnable() reads pgmap) and leaves it on the
    /// device; MIGRATE_TO_SYS cannot select those n pages, and they never go back to
    /// their driver. Device-private memory is not hurt: GUP faults it home first.
    @Test func lruPinnedCorruptsCoherentPages() throws {
        let (result, device) = try Self.run(.lruPinned)
        #expect(device.corruptions == Self.n)
        #expect(device.devicePins == 2 * Self.n)
        #expect(device.longtermMovedOff == 0)
        #expect(device.migrationsToSystem == Self.c - Self.n + Self.b)
        #expect(device.faultsToRAM == Self.b / 2 + Self.n + Self.b)
        #expect(device.devicePagesLeaked == Self.n)
        #expect(result.dataErrors == 0)
        #expect(!result.passed)
    }

    /// lru-pinned-rearranged keeps pgmap in the index word, which the anon rmap of a
    /// migrated page overwrites: every page migrated to the private device is a
    /// corruption (at least the B of step 2), the CPU gets SIGBUS where the data should
    /// be (data errors), and device pages leak. Counted, not crashed on.
    @Test func rearrangedLosesAnonDeviceMemory() throws {
        let (result, device) = try Self.run(.lruPinnedRearranged)
        #expect(device.corruptions >= Self.b)
        #expect(result.dataErrors > 0 && result.dataErrors % 4096 == 0)
        #expect(device.devicePagesLeaked > 0)
        #expect(device.stats.pinsAcquired == device.stats.pinsReleased)
        #expect(!result.passed)
    }

    @Test func tooLittleRAMIsRejected() {
        #expect(throws: WorkloadError.ramTooSmall(bytes: 128 << 20, minimum: 256 << 20)) {
            try WorkloadKind.device.run(design: .mainline, ramBytes: 128 << 20)
        }
    }
}
