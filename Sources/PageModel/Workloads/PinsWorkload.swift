// The `pins` workload: what drivers do with user memory (Documentation/core-api/pin_user_pages.rst
// cases 1-5). Short-term pins as O_DIRECT does them (pin_user_pages_fast() of anonymous
// and disk-file pages, the "DMA" writing into the pinned frames, unpin_user_pages_dirty_lock()),
// long-term pins as RDMA does them (FOLL_LONGTERM of anonymous memory, a THP, a memfd), a
// driver's 1024 get_user_pages() references on one page (mainline's false positive),
// ZONE_DEVICE generic pages pinned, a pin of a folio reclaim has isolated, fork() while
// long-term pins are held, migration and reclaim over pinned ranges, a ZONE_MOVABLE machine where a long-term pin migrates first,
// and a timed pin_user_pages_fast() + unpin_user_pages() loop; every byte verified.

import PageLayout

/// What the pins workload measured beyond the basic figures: the design's pin statistics
/// and costs, and the time of a pin on GUP-fast.
public struct PinFigures: Sendable, Equatable {
    /// Pin statistics of both machines (the main one and the ZONE_MOVABLE one), exact:
    /// pins acquired and released, false positives and negatives of
    /// `folio_maybe_dma_pinned()`, corruptions found, refused grabs, ...
    public var stats: PinStats
    /// The main machine's pin costs at the end (struct page bytes, page_ext, proxies).
    public var costs: PinCosts
    /// (memmap + descriptors + page_ext) of RAM at the peak sample, divided by RAM's pfns:
    /// the same pfns on every design. The ZONE_DEVICE section is left out here and
    /// counted in `deviceMemmapBytes`.
    public var bytesPerPage: Double
    /// The memmap of the ZONE_DEVICE section at the peak sample, with the memdesc
    /// designs' device folio descriptors; nil when the machine cannot create one
    /// (`deviceNote` says why).
    public var deviceMemmapBytes: Int?
    /// Bytes of live pin objects (the proxy design's `dynamic_page`s) at their highest
    /// sample, and at the end (0 when every pin was released).
    public var proxyPeakBytes: Int
    public var proxyLiveBytes: Int
    /// Nanoseconds per 4 KiB page of `pin_user_pages_fast(FOLL_WRITE)` +
    /// `unpin_user_pages()` over an already-faulted anonymous range (best of the timed
    /// rounds), and the range's pages.
    public var nsPerPinFast: Double
    public var timedPages: Int
    /// Pages held by long-term pins at fork() and through migration and reclaim.
    public var longtermPages: Int
    /// Folios `Process.migrate` refused because they were pinned.
    public var migrationRefusedPinned: Int
    /// Pages a FOLL_LONGTERM pin migrated out of ZONE_MOVABLE before pinning.
    public var movedOutOfMovable: Int
    /// ZONE_DEVICE generic pages pinned, and pins the design refused on them (page-ext
    /// has no page_ext for device memory); `deviceNote` says why none were tried.
    public var devicePagesPinned: Int
    public var devicePinsRefused: Int
    public var deviceNote: String?

    /// Designs whose `folio_maybe_dma_pinned()` is exact, as each declares
    /// (`PinCapabilities.tracksExactly`): all but mainline, whose small-folio bias
    /// answers yes for 1024 plain references.
    public static func tracksExactly(_ design: Design) -> Bool { design.pinTracker.capabilities.tracksExactly }
}

/// The script of `WorkloadKind.pins`. Sizes scale with RAM: a unit is RAM / 256 (at most
/// 16 MiB); anonymous memory 4 units (the first held by a long-term pin), a THP region of
/// one 2 MiB PMD or more, a memfd and a disk file of one unit each.
enum PinsWorkload: WorkloadScript {
    static let minimumRAM: UInt64 = 256 << 20
    static let nodes = 2
    /// Pages of one short-term pin (a 64 KiB O_DIRECT request).
    static let ioPages = 16
    /// Plain references that make a small folio look pinned to mainline.
    static let biasReferences = Int(GUPPin.countingBias)
    /// ZONE_DEVICE generic pages pinned.
    static let devicePages = 16
    /// The timed loop: 16 MiB of anonymous memory, a warm-up and three timed rounds.
    static let timedBytes: UInt64 = 16 << 20
    static let timedRounds = 3

