// The HMM test driver's fake device (lib/test_hmm.c, v6.19: struct dmirror_device,
// struct dmirror, dmirror_allocate_chunk(), dmirror_devmem_alloc_page(),
// dmirror_devmem_free(), dmirror_devmem_fault(), dmirror_migrate_to_device(),
// dmirror_migrate_to_system(), dmirror_do_read()). Devices 0 and 1 are
// MEMORY_DEVICE_PRIVATE, 2 and 3 MEMORY_DEVICE_COHERENT.
//
// Deliberate differences: the free list of device pages is a Swift stack, not a list
// threaded through `zone_device_data` (which holds the backing page's struct page
// address once a page is allocated, as in test_hmm.c); the device page table maps
// virtual pfns to the pfn holding the data (backing page or coherent page) and a WRITE
// tag; chunks are one memory section each, not 256 MiB, to fit the small test machines.
import Synchronization

/// `struct dmirror_device`: one of /dev/hmm_dmirror0..3 and its device memory.
public final class DeviceMirrorDevice: @unchecked Sendable {
    public let id: Int
    public let type: MemoryType
    unowned let machine: Machine
    /// The pagemap owner cookie (`pgmap->owner = mdevice`).
    public var owner: UInt64 { 0xd1_0000 | UInt64(id) }
    struct State {
        var chunks: [DevPagemap] = []
        var free: [Int] = []
        /// Device page pfn -> the mirror that migrated data into it.
        var users: [Int: DeviceMirror] = [:]
        var calloc = 0
        var cfree = 0
    }
    let state = Mutex(State())

    /// Linux: `dmirror_device_init()`.
    public init(machine: Machine, id: Int) throws(KernelError) {
        guard (0..<4).contains(id) else { throw .invalid("no /dev/hmm_dmirror\(id)") }
        self.machine = machine
        self.id = id
        self.type = id < 2 ? .devicePrivate : .deviceCoherent
    }

    /// Device pages allocated and not yet freed.
    public var pagesInUse: Int { state.withLock { $0.calloc - $0.cfree } }
    /// Device pages on the free list.
    public var freePages: Int { state.withLock { $0.free.count } }

    var ops: DevPagemapOps {
        let free: @Sendable (Folio) -> Void = { [unowned self] folio in self.devmemFree(folio) }
        let fault: @Sendable (DevicePrivateFault) -> VMFault = { [unowned self] vmf in self.devmemFault(vmf) }
        return DevPagemapOps(folioFree: free, migrateToRam: type == .devicePrivate ? fault : nil)
    }

    /// Linux: `dmirror_allocate_chunk()`: memremap_pages() one more chunk, its pages onto
    /// the free list.
    private func allocateChunk() -> Bool {
        guard let pgmap = try? machine.memremapPages(type: type, bytes: machine.config.sectionBytes, ops: ops, owner: owner) else { return false }
        state.withLock { s in
            s.chunks.append(pgmap)
            s.free.append(contentsOf: (pgmap.range.start..<pgmap.range.end).reversed())
        }
        return true
    }

    /// Linux: `dmirror_devmem_alloc_page()`: a device page, initialised as a locked folio
    /// with refcount 1, its backing system page (private memory) in `zone_device_data`.
    func allocPage() -> Folio? {
        var backing: Folio?
        if type == .devicePrivate {
            guard let rpage = machine.folioAlloc(.highuser) else { return nil }
            backing = rpage
        }
        var pfn = state.withLock { $0.free.popLast() }
        if pfn == nil, allocateChunk() { pfn = state.withLock { $0.free.popLast() } }
        guard let pfn, let page = machine.page(pfn), let pgmap = machine.pagePgmap(page),
              let folio = machine.zoneDevicePageInit(page, pgmap: pgmap) else {
            if let backing { machine.folioPut(backing) }
            return nil
        }
        state.withLock { $0.calloc += 1 }
        page.zoneDeviceData = backing.map { $0.address } ?? 0
        return folio
    }

