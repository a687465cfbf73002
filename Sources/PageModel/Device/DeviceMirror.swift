// The HMM test driver's per-open state and its ioctls (lib/test_hmm.c, v6.19: struct
// dmirror, dmirror_read(), dmirror_write(), dmirror_migrate_to_device(),
// dmirror_migrate_to_system(), dmirror_snapshot(), dmirror_fops_unlocked_ioctl()).
//
// Deliberate difference: the device page table maps virtual pfns to the pfn holding the
// data (backing page or coherent page) and its tag. The mmu interval notifier that
// keeps it coherent with the CPU page tables is in DeviceMirrorNotifier.swift.
import Synchronization

/// `struct dmirror`: one open file of a mirror device, bound to one process; its device
/// page table holds no page references (staleness is the notifier's business).
public final class DeviceMirror: @unchecked Sendable {
    public let device: DeviceMirrorDevice
    public let process: Process
    /// Virtual pfn -> the pfn holding the data and its tag (`dmirror->pt`).
    let pt = Mutex<[UInt64: DPTEntry]>([:])
    /// `dmirror->notifier`: one interval notifier over the whole address space.
    /// nil once closed.
    var notifier: MMUIntervalNotifier?
    private let flags = Atomic<UInt64>(0)
    /// Test seam: runs on each pass of the hmm_range_fault() retry loop between
    /// mmu_interval_read_begin() and the walk, where a concurrent invalidation collides
    /// (DeviceMirrorRetry.swift).
    var rangeFaultCollision: (() -> Void)?
    public static let flagFailAlloc: UInt64 = 1 << 0

    /// Linux: `dmirror_fops_open()`.
    public init(device: DeviceMirrorDevice, process: Process) {
        self.device = device
        self.process = process
        openNotifier()
    }

    deinit { close() }

    /// `struct hmm_dmirror_cmd`'s results.
    public struct Result: Equatable, Sendable {
        public var cpages = 0
        public var faults = 0
    }

    /// HMM_DMIRROR_FLAGS.
    public func setFlags(_ value: UInt64) { flags.store(value, ordering: .relaxed) }

    func consumeFailAlloc() -> Bool {
        flags.bitwiseAnd(~Self.flagFailAlloc, ordering: .relaxed).oldValue & Self.flagFailAlloc != 0
    }

    /// Drops the device page-table entries of the `pages` pages from `address`.
    func erase(_ address: UInt64, pages: Int) {
        guard pages > 0 else { return }
        let first = address >> UserVM.pageShift
        pt.withLock { pt in for k in 0..<UInt64(pages) { pt.removeValue(forKey: first + k) } }
    }

    /// Drops the device page-table entries whose data lives in `pfns`.
    func eraseData(_ pfns: Range<Int>) { pt.withLock { pt in pt = pt.filter { !pfns.contains($0.value.pfn) } } }

    /// The ioctl entry's checks: page-aligned `addr`, no overflow, not empty.
    /// EBADF once closed (the file descriptor is gone: fdget() fails).
    func range(_ addr: UInt64, _ npages: UInt64) throws(Errno) -> (UInt64, UInt64) {
        guard notifier != nil else { throw .EBADF }
        guard addr & (UserVM.pageSize - 1) == 0, npages > 0, npages <= UInt64.max >> UserVM.pageShift else { throw .EINVAL }
        let (end, overflow) = addr.addingReportingOverflow(npages << UserVM.pageShift)
        guard !overflow else { throw .EINVAL }
        return (addr, end)
    }

    /// Runs `body` over each VMA piece of `[start, end)` in 512-page batches, as
    /// dmirror_migrate_to_device()/_system() do: EINVAL for a hole or a VMA without VM_READ.
    private func forEachBatch(_ start: UInt64, _ end: UInt64, _ body: (VMA, UInt64, UInt64) throws(Errno) -> Void) throws(Errno) {
        let mm = process.mm
        try mm.mmapLock.withReadLock { () throws(Errno) in
            var addr = start
            while addr < end {
                guard let vma = mm.lockedVMALookup(addr), vma.flags.contains(.read) else { throw Errno.EINVAL }
                let next = min(end, addr &+ (512 << UserVM.pageShift), vma.end)
                try body(vma, addr, next)
                addr = next
            }
        }
    }

    /// HMM_DMIRROR_MIGRATE_TO_DEV: migrate the range to device memory, then read it back
    /// from the device page table into `into` (ENOENT if a page is not there).
    public func migrateToDevice(addr: UInt64, npages: UInt64, into buffer: inout [UInt8]) throws(Errno) -> Result {
        let (start, end) = try range(addr, npages)
        let tables = process.tables
        try forEachBatch(start, end) { vma, from, to throws(Errno) in
            var args = MigrateVMA(vma: vma, start: from, end: to, pgmapOwner: device.owner, flags: [.system, .compound])
            try tables.migrateVMASetup(&args)
            allocAndCopyToDevice(&args)
            tables.migrateVMAPages(&args)
            finalizeAndMap(args)
            tables.migrateVMAFinalize(args)
        }
        return try read(start, end, into: &buffer)
    }