    struct Sizes {
        let unit: Int
        var anon: Int { 4 * unit }
        var longterm: Int { unit }
        var thp: Int { max(512, unit / 512 * 512) }
        var memfd: Int { unit }
        var disk: Int { unit }

        init(ramBytes: UInt64) {
            unit = PinsWorkload.unitPages(ramBytes: ramBytes)
        }
    }

    /// What the script found, beyond WorkloadRun's bookkeeping.
    final class Tally {
        var longtermPages = 0
        var migrationRefusedPinned = 0
        var movedOutOfMovable = 0
        var devicePagesPinned = 0
        var devicePinsRefused = 0
        var deviceNote: String?
        var nsPerPinFast = 0.0
        var proxyPeakBytes = 0
        var movableStats = PinStats()
    }

    static func run(design: Design, ramBytes: UInt64) throws(WorkloadError) -> WorkloadResult {
        try validate(ramBytes: ramBytes)
        let sizes = Sizes(ramBytes: ramBytes)
        return try WorkloadRun.measure(.pins, design: design, ramBytes: ramBytes, nodes: nodes) { run in
            let machine = run.machine
            let tally = Tally()
            script(run, sizes, tally)
            movablePart(run, design: design, ramBytes: ramBytes, tally)
            timedLoop(run, tally)
            let stats = machine.pinStats.adding(tally.movableStats)
            if stats.pinsAcquired != stats.pinsReleased {
                run.fail("pins: \(stats.pinsAcquired) acquired but \(stats.pinsReleased) released")
            }
            let costs = machine.pinCosts
            let peak = run.peakAccounting
            return PinFigures(
                stats: stats, costs: costs,
                bytesPerPage: Double(peak.ramTotalBytes) / Double(max(1, peak.pfns)),
                deviceMemmapBytes: tally.deviceNote == nil ? peak.deviceMemmapBytes + peak.deviceDescriptorBytes : nil,
                proxyPeakBytes: tally.proxyPeakBytes, proxyLiveBytes: costs.livePinBytes,
                nsPerPinFast: tally.nsPerPinFast, timedPages: Int(timedBytes) / PagePattern.pageSize,
                longtermPages: tally.longtermPages, migrationRefusedPinned: tally.migrationRefusedPinned,
                movedOutOfMovable: tally.movedOutOfMovable, devicePagesPinned: tally.devicePagesPinned,
                devicePinsRefused: tally.devicePinsRefused, deviceNote: tally.deviceNote)
        }
    }

    /// A pinned range the workload holds: the GUP results (proxies under the proxy
    /// design), the mapping and first page they cover.
    struct Held {
        let name: String
        let first: Int
        var pages: [Page]
    }