    /// The pfn holding a device page's data: its backing page (private; nil when
    /// `zone_device_data` was overwritten, recorded as corruption) or itself (coherent).
    func dataPfn(_ page: Page) -> Int? {
        guard type == .devicePrivate else { return page.pfn }
        guard let rpage = machine.memmap.page(atAddress: page.zoneDeviceData) else {
            machine.diagnostics.record(Diagnostic(kind: .corruption, pfn: UInt64(page.pfn),
                                                  reason: "dmirror: zone_device_data 0x\(String(page.zoneDeviceData, radix: 16)) is not a backing page"))
            return nil
        }
        return rpage.pfn
    }

    /// Linux: `dmirror_devmem_free()` (the `folio_free` op): the backing page is freed and
    /// the device page goes back on the free list.
    private func devmemFree(_ folio: Folio) {
        let page = folio.headPage
        if type == .devicePrivate, let rpfn = dataPfn(page), let rpage = machine.page(rpfn), let rfolio = machine.pageFolio(rpage) {
            machine.folioPut(rfolio)
        }
        page.zoneDeviceData = 0
        state.withLock { s in
            s.cfree += 1
            s.users[page.pfn] = nil
            // Back to the allocator unless its chunk is being removed.
            if s.chunks.contains(where: { $0.range.contains(page.pfn) }) { s.free.append(page.pfn) }
        }
    }

    /// Linux: `dmirror_devmem_fault()` (the `migrate_to_ram` op): migrate the one faulting
    /// page back to a new system page, erasing the device page-table entry.
    private func devmemFault(_ fault: DevicePrivateFault) -> VMFault {
        let mirror = state.withLock { $0.users[fault.page.pfn] }
        var args = MigrateVMA(vma: fault.vma, start: fault.address, end: fault.address &+ UserVM.pageSize,
                              pgmapOwner: owner, flags: .devicePrivate, faultPage: fault.page)
        do { try fault.tables.migrateVMASetup(&args) } catch { return .sigbus }
        if let result = allocAndCopyToSystem(&args, mirror: mirror) { return result }
        fault.tables.migrateVMAPages(&args)
        fault.tables.migrateVMAFinalize(args)
        return []
    }

    /// Linux: `dmirror_devmem_fault_alloc_and_copy()`: a system page per device page
    /// marked MIGRATE, its data copied from the backing page; the device pt entry erased.
    /// VM_FAULT_OOM when a page cannot be had.
    func allocAndCopyToSystem(_ args: inout MigrateVMA, mirror: DeviceMirror?) -> VMFault? {
        for i in 0..<args.npages {
            guard args.src[i] & MigratePFN.migrate != 0, let spfn = MigratePFN.pfn(args.src[i]), let spage = machine.page(spfn),
                  let from = dataPfn(spage) else { continue }
            let failAlloc = mirror?.consumeFailAlloc() ?? false
            guard !failAlloc, let dpage = machine.folioAlloc(.highuserMovable) else { return .oom }
            _ = dpage.tryLock()
            args.dst[i] = MigratePFN.make(dpage.pfn) | (args.src[i] & MigratePFN.write)
            _ = machine.frames.copy(from: from, to: dpage.pfn)
            mirror?.erase(args.start &+ UInt64(i) << UserVM.pageShift)
        }
        return nil
    }

    func noteUser(_ pfn: Int, _ mirror: DeviceMirror) { state.withLock { $0.users[pfn] = mirror } }

    /// HMM_DMIRROR_RELEASE, Linux: `dmirror_device_remove_chunks()`: every chunk is
    /// marked removed, its free pages dropped, its resident pages evicted to system memory
    /// (`dmirror_device_evict_chunk()`), and it is unmapped (memunmap_pages()). Chunks come
    /// back on the next allocation.
    public func release() {
        let chunks = state.withLock { s in
            let chunks = s.chunks
            s.chunks = []
            s.free = []
            return chunks
        }
        for chunk in chunks {
            evict(chunk)
            machine.memunmapPages(chunk)
        }
    }