    /// Linux: `dmirror_migrate_finalize_and_map()`: the migrated pages into the device pt,
    /// every page of a device THP (MIGRATE_PFN_COMPOUND) from its entry (only
    /// destinations in device memory: a `migrate_vma` in both directions at once has
    /// system-memory destinations too, which the device does not map).
    func finalizeAndMap(_ args: MigrateVMA) {
        let machine = device.machine
        pt.withLock { pt in
            for i in 0..<args.npages where args.src[i] & MigratePFN.migrate != 0 {
                guard let dpfn = MigratePFN.pfn(args.dst[i]), machine.isZoneDevice(dpfn), let dpage = machine.page(dpfn) else { continue }
                let nr = args.dst[i] & MigratePFN.compound != 0 ? machine.pageFolio(dpage)?.nrPages ?? 1 : 1
                device.noteUser(dpfn, self)
                let count = min(nr, args.npages - i)
                // BACKING_PAGE(dpage) once for the folio.
                let base = device.folioDataPfn(dpage, count: count)
                for k in 0..<count {
                    guard let data = device.dataPfn(dpage, plus: k, base: base) else { continue }
                    pt[(args.start >> UserVM.pageShift) + UInt64(i + k)] = DPTEntry(pfn: data, write: args.dst[i] & MigratePFN.write != 0)
                }
            }
        }
    }

    /// HMM_DMIRROR_MIGRATE_TO_SYS: cpages = src entries VALID and MIGRATE after
    /// migrate_vma_pages() (dmirror_successful_migrated_pages()).
    public func migrateToSystem(addr: UInt64, npages: UInt64) throws(Errno) -> Result {
        let (start, end) = try range(addr, npages)
        let tables = process.tables
        let select: MigrateVMASelect = device.type == .devicePrivate ? .devicePrivate : .deviceCoherent
        var result = Result()
        try forEachBatch(start, end) { vma, from, to throws(Errno) in
            var args = MigrateVMA(vma: vma, start: from, end: to, pgmapOwner: device.owner, flags: [select, .compound])
            try tables.migrateVMASetup(&args)
            _ = device.allocAndCopyToSystem(&args, mirror: self)
            tables.migrateVMAPages(&args)
            for i in 0..<args.npages where args.src[i] & MigratePFN.valid != 0 && args.src[i] & MigratePFN.migrate != 0 { result.cpages += 1 }
            tables.migrateVMAFinalize(args)
        }
        return result
    }

    /// HMM_DMIRROR_READ: copy the range from the device page table into `into`, faulting
    /// the missing part in through hmm_range_fault() (REQ_FAULT), one fault round at a time.
    /// `faults` counts rounds. On error nothing is copied out.
    public func read(addr: UInt64, npages: UInt64, into buffer: inout [UInt8]) throws(Errno) -> Result {
        let (start, end) = try range(addr, npages)
        var faults = 0
        while true {
            do {
                var result = try read(start, end, into: &buffer)
                result.faults = faults
                return result
            } catch .ENOENT {
                guard faults <= Int(npages) else { throw .EFAULT }   // hmm_range_fault() kept nothing
                try fault(start &+ UInt64(present(start, end, write: false)) << UserVM.pageShift, end, write: false)
                faults += 1
            }
        }
    }

    /// HMM_DMIRROR_WRITE: copy `bytes` into the pages the device page table maps writable,
    /// faulting the rest in with REQ_FAULT|REQ_WRITE.
    public func write(addr: UInt64, npages: UInt64, from bytes: [UInt8]) throws(Errno) -> Result {
        let (start, end) = try range(addr, npages)
        guard bytes.count >= Int(npages) << UserVM.pageShift else { throw .EFAULT }
        var faults = 0
        while true {
            let done = present(start, end, write: true)
            if done == Int(npages) { break }
            guard faults <= Int(npages) else { throw .EFAULT }
            try fault(start &+ UInt64(done) << UserVM.pageShift, end, write: true)
            faults += 1
        }
        pt.withLock { pt in
            for i in 0..<Int(npages) {
                guard let entry = pt[(start >> UserVM.pageShift) + UInt64(i)] else { continue }
                _ = device.machine.frames.write(bytes[(i << UserVM.pageShift)..<((i + 1) << UserVM.pageShift)], pfn: entry.pfn)
            }
        }
        return Result(cpages: Int(npages), faults: faults)
    }

    /// How many pages from `start` the device page table maps (writable, for `write`).
    private func present(_ start: UInt64, _ end: UInt64, write: Bool) -> Int {
        pt.withLock { pt in
            var n = 0
            var vpfn = start >> UserVM.pageShift
            while vpfn < end >> UserVM.pageShift, let entry = pt[vpfn], !write || entry.write {
                n += 1
                vpfn += 1
            }
            return n
        }
    }