    /// The operations on the main machine, in order. Every step that fails is recorded by
    /// `run` and the script goes on.
    static func script(_ run: WorkloadRun, _ sizes: Sizes, _ tally: Tally) {
        let machine = run.machine
        guard let parent = run.newProcess("parent", failing: "parent: fork/exec") else { return }
        let shmemFS = Filesystem(machine: machine, kind: .shmem)
        let diskFS = Filesystem(machine: machine, kind: .disk)
        var files: [ExpectedFile] = []
        // Files to truncate at the end, and the filesystem to unlink each from (none for
        // the memfd, which has no name: closing it is what frees its pages).
        var named: [(Filesystem?, ExpectedFile)] = []

        // 1. Populate: anonymous memory, a THP region, a memfd mapped shared (an RDMA
        //    buffer shared with another process), a disk file written with pwrite() and
        //    mapped shared (O_DIRECT's target), and one page for the bias case.
        run.mmapWritten(parent, "anon", pages: sizes.anon)
        run.mmapWritten(parent, "thp", pages: sizes.thp, advice: .hugePage)
        var memfd: ExpectedFile?
        do {
            let file = try shmemFS.memfdCreate(name: "pins-rdma")
            try file.ftruncate(Int64(sizes.memfd * PagePattern.pageSize))
            memfd = ExpectedFile(file: file, name: "memfd:pins-rdma")
        } catch { run.fail("memfd_create: \(error)") }
        if let memfd, run.mmap(parent, "memfd", pages: sizes.memfd, flags: .shared, file: memfd) != nil {
            files.append(memfd)
            named.append((nil, memfd))
            for page in 0..<sizes.memfd { run.write(parent, "memfd", page: page) }
        }
        let disk = run.createFile(diskFS, "pins-disk", pages: sizes.disk)
        if let disk {
            files.append(disk)
            named.append((diskFS, disk))
            for page in 0..<sizes.disk { run.pwrite(disk, page: page) }
            run.mmap(parent, "disk", pages: sizes.disk, flags: .shared, file: disk)
        }
        run.mmapWritten(parent, "bias", pages: 1)
        run.checkpoint("populate")

        // 2. Short-term pins, O_DIRECT-like: a read(2) into user memory is a
        //    FOLL_WRITE pin, the device's DMA into the frames, then
        //    unpin_user_pages_dirty_lock(make_dirty: true); a write(2) from user memory is
        //    a read-only pin whose frames the device reads (they must hold what the
        //    program wrote). Over anonymous memory and the disk file; the disk file is
        //    written back first, so only the unpin's dirtying can save the DMA's bytes.
        for first in stride(from: sizes.longterm, to: sizes.anon, by: ioPages) {
            let count = min(ioPages, sizes.anon - first)
            if (first / ioPages) % 2 == 0 {
                run.shortTermPin(parent, "anon", first: first, count: count, write: true)
            } else {
                run.shortTermPin(parent, "anon", first: first, count: count, write: false)
            }
        }
        if let disk {
            disk.file.pageCache.writebackAll()
            for first in stride(from: 0, to: sizes.disk, by: ioPages) {
                run.shortTermPin(parent, "disk", first: first, count: min(ioPages, sizes.disk - first), write: true)
            }
        }
        run.checkpoint("short-term pins")

        // 3. Long-term pins, RDMA-like (ibv_reg_mr): FOLL_WRITE|FOLL_LONGTERM of the
        //    first unit of anonymous memory (pin_user_pages()), of the whole THP region
        //    (pin_user_pages_fast(): one grab per PMD), of the memfd; the device writes
        //    into every pinned page.
        var held: [Held] = []
        held += run.longTermPin(parent, "anon", first: 0, count: sizes.longterm, fast: false)
        held += run.longTermPin(parent, "thp", first: 0, count: sizes.thp, fast: true)
        held += run.longTermPin(parent, "memfd", first: 0, count: sizes.memfd, fast: true)
        tally.longtermPages = held.reduce(0) { $0 + $1.pages.count }
        for range in held { run.dmaWrite(parent, range, every: 1) }
        run.checkpoint("long-term pins")
        sampleProxies(run, tally)

        // 4. The bias case: a driver's 1024 get_user_pages_fast() references on one
        //    small anonymous page. Mainline cannot tell them from one pin (refcount ≥
        //    GUP_PIN_COUNTING_BIAS): fork() copies the page for the child and MADV_PAGEOUT
        //    keeps it, each a counted false positive; the exact designs answer no.
        var biasReferences: [Page] = []
        if let bias = parent.mappings["bias"] {
            for _ in 0..<Self.biasReferences {
                do { biasReferences += try parent.process.getUserPagesFast(start: bias.start, nrPages: 1) } catch {
                    run.fail("bias: get_user_pages_fast: \(error)")
                    break
                }
            }
        }

        // 5. ZONE_DEVICE generic memory (memremap_pages(MEMORY_DEVICE_GENERIC), as a
        //    driver exposes device memory). The model cannot map device pages into a
        //    process yet, so the pins are taken on the pages directly with
        //    try_grab_folio(FOLL_PIN), as pin_user_pages() would after follow_page(); then
        //    folio_maybe_dma_pinned(), as reclaim and fork ask. lru-pinned's pin writes
        //    over folio->pgmap: a counted corruption per page.
        devicePins(run, tally)
        pinWhileIsolated(run, parent, page: sizes.longterm)
        run.checkpoint("bias references and device pins")

        // 6. fork() while the long-term pins are held: the child must get copies of the
        //    pinned anonymous pages (page_needs_cow_for_dma()); the parent's pinned pages
        //    stay mapped where the device writes, writable; the memfd stays shared.
        let child: ExpectedProcess
        do { child = parent.forked(name: "child", process: try parent.process.fork()) } catch {
            run.fail("fork: \(error)")
            release(run, held, biasReferences)
            finish(run, [parent], named)
            return
        }
        for range in held { checkStillMapped(run, parent, range, phase: "after fork", writable: true) }
        for range in held where parent.mappings[range.name].map({ if case .anonymous = $0.backing { true } else { false } }) == true {
            checkCopied(run, parent, child, range)
        }
        // The device writes again (the parent sees it, the child does not); the child
        // writes its copies (the parent's pinned pages do not change).
        for range in held { run.dmaWrite(parent, range, every: 3) }
        for page in stride(from: 1, to: sizes.longterm, by: 4) { run.write(child, "anon", page: page) }
        for page in stride(from: 2, to: sizes.thp, by: 7) { run.write(child, "thp", page: page) }
        run.checkpoint("fork with long-term pins")
        verifyPinned(run, parent, held, phase: "after fork")
        run.verify(child, phase: "after fork")

        // 7. Migration pressure (move_pages() to node 1) over the pinned ranges: pinned
        //    folios must stay (EAGAIN), every other present folio must move.
        for name in ["anon", "thp", "memfd"] { migrateAround(run, parent, name, held, tally) }
        run.checkpoint("migration over pinned ranges")

        // 8. Reclaim pressure: swap, MADV_PAGEOUT over every range (pinned ones
        //    included) and reclaim of both nodes' LRUs; pinned pages must stay mapped
        //    where the device writes.
        do { _ = try run.machine.swap.swapon(slots: sizes.anon + sizes.thp + sizes.memfd + 64) } catch {
            run.fail("swapon: \(error)")
        }
        for name in ["anon", "thp", "memfd", "bias"] { run.madvise(parent, name, .pageOut) }
        run.madvise(child, "anon", .pageOut)
        for nid in 0..<nodes { machine.reclaim(nid: nid, count: 4 * sizes.unit) }
        for range in held { checkStillMapped(run, parent, range, phase: "after reclaim", writable: true) }
        for range in held { run.dmaWrite(parent, range, every: 5) }
        run.checkpoint("reclaim over pinned ranges")

        // 9. Every byte: what the device sees through the pins, then both processes and
        //    the files; the pins go (dirtying), then every byte again.
        verifyPinned(run, parent, held, phase: "before unpin")
        for file in files { run.verify(file, phase: "with pins held") }
        sampleProxies(run, tally)
        release(run, held, biasReferences)
        run.checkpoint("unpin")
        for process in [parent, child] { run.verify(process, phase: "after unpin") }
        for file in files { run.verify(file, phase: "after unpin") }
        child.process.exit()
        finish(run, [parent], named)
        run.checkpoint("exit and unlink")
    }