    /// Linux: `dmirror_device_evict_chunk()`: migrate_device_range() over the chunk, a
    /// system page for each page in use with its data, migrate_device_pages() and
    /// migrate_device_finalize(). The mirrors' device page tables lose those pages.
    private func evict(_ chunk: DevPagemap) {
        let count = chunk.range.count
        var src = machine.migrateDeviceRange(start: chunk.range.start, count: count)
        var dst = [UInt64](repeating: 0, count: count)
        var erased: [(DeviceMirror, Int)] = []
        for i in 0..<count where src[i] & MigratePFN.migrate != 0 {
            guard let spfn = MigratePFN.pfn(src[i]), let spage = machine.page(spfn), let from = dataPfn(spage),
                  let dpage = machine.folioAlloc(.highuserMovable) else { continue }
            dpage.lock()
            dst[i] = MigratePFN.make(dpage.pfn) | (src[i] & MigratePFN.write)
            _ = machine.frames.copy(from: from, to: dpage.pfn)
            if let mirror = state.withLock({ $0.users[spfn] }) { erased.append((mirror, from)) }
        }
        machine.migrateDevicePages(&src, dst, count: count, faultPage: nil)
        machine.migrateDeviceFinalize(src, dst, count: count, faultPage: nil)
        for (mirror, pfn) in erased { mirror.eraseData(pfn) }
    }
}

/// `struct dmirror`: one open file of a mirror device, bound to one process; its device
/// page table holds no page references (staleness is the notifier's business).
public final class DeviceMirror: @unchecked Sendable {
    public let device: DeviceMirrorDevice
    public let process: Process
    /// Virtual pfn -> (pfn holding the data, WRITE tag).
    let pt = Mutex<[UInt64: (pfn: Int, write: Bool)]>([:])
    private let flags = Atomic<UInt64>(0)
    public static let flagFailAlloc: UInt64 = 1 << 0

    /// Linux: `dmirror_fops_open()`.
    public init(device: DeviceMirrorDevice, process: Process) {
        self.device = device
        self.process = process
    }

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

    func erase(_ address: UInt64) { _ = pt.withLock { $0.removeValue(forKey: address >> UserVM.pageShift) } }

    /// Drops the device page-table entries whose data lives in `pfn`.
    func eraseData(_ pfn: Int) { pt.withLock { pt in pt = pt.filter { $0.value.pfn != pfn } } }

