// The `device` workload: what a GPU driver does with a process's memory through HMM
// (Documentation/mm/hmm.rst; lib/test_hmm.c's dmirror devices as the driver): buffers
// migrated to device-private and device-coherent memory and back (migrate_vma_*), CPU
// faults pulling device-private pages home (do_swap_page() -> migrate_to_ram()),
// short-term and long-term GUP of device-resident memory (kernel-facts §4.6-4.7), fork()
// with device-private entries (copy_nonpresent_pte()), and the device evicted while the
// process runs (dmirror_device_remove_chunks() -> migrate_device_range()); every byte
// verified, every device page accounted for after exit.

import PageLayout

/// What the device workload counted, beyond the basic figures.
public struct DeviceFigures: Sendable, Equatable {
    /// Pages that arrived in device memory (MIGRATE_TO_DEV, private and coherent),
    /// observed in the page tables before and after each migration.
    public var migrationsToDevice = 0
    /// Pages that left device memory other than by a fault: MIGRATE_TO_SYS, a
    /// FOLL_LONGTERM pin moving a coherent page out (migrate_device_coherent_folio()),
    /// and the eviction.
    public var migrationsToSystem = 0
    /// Device-private pages brought home by `migrate_to_ram()`: CPU loads and stores,
    /// and GUP faulting them in (kernel-facts §4.6).
    public var faultsToRAM = 0
    /// Pages pinned (FOLL_PIN) while they were device-resident.
    public var devicePins = 0
    /// Pins of device-resident pages the design refused (page-ext has no page_ext for
    /// ZONE_DEVICE memory).
    public var devicePinsRefused = 0
    /// Device-coherent pages a FOLL_LONGTERM pin moved to system memory first.
    public var longtermMovedOff = 0
    /// Pages in use on the private device when it was evicted.
    public var evicted = 0
    /// Distinct pfns the machine found a descriptor corruption in (a `.corruption`
    /// diagnostic): lru-pinned's pin over `pgmap`, lru-pinned-rearranged's anon rmap
    /// over the `pgmap` it keeps in the index word.
    public var corruptions = 0
    /// Pin statistics of the run (false negatives of `folio_maybe_dma_pinned()`, ...).
    public var stats = PinStats()
    /// Device pages still allocated after every process exited.
    public var devicePagesLeaked = 0
    /// Nanoseconds per page of a MIGRATE_TO_DEV + MIGRATE_TO_SYS round trip of
    /// `timedPages` faulted anonymous pages (best of the timed rounds, per page moved
    /// each way); nil when the round trip did not move every page.
    public var nsPerMigratedPage: Double?
    public var timedPages = 0
    /// Why no device memory could be created (a kernel config without ZONE_DEVICE).
    public var note: String?
}

/// The script of `WorkloadKind.device`. `B` = `Sizes.buffer` pages of anonymous memory
/// on the private device (dmirror 0), `C` = `coherentPages` on the coherent one (dmirror 2).
enum DeviceWorkload: WorkloadScript {
    static let minimumRAM: UInt64 = 256 << 20
    static let nodes = 1
    static let coherentPages = 64
    /// Pages of each pin (short-term, then long-term) of device-resident memory.
    static let pinPages = 16
    static let timedPages = 1024
    static let timedRounds = 3

    /// The buffer: RAM / 256 (at most 4 MiB), whole 32-page groups.
    static func bufferPages(ramBytes: UInt64) -> Int {
        unitPages(ramBytes: ramBytes, atMost: 4 << 20) / 32 * 32
    }

    /// The kernel of every machine: the x86_64 distribution preset (ZONE_DEVICE) with
    /// DEVICE_PRIVATE, as the HMM tests use.
    static func kernel() throws(WorkloadError) -> KernelConfig {
        do { return try KernelConfig.preset("x86_64-distro").setting(["DEVICE_PRIVATE": .yes]) } catch {
            throw .machine(.layout("device workload kernel: \(error)"))
        }
    }

    static func run(design: Design, ramBytes: UInt64) throws(WorkloadError) -> WorkloadResult {
        try validate(ramBytes: ramBytes)
        var figures = DeviceFigures()
        var result = try WorkloadRun.measure(.device, design: design, ramBytes: ramBytes, nodes: nodes, kernel: try kernel()) { run in
            let diagnosticsBefore = run.machine.diagnostics.count
            let script = DeviceScript(run: run, buffer: bufferPages(ramBytes: ramBytes))
            script.perform()
            figures = script.figures
            figures.stats = run.machine.pinStats
            figures.corruptions = Set(run.machine.diagnostics.all.dropFirst(diagnosticsBefore)
                .filter { $0.kind == .corruption }.map { $0.pfn ?? .max }).count
            return nil
        }
        result.device = figures
        return result
    }
}

