// The HMM test driver's device memory (lib/test_hmm.c, v6.19: struct dmirror_device,
// dmirror_allocate_chunk(), dmirror_devmem_alloc_page(), dmirror_devmem_free(),
// dmirror_devmem_fault(), dmirror_device_remove_chunks()). Devices 0 and 1 are
// MEMORY_DEVICE_PRIVATE, 2 and 3 MEMORY_DEVICE_COHERENT.
//
// Deliberate difference: the free list of device pages is a Swift stack, not a list
// threaded through `zone_device_data` (which holds the backing page's struct page
// address once a page is allocated, as in test_hmm.c). Chunks are DEVMEM_CHUNK_SIZE,
// 256 MiB, as in test_hmm.c (rounded up to whole memory sections where a section is
// larger: memremap_pages() maps whole sections).
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

    /// DEVMEM_CHUNK_SIZE (lib/test_hmm.c): the device memory one chunk adds.
    public static let chunkBytes: UInt64 = 256 << 20

    /// A chunk's size on this machine: DEVMEM_CHUNK_SIZE in whole memory sections.
    var chunkBytes: UInt64 {
        let section = machine.config.sectionBytes
        return (Self.chunkBytes + section - 1) / section * section
    }

    /// Linux: `dmirror_allocate_chunk()`: memremap_pages() one more chunk, its pages onto
    /// the free list.
    private func allocateChunk() -> Bool {
        guard let pgmap = try? machine.memremapPages(type: type, bytes: chunkBytes, ops: ops, owner: owner) else { return false }
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
        machine.setZoneDeviceData(page, backing.map { $0.headPage.address } ?? 0)
        return folio
    }

    /// The pfn holding a device page's data: its backing page (private; nil when
    /// `zone_device_data` was overwritten, recorded as corruption) or itself (coherent).
    func dataPfn(_ page: Page) -> Int? {
        guard type == .devicePrivate else { return page.pfn }
        let data = machine.zoneDeviceData(page)
        guard let rpage = machine.memmap.page(atAddress: data) else {
            machine.diagnostics.record(Diagnostic(kind: .corruption, pfn: UInt64(page.pfn),
                                                  reason: "dmirror: zone_device_data 0x\(String(data, radix: 16)) is not a backing page"))
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
        machine.setZoneDeviceData(page, 0)
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
            // Device pages only: the fault and MIGRATE_TO_SYS collect nothing else, and a
            // `migrate_vma` selecting system memory too leaves its RAM sources to the device.
            guard args.src[i] & MigratePFN.migrate != 0, let spfn = MigratePFN.pfn(args.src[i]), machine.isZoneDevice(spfn),
                  let spage = machine.page(spfn), let from = dataPfn(spage) else { continue }
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