    static func sampleProxies(_ run: WorkloadRun, _ tally: Tally) {
        tally.proxyPeakBytes = max(tally.proxyPeakBytes, run.machine.pinCosts.livePinBytes)
    }

    /// Step 5: pins on MEMORY_DEVICE_GENERIC pages.
    static func devicePins(_ run: WorkloadRun, _ tally: Tally) {
        let machine = run.machine
        let pgmap: DevPagemap
        do {
            pgmap = try machine.memremapPages(type: .generic, bytes: machine.config.sectionBytes, ops: DevPagemapOps())
        } catch {
            tally.deviceNote = "no device pages: \(error)"
            return
        }
        var pinned: [Folio] = []
        for index in 0..<devicePages {
            guard let page = machine.page(pgmap.range.start + index * 7), let folio = machine.pageFolio(page) else {
                run.fail("device: no folio at pfn \(pgmap.range.start + index * 7)")
                continue
            }
            do {
                try machine.tryGrabFolio(folio, page: page)
                pinned.append(folio)
            } catch {
                tally.devicePinsRefused += 1
            }
        }
        tally.devicePagesPinned = pinned.count
        for folio in pinned where !machine.folioMaybeDMAPinned(folio) {
            run.fail("device: pfn \(folio.pfn) pinned but folio_maybe_dma_pinned() says no")
        }
        for folio in pinned { machine.gupPutFolio(folio) }
    }