/// One run of the device workload's script on one machine.
final class DeviceScript {
    let run: WorkloadRun
    let machine: Machine
    let buffer: Int
    var figures = DeviceFigures()

    init(run: WorkloadRun, buffer: Int) {
        self.run = run
        self.machine = run.machine
        self.buffer = buffer
    }

    func perform() {
        // Device memory at all: a kernel config without ZONE_DEVICE cannot create it.
        do {
            let probe = try machine.memremapPages(type: .generic, bytes: machine.config.sectionBytes, ops: DevPagemapOps())
            machine.memunmapPages(probe)
        } catch {
            figures.note = "no device memory: \(error)"
            return
        }
        let parent: ExpectedProcess, privateDevice: DeviceMirrorDevice, coherentDevice: DeviceMirrorDevice
        do {
            parent = ExpectedProcess(name: "gpu", process: try Process(machine: machine))
            privateDevice = try DeviceMirrorDevice(machine: machine, id: 0)
            coherentDevice = try DeviceMirrorDevice(machine: machine, id: 2)
        } catch {
            return run.fail("setup: \(error)")
        }
        let gpu = DeviceMirror(device: privateDevice, process: parent.process)
        let coherent = DeviceMirror(device: coherentDevice, process: parent.process)
        let b = buffer, c = DeviceWorkload.coherentPages, n = DeviceWorkload.pinPages

        // 1. The program fills its buffers.
        run.mmapWritten(parent, "buf", pages: b)
        run.mmapWritten(parent, "coh", pages: c)
        run.checkpoint("populate")

        // 2. The buffer goes to device-private memory (the device reads it back as
        //    the program wrote it); the device writes the first quarter.
        toDevice(gpu, parent, "buf")
        deviceWrite(gpu, parent, "buf", first: 0, count: b / 4)
        run.checkpoint("migrate to the private device")

        // 3. The CPU reads every even page: each is a fault on a device-private entry,
        //    which migrate_to_ram() brings home.
        for page in stride(from: 0, to: b, by: 2) { cpuRead(parent, "buf", page: page) }
        run.checkpoint("CPU faults")

        // 4. GUP of device-private memory: a short-term pin (GUP-fast falling back) and a
        //    long-term one; each faults the device pages home and pins system pages.
        pin(parent, "buf", first: 0, count: n, longterm: false, coherent: false)
        pin(parent, "buf", first: n, count: n, longterm: true, coherent: false)
        run.checkpoint("GUP of device-private memory")

        // 5. Device-coherent memory: a short-term pin keeps the page on the device; a
        //    FOLL_LONGTERM pin moves it out first; the rest comes back by MIGRATE_TO_SYS.
        toDevice(coherent, parent, "coh")
        pin(parent, "coh", first: 0, count: n / 2, longterm: false, coherent: true)
        pin(parent, "coh", first: n / 2, count: n / 2, longterm: true, coherent: true)
        toSystem(coherent, parent, "coh")
        for page in 0..<c { cpuRead(parent, "coh", page: page) }
        run.checkpoint("device-coherent memory")

        // 6. fork() with the whole buffer device-private: the child writes every fourth
        //    page (faulting it home, then COW), both read everything back.
        toDevice(gpu, parent, "buf")
        do {
            let child = parent.forked(name: "child", process: try parent.process.fork())
            for page in stride(from: 0, to: b, by: 4) { cpuWrite(child, "buf", page: page) }
            for page in 0..<b { cpuRead(parent, "buf", page: page) }
            for page in 0..<b { cpuRead(child, "buf", page: page) }
            child.process.exit()
        } catch {
            run.fail("fork: \(error)")
        }
        run.checkpoint("fork with device-private pages")

        // 7. The device is evicted while the process runs: every resident page goes
        //    home by migrate_device_range(), the program's bytes intact, no fault needed.
        toDevice(gpu, parent, "buf")
        let resident = privateDevice.pagesInUse
        let before = residentPages(parent, "buf")
        privateDevice.release()
        figures.evicted = resident
        figures.migrationsToSystem += before - residentPages(parent, "buf")
        if residentPages(parent, "buf") > 0 { run.fail("eviction: \(residentPages(parent, "buf")) pages still on the device") }
        run.verify(parent, phase: "after eviction")
        run.checkpoint("device evicted")

        parent.process.exit()
        timedRoundTrip(privateDevice)
        figures.devicePagesLeaked = privateDevice.pagesInUse + coherentDevice.pagesInUse
        if figures.devicePagesLeaked > 0 { run.fail("exit: \(figures.devicePagesLeaked) device pages never went back to their driver") }
        privateDevice.release()
        coherentDevice.release()
        run.checkpoint("exit")
    }