    /// Linux: `dmirror_fault()` -> `dmirror_range_fault()` -> `dmirror_do_fault()`: in
    /// 32-page chunks, hmm_range_fault() with REQ_FAULT (|REQ_WRITE) retried on a
    /// collision with an invalidation until HMM_RANGE_DEFAULT_TIMEOUT (-EBUSY;
    /// DeviceMirrorRetry.swift), and the results into the device page table (this
    /// device's own private pages by their backing page).
    private func fault(_ start: UInt64, _ end: UInt64, write: Bool) throws(Errno) {
        guard let notifier else { throw .EBADF }
        var addr = start
        while addr < end {
            let next = min(end, addr &+ (32 << UserVM.pageShift))
            var range = HMMRange(start: addr, end: next, defaultFlags: HMMPFN.reqFault | (write ? HMMPFN.reqWrite : 0),
                                 devPrivateOwner: device.owner)
            try rangeFaultRetrying(&range, notifier: notifier) { range, pt in
                for (i, value) in range.hmmPfns.enumerated() where value & HMMPFN.valid != 0 {
                    let pfn = Int(value & HMMPFN.pfnMask)
                    let data = device.machine.page(pfn).flatMap { device.machine.isZoneDevice(pfn) ? device.dataPfn($0) : pfn } ?? pfn
                    pt[(range.start >> UserVM.pageShift) + UInt64(i)] = DPTEntry(pfn: data, write: value & HMMPFN.write != 0)
                }
            }
            addr = next
        }
    }

    /// HMM_DMIRROR_SNAPSHOT: hmm_range_fault() without fault flags, one byte per page
    /// (dmirror_mkentry(): ERROR 0xff, not valid 0x00, else a base of 0x20/0x30 for this
    /// or another device's private page, 0x40/0x50 for coherent, 0x10 for the zero page,
    /// plus WRITE 0x02 or READ 0x01, plus PMD 0x04).
    /// `dmirror_snapshot()` walks 32 pages at a time, each chunk under a temporary
    /// interval notifier of its own and retried on a collision (dmirror_range_snapshot()).
    public func snapshot(addr: UInt64, npages: UInt64) throws(Errno) -> (Result, [UInt8]) {
        let (start, end) = try range(addr, npages)
        var bytes: [UInt8] = []
        var chunk = start
        while chunk < end {
            let next = min(end, chunk &+ (32 << UserVM.pageShift))
            var range = HMMRange(start: chunk, end: next, devPrivateOwner: device.owner)
            try withTemporaryNotifier(chunk, next) { sub throws(Errno) in
                try rangeFaultRetrying(&range, notifier: sub) { range, _ in bytes += range.hmmPfns.map(mkentry) }
            }
            chunk = next
        }
        return (Result(cpages: Int(npages)), bytes)
    }

    /// Linux: `dmirror_mkentry()`: one snapshot byte for one hmm_pfns value.
    private func mkentry(_ value: UInt64) -> UInt8 {
        let machine = device.machine
        if value & HMMPFN.error != 0 { return 0xff }
        guard value & HMMPFN.valid != 0 else { return 0 }
        let pfn = Int(value & HMMPFN.pfnMask)
        var perm: UInt8 = 0
        if machine.isZoneDevice(pfn), let page = machine.page(pfn), let pgmap = machine.pagePgmap(page) {
            let local = pgmap.owner == device.owner
            if pgmap.type == .devicePrivate { perm = local ? 0x20 : 0x30 } else if pgmap.type == .deviceCoherent { perm = local ? 0x40 : 0x50 }
        } else if pfn == machine.zeroPagePfn {
            perm = 0x10
        }
        perm |= value & HMMPFN.write != 0 ? 0x02 : 0x01
        if HMMPFN.mapOrder(value) == Int(Paging.pmdShift - Paging.pageShift) { perm |= 0x04 }
        return perm
    }

    /// Linux: `dmirror_do_read()`: copy each page of the device pt into the buffer;
    /// ENOENT at the first page the device does not map.
    /// The model copies each page straight into `buffer` (the bounce buffer and
    /// copy_to_user() in one), after finding every page, so that an ENOENT leaves it as
    /// it was; a `buffer` of the range's size is written in place.
    func read(_ start: UInt64, _ end: UInt64, into buffer: inout [UInt8]) throws(Errno) -> Result {
        let count = Int((end - start) >> UserVM.pageShift)
        let frames = device.machine.frames
        try pt.withLock { pt throws(Errno) in
            var sources: [UnsafeRawPointer] = []
            sources.reserveCapacity(count)
            for i in 0..<count {
                guard let entry = pt[(start >> UserVM.pageShift) + UInt64(i)],
                      let frame = frames.pointer(pfn: entry.pfn) else { throw Errno.ENOENT }
                sources.append(UnsafeRawPointer(frame))
            }
            let bytes = count << UserVM.pageShift, pageSize = Int(UserVM.pageSize)
            let copy = { (out: UnsafeMutableRawBufferPointer) in
                guard let base = out.baseAddress else { return }
                for (i, frame) in sources.enumerated() { (base + i * pageSize).copyMemory(from: frame, byteCount: pageSize) }
            }
            if buffer.count == bytes {
                buffer.withUnsafeMutableBytes(copy)
            } else {
                buffer = [UInt8](unsafeUninitializedCapacity: bytes) { out, initialized in
                    copy(UnsafeMutableRawBufferPointer(out))
                    initialized = bytes
                }
            }
        }
        return Result(cpages: count)
    }
}