    /// Step 5, a pin racing an isolator: GUP-fast pins an anonymous page whose folio
    /// reclaim holds isolated (off its LRU, as shrink_folio_list() has it); reclaim sees
    /// that it may be pinned and puts it back; then folio_maybe_dma_pinned() is asked
    /// again, as the next reclaim or fork() would, and judged against the exact count.
    /// lru-pinned wrote its pin state over the isolated folio's lru words and the
    /// putback rewrote them: "not pinned" while the pin is held, a counted false
    /// negative (and its unpin finds no PageDmaPinned, a warning).
    static func pinWhileIsolated(_ run: WorkloadRun, _ parent: ExpectedProcess, page: Int) {
        let machine = run.machine
        guard let mapping = parent.mappings["anon"] else { return }
        let address = mapping.address(ofPage: page)
        guard let folio = machine.page(parent.process.tables.entry(at: address).pte.pfn).flatMap(machine.pageFolio),
              machine.folioIsolateLRU(folio) else { return run.fail("pin of an isolated folio: page \(page) is not on an LRU") }
        let pages: [Page]
        do { pages = try parent.process.pinUserPagesFast(start: address, nrPages: 1, flags: .write) } catch {
            machine.folioPutbackLRU(folio)
            return run.fail("pin of an isolated folio: pin_user_pages_fast: \(error)")
        }
        if !machine.folioMaybeDMAPinned(folio) { run.fail("pin of an isolated folio: not pinned right after the pin") }
        machine.folioPutbackLRU(folio)      // kept by reclaim: it may be pinned
        _ = machine.folioMaybeDMAPinned(folio)
        machine.unpinUserPages(pages)
    }

    /// The pinned pages of `range` must still be what `target` maps there (not
    /// migrated, swapped or COW-broken away).
    static func checkStillMapped(_ run: WorkloadRun, _ target: ExpectedProcess, _ range: Held, phase: String, writable: Bool) {
        guard let mapping = target.mappings[range.name] else { return run.fail("\(phase): no mapping \(range.name)") }
        var moved = 0
        for (offset, page) in range.pages.enumerated() {
            let pfn = run.machine.pageBehind(page).pfn
            let mapped = target.process.mappedPfn(at: mapping.address(ofPage: range.first + offset))
            if mapped?.pfn != pfn || (writable && mapped?.writable != true) { moved += 1 }
        }
        if moved > 0 { run.fail("\(phase): \(moved) pinned pages of \(range.name) no longer mapped (writable) at their pinned frames") }
    }

    /// After fork: the child maps copies, not the parent's pinned frames.
    static func checkCopied(_ run: WorkloadRun, _ parent: ExpectedProcess, _ child: ExpectedProcess, _ range: Held) {
        guard let mapping = parent.mappings[range.name] else { return }
        var shared = 0
        for (offset, page) in range.pages.enumerated() {
            let pfn = run.machine.pageBehind(page).pfn
            if child.process.mappedPfn(at: mapping.address(ofPage: range.first + offset))?.pfn == pfn { shared += 1 }
        }
        if shared > 0 { run.fail("fork: the child maps \(shared) of the parent's long-term pinned pages of \(range.name) instead of copies") }
    }