    // MARK: Steps

    /// Whether the page at `address` is in device memory: a device-private entry, or a
    /// present PTE of a ZONE_DEVICE pfn (coherent memory).
    func onDevice(_ target: ExpectedProcess, _ address: UInt64) -> Bool {
        let pte = target.process.tables.entry(at: address).pte
        if pte.isDevicePrivate { return true }
        return pte.isPresent && machine.isZoneDevice(pte.pfn)
    }

    func residentPages(_ target: ExpectedProcess, _ name: String) -> Int {
        guard let mapping = target.mappings[name] else { return 0 }
        return (0..<mapping.pages).filter { onDevice(target, mapping.address(ofPage: $0)) }.count
    }

    /// HMM_DMIRROR_MIGRATE_TO_DEV of a whole mapping; what the device reads back is
    /// verified page by page.
    func toDevice(_ mirror: DeviceMirror, _ target: ExpectedProcess, _ name: String) {
        guard let mapping = target.mappings[name] else { return run.fail("migrate to device: no mapping \(name)") }
        let before = residentPages(target, name)
        var bytes: [UInt8] = []
        do {
            _ = try mirror.migrateToDevice(addr: mapping.start, npages: UInt64(mapping.pages), into: &bytes)
            for page in 0..<mapping.pages {
                let range = (page * PagePattern.pageSize)..<((page + 1) * PagePattern.pageSize)
                run.check(Array(bytes[range]), seed: target.expectedSeed(mapping, page: page),
                          what: "device \(mirror.device.id) reads \(name) page \(page)")
            }
        } catch {
            run.fail("\(name): MIGRATE_TO_DEV on device \(mirror.device.id): \(error)")
        }
        figures.migrationsToDevice += residentPages(target, name) - before
    }

    /// HMM_DMIRROR_MIGRATE_TO_SYS of a whole mapping.
    func toSystem(_ mirror: DeviceMirror, _ target: ExpectedProcess, _ name: String) {
        guard let mapping = target.mappings[name] else { return run.fail("migrate to system: no mapping \(name)") }
        let before = residentPages(target, name)
        do { _ = try mirror.migrateToSystem(addr: mapping.start, npages: UInt64(mapping.pages)) } catch {
            run.fail("\(name): MIGRATE_TO_SYS on device \(mirror.device.id): \(error)")
        }
        let after = residentPages(target, name)
        figures.migrationsToSystem += before - after
        if after > 0 { run.fail("\(name): \(after) pages stayed on device \(mirror.device.id) after MIGRATE_TO_SYS") }
    }

    /// HMM_DMIRROR_WRITE: the device writes fresh bytes into pages it holds.
    func deviceWrite(_ mirror: DeviceMirror, _ target: ExpectedProcess, _ name: String, first: Int, count: Int) {
        guard let mapping = target.mappings[name] else { return }
        let seeds = (0..<count).map { _ in run.seed() }
        let bytes = seeds.flatMap(PagePattern.bytes)
        do {
            _ = try mirror.write(addr: mapping.address(ofPage: first), npages: UInt64(count), from: bytes)
            for (i, seed) in seeds.enumerated() { target.wrote(mapping, page: first + i, seed: seed) }
        } catch {
            run.fail("\(name): device WRITE of pages \(first)..<\(first + count): \(error)")
        }
    }

    /// A CPU load of a whole page, verified; a device-private page it brings home counts.
    func cpuRead(_ target: ExpectedProcess, _ name: String, page: Int) {
        guard let mapping = target.mappings[name] else { return }
        let address = mapping.address(ofPage: page)
        let wasOnDevice = onDevice(target, address)
        do {
            let bytes = try target.process.read(address, count: PagePattern.pageSize)
            run.check(bytes, seed: target.expectedSeed(mapping, page: page), what: "\(target.name) reads \(name) page \(page)")
        } catch {
            run.unreadable("\(target.name) reads \(name) page \(page): \(error)")
        }
        if wasOnDevice, !onDevice(target, address) { figures.faultsToRAM += 1 }
    }

