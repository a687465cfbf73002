// The device-memory operations of the language: the HMM test driver's ioctls (lib/test_hmm.c,
// v6.19, /dev/hmm_dmirror0..3: 0 and 1 MEMORY_DEVICE_PRIVATE, 2 and 3 COHERENT) on a
// process's range, hmm_range_fault() as a driver calls it, and a driver's own migrate_vma_*()
// sequence with the MIGRATE_VMA_SELECT_* flags it chooses. Each device is made at its
// first open, with the chunks of device memory it allocates as it goes.
import PageModel

extension ScenarioRunner {
    /// Runs one device operation; returns its error (an errno name) or nil.
    func deviceOperation(_ op: Operation) throws(RunError) -> String? {
        let kind = op.kind
        if kind == .dmirrorOpen {
            let p = try process(op.arguments.stored("p"))
            let id = Int(try unsigned(op, "id", max: 64))
            return attempt(op) { () throws(Errno) in .mirror(DeviceMirror(device: try device(id), process: p)) }
        }
        let d = try mirror(op.arguments.stored("d"))
        if kind == .dmirrorRelease {
            d.device.release()
            return nil
        }
        let addr = try unsigned(op, "addr"), n = try unsigned(op, "n", max: Self.maxPages)
        if kind == .migrateVma {
            var select: MigrateVMASelect = []
            for w in words(op, "flags") { select.insert(w == "system" ? .system : w == "device_private" ? .devicePrivate : .deviceCoherent) }
            defer { noteSpan(d.process, addr, n << 12) }
            return attempt(op) { () throws(Errno) in .migration(try d.migrateVMA(addr: addr, npages: n, select: select)) }
        }
        let byte = kind == .dmirrorWrite ? UInt8(truncatingIfNeeded: try int(op, "byte")) : 0
        let collisions = kind == .hmmRangeFault ? Int(try unsigned(op, "collisions", default: 0, max: Self.maxCollisions)) : 0
        defer { noteSpan(d.process, addr, n << 12) }
        return attempt(op) { () throws(Errno) in
            var buffer = [UInt8](repeating: 0, count: Int(n) << 12)
            switch kind {
            case .dmirrorMigrateToDev: _ = try d.migrateToDevice(addr: addr, npages: n, into: &buffer)
            case .dmirrorMigrateToSys: _ = try d.migrateToSystem(addr: addr, npages: n)
            case .dmirrorRead: _ = try d.read(addr: addr, npages: n, into: &buffer)
            case .dmirrorWrite:
                _ = try d.write(addr: addr, npages: n, from: [UInt8](repeating: byte, count: buffer.count))
            default:
                // A driver's hmm_range_fault(): its own interval notifier over the range,
                // the read_begin/fault/read_retry loop (DeviceMirrorRetry.swift).
                _ = try d.rangeFault(addr: addr, npages: n, write: words(op, "write").first == "true", collisions: collisions)
            }
            return nil
        }
    }

    /// The most `collisions=` an hmm_range_fault may ask for: past
    /// `DeviceMirror.rangeFaultPasses` (1001) every pass collides anyway.
    static let maxCollisions: Int64 = 1_000_000

    /// /dev/hmm_dmirrorID, made at its first open (ENODEV past the four test_hmm.c has).
    func device(_ id: Int) throws(Errno) -> DeviceMirrorDevice {
        if let device = devices[id] { return device }
        guard let device = try? DeviceMirrorDevice(machine: machine, id: id) else { throw .ENODEV }
        devices[id] = device
        return device
    }

    func mirror(_ expr: Expr?) throws(RunError) -> DeviceMirror {
        guard case .name(let name, let p)? = expr else { throw RunError(position: expr?.position ?? SourcePosition(file: "", line: 0, column: 0), message: "expected a device") }
        guard case .mirror(let mirror)? = self[name] else { throw RunError(position: p, message: "'\(name.name)' was not created (its operation failed)") }
        return mirror
    }

    /// `dmirror_snapshot(D, ADDR, N)`: HMM_DMIRROR_SNAPSHOT's byte per page
    /// (dmirror_mkentry()), or the errno.
    func snapshot(_ e: Expectation) throws(RunError) -> Observed {
        let d = try mirror(e.arguments.stored("d"))
        let addr = try int(e.arguments.stored("addr")!), n = try int(e.arguments.stored("n")!)
        guard addr >= 0, (1...Self.maxPages).contains(n) else { throw RunError(position: e.position, message: "dmirror_snapshot(): address or count out of range") }
        do throws(Errno) {
            return .bytes(try d.snapshot(addr: UInt64(addr), npages: UInt64(n)).1)
        } catch {
            return .word(error.name)
        }
    }

    /// `cpages(M)` and `migrated(M)`: what a `migrate_vma` reported.
    func migration(_ e: Expectation) throws(RunError) -> Observed {
        guard case .name(let name, let p)? = e.arguments.stored("m") else { throw RunError(position: e.position, message: "expected a migration") }
        guard case .migration(let result)? = self[name] else { throw RunError(position: p, message: "'\(name.name)' was not created (its operation failed)") }
        return .int(Int64(e.kind == .cpages ? result.cpages : result.migrated))
    }

    /// `is_device_private(PAGE)` and `pgmap_owner(PAGE)`: the page's dev_pagemap, its
    /// type, and which opened device its owner (`pgmap->owner`, test_hmm.c's `mdevice`)
    /// is, by minor number (`none` for a page no device owns).
    func devicePage(_ e: Expectation, _ page: Page) -> Observed {
        // page_pgmap() WARNs outside ZONE_DEVICE: ask only there.
        let pgmap = machine.zone(of: page.pfn)?.type == .device ? machine.pagePgmap(page) : nil
        if e.kind == .isDevicePrivate { return .bool(pgmap?.type == .devicePrivate) }
        guard let owner = pgmap?.owner, let id = devices.first(where: { $0.value.owner == owner })?.key else { return .missing("none") }
        return .int(Int64(id))
    }
}