    /// What the device reads through the pins must be what the parent's memory holds.
    static func verifyPinned(_ run: WorkloadRun, _ target: ExpectedProcess, _ held: [Held], phase: String) {
        for range in held {
            guard let mapping = target.mappings[range.name] else { continue }
            for (offset, page) in range.pages.enumerated() {
                let pfn = run.machine.pageBehind(page).pfn
                run.verifyFrame(pfn: pfn, seed: target.expectedSeed(mapping, page: range.first + offset),
                                what: "\(phase): pinned \(range.name) page \(range.first + offset) (pfn \(pfn), as the device reads it)")
            }
        }
    }

    /// Step 7 for one mapping: migrate it to node 1; pinned folios must be refused, the
    /// others moved.
    static func migrateAround(_ run: WorkloadRun, _ target: ExpectedProcess, _ name: String, _ held: [Held], _ tally: Tally) {
        let machine = run.machine
        guard let mapping = target.mappings[name] else { return }
        var pinnedFolios = Set<Int>()
        for range in held where range.name == name {
            for page in range.pages {
                if let folio = machine.pageFolio(machine.pageBehind(page)) { pinnedFolios.insert(folio.pfn) }
            }
        }
        let result = target.process.migrate(mapping.start, length: UInt64(mapping.pages * PagePattern.pageSize), toNode: 1)
        let refused = Set(result.failed.map(\.folio.pfn))
        tally.migrationRefusedPinned += refused.intersection(pinnedFolios).count
        let unpinnedRefused = refused.subtracting(pinnedFolios)
        if !unpinnedRefused.isEmpty {
            run.fail("migrate \(name): \(unpinnedRefused.count) folios that are not pinned were refused (\(result.failed.first { unpinnedRefused.contains($0.folio.pfn) }.map { "\($0.errno)" } ?? ""))")
        }
        let stayed = pinnedFolios.subtracting(refused)
        if !stayed.isEmpty, stayed.contains(where: { machine.memmap.nid(of: $0) != 1 }) {
            run.fail("migrate \(name): \(stayed.count) pinned folios were neither refused nor on node 1")
        }
        for folio in result.migrated where machine.memmap.nid(of: folio.pfn) != 1 {
            run.fail("migrate \(name): folio at pfn \(folio.pfn) migrated, but not to node 1")
        }
        for range in held where range.name == name { checkStillMapped(run, target, range, phase: "after migration", writable: true) }
        // Every page of the mapping that is not pinned is on node 1 now (it was present:
        // nothing has been reclaimed yet).
        var left = 0
        for index in 0..<mapping.pages {
            guard let mapped = target.process.mappedPfn(at: mapping.address(ofPage: index)),
                  let folio = machine.page(mapped.pfn).flatMap(machine.pageFolio), !pinnedFolios.contains(folio.pfn) else { continue }
            if machine.memmap.nid(of: mapped.pfn) != 1 { left += 1 }
        }
        if left > 0 { run.fail("migrate \(name): \(left) pages that are not pinned stayed on their node") }
    }

    /// Releases every long-term pin (dirtying: the device wrote) and the bias references.
    static func release(_ run: WorkloadRun, _ held: [Held], _ biasReferences: [Page]) {
        for range in held { run.machine.unpinUserPages(range.pages, makeDirty: true) }
        for page in biasReferences { run.machine.putPage(page) }
    }

    /// exit(), then the files are truncated and the named ones unlinked (the memfd's
    /// pages go with the truncation, as with its last close).
    static func finish(_ run: WorkloadRun, _ processes: [ExpectedProcess], _ files: [(Filesystem?, ExpectedFile)]) {
        for process in processes { process.process.exit() }
        for (fs, file) in files {
            do {
                try file.file.ftruncate(0)
                try fs?.unlink(name: file.name)
            } catch {
                run.fail("\(file.name): truncate and unlink: \(error)")
            }
        }
    }