    /// A CPU store over a whole page; a device-private page it brings home counts.
    func cpuWrite(_ target: ExpectedProcess, _ name: String, page: Int) {
        guard let mapping = target.mappings[name] else { return }
        let wasOnDevice = onDevice(target, mapping.address(ofPage: page))
        run.write(target, name, page: page)
        if wasOnDevice, !onDevice(target, mapping.address(ofPage: page)) { figures.faultsToRAM += 1 }
    }

    /// Pins pages one at a time (FOLL_WRITE, FOLL_LONGTERM if `longterm`; GUP-fast for
    /// short-term pins), asks `folio_maybe_dma_pinned()` while they are held, lets the
    /// device write through them, and unpins them dirty. Where each pinned page must be:
    /// device-private memory is faulted home first; a coherent page stays on the device
    /// under a short-term pin and is moved out by a long-term one.
    func pin(_ target: ExpectedProcess, _ name: String, first: Int, count: Int, longterm: Bool, coherent: Bool) {
        guard let mapping = target.mappings[name] else { return }
        var held: [PinsWorkload.Held] = []
        for page in first..<(first + count) {
            let address = mapping.address(ofPage: page)
            let wasOnDevice = onDevice(target, address)
            let flags: FollFlags = longterm ? [.write, .longterm] : .write
            let pages: [Page]
            do {
                pages = longterm ? try target.process.pinUserPages(start: address, nrPages: 1, flags: flags)
                                 : try target.process.pinUserPagesFast(start: address, nrPages: 1, flags: flags)
            } catch {
                if wasOnDevice { figures.devicePinsRefused += 1 } else { run.fail("\(name) page \(page): pin: \(error)") }
                continue
            }
            guard pages.count == 1 else {
                run.fail("\(name) page \(page): pin returned \(pages.count) pages")
                machine.unpinUserPages(pages)
                continue
            }
            held.append(PinsWorkload.Held(name: name, first: page, pages: pages))
            if let folio = machine.pageFolio(machine.pageBehind(pages[0])), !machine.folioMaybeDMAPinned(folio) {
                run.fail("\(name) page \(page): pinned but folio_maybe_dma_pinned() says no")
            }
            guard wasOnDevice else { continue }
            figures.devicePins += 1
            let pinnedOnDevice = machine.isZoneDevice(machine.pageBehind(pages[0]).pfn)
            if !coherent, !pinnedOnDevice { figures.faultsToRAM += 1 }
            if coherent, longterm, !pinnedOnDevice { figures.longtermMovedOff += 1; figures.migrationsToSystem += 1 }
            if pinnedOnDevice != (coherent && !longterm) {
                run.fail("\(name) page \(page): a \(longterm ? "long" : "short")-term pin left it \(pinnedOnDevice ? "on" : "off") the device")
            }
        }
        for range in held {
            run.dmaWrite(target, range, every: 1)
            machine.unpinUserPages(range.pages, makeDirty: true)
        }
    }

    /// MIGRATE_TO_DEV + MIGRATE_TO_SYS of `timedPages` faulted pages on the private
    /// device (a fresh chunk after the eviction): a warm-up, then the best of
    /// `timedRounds`, per page moved each way. dmirror copies the data to the caller's
    /// buffer on the way in, as the ioctl does; that copy is in the time.
    func timedRoundTrip(_ device: DeviceMirrorDevice) {
        let pages = DeviceWorkload.timedPages
        let bytes = UInt64(pages * PagePattern.pageSize)
        guard case let (process, addr)? = run.faultedProcess(bytes: bytes, for: "timed round trip") else { return }
        defer { process.exit() }
        let mirror = DeviceMirror(device: device, process: process)
        let clock = ContinuousClock()
        var best = Duration.seconds(1_000)
        var buffer: [UInt8] = []
        for round in 0...DeviceWorkload.timedRounds {
            var moved = 0
            var failed = false
            let elapsed = clock.measure {
                do {
                    moved += try mirror.migrateToDevice(addr: addr, npages: UInt64(pages), into: &buffer).cpages
                    moved += try mirror.migrateToSystem(addr: addr, npages: UInt64(pages)).cpages
                } catch {
                    failed = true
                }
            }
            guard !failed, moved == 2 * pages else { return run.fail("timed round trip: \(moved) of \(2 * pages) page migrations") }
            if round > 0 { best = min(best, elapsed) }
        }
        figures.timedPages = pages
        figures.nsPerMigratedPage = best.seconds * 1e9 / Double(2 * pages)
    }
}