    /// The ioctl entry's checks: page-aligned `addr`, no overflow, not empty.
    private func range(_ addr: UInt64, _ npages: UInt64) throws(Errno) -> (UInt64, UInt64) {
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
            var args = MigrateVMA(vma: vma, start: from, end: to, pgmapOwner: device.owner, flags: .system)
            try tables.migrateVMASetup(&args)
            allocAndCopyToDevice(&args)
            tables.migrateVMAPages(&args)
            finalizeAndMap(args)
            tables.migrateVMAFinalize(args)
        }
        return try read(start, end, into: &buffer)
    }

    /// Linux: `dmirror_migrate_alloc_and_copy()`.
    private func allocAndCopyToDevice(_ args: inout MigrateVMA) {
        for i in 0..<args.npages where args.src[i] & MigratePFN.migrate != 0 {
            if let spfn = MigratePFN.pfn(args.src[i]), device.machine.isZoneDevice(spfn) { continue }
            guard !consumeFailAlloc(), let dpage = device.allocPage(), let to = device.dataPfn(dpage.headPage) else { continue }
            args.dst[i] = MigratePFN.make(dpage.pfn) | (args.src[i] & MigratePFN.write)
            if let spfn = MigratePFN.pfn(args.src[i]) { _ = device.machine.frames.copy(from: spfn, to: to) }
            else { _ = device.machine.frames.clear(pfn: to) }
        }
    }

    /// Linux: `dmirror_migrate_finalize_and_map()`: the migrated pages into the device pt.
    private func finalizeAndMap(_ args: MigrateVMA) {
        pt.withLock { pt in
            for i in 0..<args.npages where args.src[i] & MigratePFN.migrate != 0 {
                guard let dpfn = MigratePFN.pfn(args.dst[i]), let dpage = device.machine.page(dpfn), let data = device.dataPfn(dpage) else { continue }
                device.noteUser(dpfn, self)
                pt[(args.start >> UserVM.pageShift) + UInt64(i)] = (data, args.dst[i] & MigratePFN.write != 0)
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
            var args = MigrateVMA(vma: vma, start: from, end: to, pgmapOwner: device.owner, flags: select)
            try tables.migrateVMASetup(&args)
            _ = device.allocAndCopyToSystem(&args, mirror: self)
            tables.migrateVMAPages(&args)
            result.cpages += args.src.prefix(args.npages).filter { $0 & MigratePFN.valid != 0 && $0 & MigratePFN.migrate != 0 }.count
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
    /// 64-page chunks, hmm_range_fault() with REQ_FAULT (|REQ_WRITE) and the results into
    /// the device page table (this device's own private pages by their backing page).
    private func fault(_ start: UInt64, _ end: UInt64, write: Bool) throws(Errno) {
        let tables = process.tables
        var addr = start
        while addr < end {
            let next = min(end, addr &+ (64 << UserVM.pageShift))
            var range = HMMRange(start: addr, end: next, defaultFlags: HMMPFN.reqFault | (write ? HMMPFN.reqWrite : 0),
                                 devPrivateOwner: device.owner)
            try process.mm.mmapLock.withReadLock { () throws(Errno) in try tables.hmmRangeFault(&range) }
            pt.withLock { pt in
                for (i, value) in range.hmmPfns.enumerated() where value & HMMPFN.valid != 0 {
                    let pfn = Int(value & HMMPFN.pfnMask)
                    let data = device.machine.page(pfn).flatMap { device.machine.isZoneDevice(pfn) ? device.dataPfn($0) : pfn } ?? pfn
                    pt[(addr >> UserVM.pageShift) + UInt64(i)] = (data, value & HMMPFN.write != 0)
                }
            }
            addr = next
        }
    }

    /// HMM_DMIRROR_SNAPSHOT: hmm_range_fault() without fault flags, one byte per page
    /// (dmirror_mkentry(): ERROR 0xff, not valid 0x00, else a base of 0x20/0x30 for this
    /// or another device's private page, 0x40/0x50 for coherent, 0x10 for the zero page,
    /// plus WRITE 0x02 or READ 0x01, plus PMD 0x04).
    public func snapshot(addr: UInt64, npages: UInt64) throws(Errno) -> (Result, [UInt8]) {
        let (start, end) = try range(addr, npages)
        let machine = device.machine
        var range = HMMRange(start: start, end: end, devPrivateOwner: device.owner)
        let tables = process.tables
        try process.mm.mmapLock.withReadLock { () throws(Errno) in try tables.hmmRangeFault(&range) }
        let bytes = range.hmmPfns.map { value -> UInt8 in
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
        return (Result(cpages: Int(npages)), bytes)
    }

    /// Linux: `dmirror_do_read()`: copy each page of the device pt into the buffer;
    /// ENOENT at the first page the device does not map.
    private func read(_ start: UInt64, _ end: UInt64, into buffer: inout [UInt8]) throws(Errno) -> Result {
        let count = Int((end - start) >> UserVM.pageShift)
        var result = Result()
        var out = [UInt8](repeating: 0, count: count << UserVM.pageShift)
        try pt.withLock { pt throws(Errno) in
            for i in 0..<count {
                guard let entry = pt[(start >> UserVM.pageShift) + UInt64(i)],
                      let bytes = device.machine.frames.read(pfn: entry.pfn, count: Int(UserVM.pageSize)) else { throw Errno.ENOENT }
                out.replaceSubrange((i << UserVM.pageShift)..<((i + 1) << UserVM.pageShift), with: bytes)
                result.cpages += 1
            }
        }
        buffer = out
        return result
    }
}