    /// A second machine of the same design, one node whose upper half is ZONE_MOVABLE
    /// (movablecore=): user memory lands there, and a FOLL_LONGTERM pin must migrate it
    /// out first (check_and_migrate_movable_folios()), on the slow path and on GUP-fast's
    /// fallback, the data intact; a short-term pin leaves it where it is.
    static func movablePart(_ main: WorkloadRun, design: Design, ramBytes: UInt64, _ tally: Tally) {
        let machine: Machine
        do {
            let config = try MachineConfig(ramBytes: 256 << 20, design: design, movableBytes: 128 << 20)
            machine = try Machine(config: config)
        } catch {
            return main.fail("ZONE_MOVABLE machine: \(error)")
        }
        let run = WorkloadRun(machine: machine)
        let pages = 64
        defer {
            tally.movableStats = machine.pinStats
            main.absorb(run, prefix: "movable: ")
        }
        guard let process = run.newProcess("movable", failing: "process") else { return }
        for (name, fast) in [("slow", false), ("fast", true), ("short", false)] {
            guard let mapping = run.mmap(process, name, pages: pages, flags: [.private, .anonymous]) else { continue }
            for page in 0..<pages { run.write(process, name, page: page) }
            let inMovable = (0..<pages).filter { index in
                process.process.mappedPfn(at: mapping.address(ofPage: index)).map { machine.zone(of: $0.pfn)?.type == .movable } ?? false
            }.count
            if inMovable != pages { run.fail("\(name): only \(inMovable) of \(pages) pages were allocated in ZONE_MOVABLE") }
            let longterm = name != "short"
            let pinned = run.pin(process, name, first: 0, count: pages, flags: longterm ? [.write, .longterm] : .write, fast: fast)
            let range = Held(name: name, first: 0, pages: pinned)
            let movable = pinned.filter { machine.zone(of: machine.pageBehind($0).pfn)?.type == .movable }.count
            if longterm {
                tally.movedOutOfMovable += pinned.count - movable
                if movable > 0 { run.fail("\(name): \(movable) long-term pinned pages left in ZONE_MOVABLE") }
            } else if movable != pinned.count {
                run.fail("short: a short-term pin moved \(pinned.count - movable) pages out of ZONE_MOVABLE")
            }
            checkStillMapped(run, process, range, phase: "\(name) pin", writable: true)
            verifyPinned(run, process, [range], phase: "\(name) pin")
            run.dmaWrite(process, range, every: 2)
            machine.unpinUserPages(pinned, makeDirty: true)
        }
        run.verify(process, phase: "after the pins")
        process.process.exit()
    }

    /// pin_user_pages_fast(FOLL_WRITE) + unpin_user_pages() over 16 MiB of already
    /// faulted anonymous memory, into a preallocated array (the non-allocating entry
    /// point): one warm-up round, then the best of `timedRounds`, per page.
    static func timedLoop(_ run: WorkloadRun, _ tally: Tally) {
        guard case let (process, addr)? = run.faultedProcess(bytes: timedBytes, for: "timed loop") else { return }
        defer { process.exit() }
        let count = Int(timedBytes) / PagePattern.pageSize
        let timed = process.timedPinFast(start: addr, count: count, rounds: timedRounds)
        guard let ns = timed.nsPerPage else { return run.fail("timed loop: pin_user_pages_fast pinned \(timed.pinned) of \(count) pages") }
        tally.nsPerPinFast = ns
    }
}

extension WorkloadRun {
    /// Pins pages `[first, first + count)` of mapping `name` with FOLL_PIN | `flags`,
    /// through pin_user_pages_fast() or pin_user_pages(); the GUP results, or [] and a
    /// failure.
    func pin(_ target: ExpectedProcess, _ name: String, first: Int, count: Int, flags: FollFlags, fast: Bool) -> [Page] {
        guard let mapping = target.mappings[name], first + count <= mapping.pages else {
            fail("\(target.name): no pages \(first)..<\(first + count) in mapping \(name)")
            return []
        }
        do {
            let start = mapping.address(ofPage: first)
            let pages = fast ? try target.process.pinUserPagesFast(start: start, nrPages: count, flags: flags)
                             : try target.process.pinUserPages(start: start, nrPages: count, flags: flags)
            if pages.count != count {
                fail("\(target.name): pin of \(name) pages \(first)..<\(first + count) pinned only \(pages.count)")
            }
            return pages
        } catch {
            fail("\(target.name): pin (\(flags)) of \(name) pages \(first)..<\(first + count): \(error)")
            return []
        }
    }

    /// An O_DIRECT request over `count` pages: a read(2) (`write`: FOLL_WRITE pin, the
    /// device writes fresh bytes into every frame) or a write(2) (read-only pin, the
    /// device reads every frame and must find what the program wrote); then
    /// unpin_user_pages_dirty_lock(make_dirty: write).
    func shortTermPin(_ target: ExpectedProcess, _ name: String, first: Int, count: Int, write: Bool) {
        let pages = pin(target, name, first: first, count: count, flags: write ? .write : [], fast: true)
        guard !pages.isEmpty else { return }
        let range = PinsWorkload.Held(name: name, first: first, pages: pages)
        if write { dmaWrite(target, range, every: 1) } else { PinsWorkload.verifyPinned(self, target, [range], phase: "O_DIRECT write") }
        machine.unpinUserPages(pages, makeDirty: write)
    }

    /// A long-term R/W pin (FOLL_WRITE | FOLL_LONGTERM) of a range, as one held range.
    func longTermPin(_ target: ExpectedProcess, _ name: String, first: Int, count: Int, fast: Bool) -> [PinsWorkload.Held] {
        let pages = pin(target, name, first: first, count: count, flags: [.write, .longterm], fast: fast)
        return pages.isEmpty ? [] : [PinsWorkload.Held(name: name, first: first, pages: pages)]
    }

    /// The device writes a fresh pattern into every `every`-th pinned frame of `range`
    /// (DMA: through the frames, not through any mapping); the expected contents follow.
    func dmaWrite(_ target: ExpectedProcess, _ range: PinsWorkload.Held, every: Int) {
        guard let mapping = target.mappings[range.name] else { return fail("\(target.name): DMA into unknown mapping \(range.name)") }
        for offset in stride(from: 0, to: range.pages.count, by: every) {
            let page = range.pages[offset]
            let pfn = machine.pageBehind(page).pfn
            guard let frame = machine.frames.pointer(pfn: pfn) else {
                fail("\(target.name): DMA into \(range.name): pfn \(pfn) has no frame")
                continue
            }
            let seed = seed()
            PagePattern.fill(UnsafeMutableRawBufferPointer(start: frame, count: PagePattern.pageSize), seed: seed)
            target.wrote(mapping, page: range.first + offset, seed: seed)
        }
    }

    /// Reads a frame as a device would and compares it with the page of `seed`.
    func verifyFrame(pfn: Int, seed: UInt64, what: String) {
        guard let bytes = machine.frames.read(pfn: pfn, count: PagePattern.pageSize) else {
            return fail("\(what): no frame")
        }
        check(bytes, seed: seed, what: what)
    }
}

extension Process {
    /// The frame mapped at `addr` and whether it is mapped writable (a huge PMD's page
    /// included), or nil when nothing is present there. Linux: `follow_page()` without
    /// taking a reference.
    func mappedPfn(at addr: UInt64) -> (pfn: Int, writable: Bool)? {
        let (entry, huge) = tables.entry(at: addr)
        guard entry.isPresent else { return nil }
        let pfn = huge ? entry.pfn + Paging.index(addr, Paging.pageShift) : entry.pfn
        return (pfn, entry.isWritable)
    }
}

extension PinStats {
    /// The sum of two machines' statistics.
    func adding(_ other: PinStats) -> PinStats {
        var sum = self
        sum.pinsAcquired += other.pinsAcquired; sum.pinsReleased += other.pinsReleased
        sum.falsePositives += other.falsePositives; sum.falseNegatives += other.falseNegatives
        sum.corruptions += other.corruptions; sum.unpinsOfUnpinned += other.unpinsOfUnpinned
        sum.putsOfPinnedReferences += other.putsOfPinnedReferences; sum.proxyMisuses += other.proxyMisuses
        sum.refusedGrabs += other.refusedGrabs; sum.leakedTokens += other.leakedTokens; sum.leakedPins += other.leakedPins
        return sum
    }
}
