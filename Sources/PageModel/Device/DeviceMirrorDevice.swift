// The HMM test driver's device memory (lib/test_hmm.c, v6.19: struct dmirror_device,
// dmirror_allocate_chunk(), dmirror_devmem_alloc_page(), dmirror_devmem_free(),
// dmirror_devmem_fault(), dmirror_device_remove_chunks()). Devices 0 and 1 are
// MEMORY_DEVICE_PRIVATE, 2 and 3 MEMORY_DEVICE_COHERENT. Device memory comes in order-0
// pages and PMD-order folios (`free_pages` and `free_folios`; the THP half is in
// DeviceMirrorTHP.swift).
//
// Deliberate difference: the free lists are Swift stacks, not lists threaded through
// `zone_device_data` (which holds the backing page's struct page address once a page is
// allocated, as in test_hmm.c). Chunks are DEVMEM_CHUNK_SIZE, 256 MiB, as in test_hmm.c
// (rounded up to whole memory sections where a section is larger: memremap_pages() maps
// whole sections).
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
        /// `free_folios`: the head pfns of free PMD-order device folios.
        var freeFolios: [Int] = []
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
    /// Device pages on the free lists (a free folio counts its 512 pages).
    public var freePages: Int { state.withLock { $0.free.count + $0.freeFolios.count << Paging.pmdOrder } }

    var ops: DevPagemapOps {
        let free: @Sendable (Folio) -> Void = { [unowned self] folio in self.devmemFree(folio) }
        let fault: @Sendable (DevicePrivateFault) -> VMFault = { [unowned self] vmf in self.devmemFault(vmf) }
        let split: @Sendable (Folio, Folio?) -> Void = { [unowned self] head, tail in self.devmemFolioSplit(head, tail) }
        return DevPagemapOps(folioFree: free, migrateToRam: type == .devicePrivate ? fault : nil,
                             folioSplit: type == .devicePrivate ? split : nil)
    }

    /// DEVMEM_CHUNK_SIZE (lib/test_hmm.c): the device memory one chunk adds.
    public static let chunkBytes: UInt64 = 256 << 20

    /// A chunk's size on this machine: DEVMEM_CHUNK_SIZE in whole memory sections.
    var chunkBytes: UInt64 {
        let section = machine.config.sectionBytes
        return (Self.chunkBytes + section - 1) / section * section
    }

    /// Linux: `dmirror_allocate_chunk()`: memremap_pages() one more chunk; for a `large`
    /// request each PMD-aligned 2 MiB of it goes on `free_folios` (and the rest, none
    /// here, on `free_pages`), otherwise every page goes on `free_pages`.
    private func allocateChunk(large: Bool) -> Bool {
        guard let pgmap = try? machine.memremapPages(type: type, bytes: chunkBytes, ops: ops, owner: owner) else { return false }
        let nr = 1 << Paging.pmdOrder
        state.withLock { s in
            s.chunks.append(pgmap)
            var pfn = pgmap.range.start
            while pfn < pgmap.range.end {
                if large, pfn % nr == 0, pfn + nr <= pgmap.range.end {
                    s.freeFolios.append(pfn)
                    pfn += nr
                } else {
                    s.free.append(pfn)
                    pfn += 1
                }
            }
            // The kernel pushes each onto the head of its list: the last pushed goes first.
            s.free.reverse()
            s.freeFolios.reverse()
        }
        return true
    }

    /// Linux: `dmirror_devmem_alloc_page(dmirror, is_large)`: a device page (or, `large`,
    /// a PMD-order device folio), initialised by zone_device_folio_init() as a locked
    /// folio with refcount 1, its backing system folio of the same order (private memory,
    /// folio_alloc(GFP_HIGHUSER, order)) in the head's `zone_device_data`.
    func allocPage(large: Bool = false) -> Folio? {
        let order = large ? Paging.pmdOrder : 0
        var backing: Folio?
        if type == .devicePrivate {
            guard let rpage = machine.folioAlloc(.highuser, order: order) else { return nil }
            backing = rpage
        }
        var pfn = state.withLock { s in large ? s.freeFolios.popLast() : s.free.popLast() }
        if pfn == nil, allocateChunk(large: large) { pfn = state.withLock { s in large ? s.freeFolios.popLast() : s.free.popLast() } }
        guard let pfn, let page = machine.page(pfn), let pgmap = machine.pagePgmap(page),
              let folio = machine.zoneDevicePageInit(page, pgmap: pgmap, order: order) else {
            if let backing { machine.folioPut(backing) }
            return nil
        }
        state.withLock { $0.calloc += 1 << order }
        machine.setZoneDeviceData(page, backing.map { $0.headPage.address } ?? 0)
        return folio
    }

    /// The pfn holding a device page's data: its page of the backing folio (private; nil
    /// when the head's `zone_device_data` was overwritten, recorded as corruption) or
    /// itself (coherent). Only a folio's head has `zone_device_data` (a tail's words
    /// there belong to the folio), as BACKING_PAGE() of test_hmm.c reads the head's.
    func dataPfn(_ page: Page) -> Int? {
        guard type == .devicePrivate else { return page.pfn }
        let head = machine.pageFolio(page)?.headPage ?? page
        let data = machine.zoneDeviceData(head)
        guard let rpage = machine.memmap.page(atAddress: data) else {
            machine.diagnostics.record(Diagnostic(kind: .corruption, pfn: UInt64(page.pfn),
                                                  reason: "dmirror: zone_device_data 0x\(String(data, radix: 16)) is not a backing page"))
            return nil
        }
        return rpage.pfn + (page.pfn - head.pfn)
    }

    /// `dataPfn` of page 0 of the folio `head` heads, found once for its first `count`
    /// pages (page `k`'s is this plus `k`), as test_hmm.c takes BACKING_PAGE() once per
    /// folio and steps through the backing folio's pages. nil when `head` does not head
    /// a folio of `count` pages or its `zone_device_data` is not a backing page: the
    /// caller then asks `dataPfn` page by page, which records each corruption.
    func folioDataPfn(_ head: Page, count: Int) -> Int? {
        guard type == .devicePrivate else { return head.pfn }
        let machine = self.machine
        guard let folio = machine.pageFolio(head), folio.pfn == head.pfn, folio.nrPages >= count else { return nil }
        return machine.memmap.page(atAddress: machine.zoneDeviceData(head))?.pfn
    }

    /// `dataPfn(page + k)`, with `base` the folio's `folioDataPfn` when it had one.
    @inline(__always)
    func dataPfn(_ page: Page, plus k: Int, base: Int?) -> Int? {
        if let base { return base + k }
        return dataPfn(Page(unchecked: page.pfn + k, machine.context))
    }

    /// Linux: `dmirror_devmem_free()` (the `folio_free` op): the backing folio is freed and
    /// the device folio goes back on `free_folios` (large) or `free_pages`.
    private func devmemFree(_ folio: Folio) {
        let page = folio.headPage
        let order = folio.order
        if type == .devicePrivate, let rpfn = dataPfn(page), let rpage = machine.page(rpfn), let rfolio = machine.pageFolio(rpage) {
            machine.folioPut(rfolio)
        }
        machine.setZoneDeviceData(page, 0)
        state.withLock { s in
            s.cfree += 1 << order
            s.users[page.pfn] = nil
            // Back to the allocator unless its chunk is being removed.
            guard s.chunks.contains(where: { $0.range.contains(page.pfn) }) else { return }
            if order > 0 { s.freeFolios.append(page.pfn) } else { s.free.append(page.pfn) }
        }
    }

    /// Linux: `dmirror_devmem_fault()` (the `migrate_to_ram` op): migrate the faulting
    /// page back to system memory, erasing the device page-table entries: the whole
    /// folio (MIGRATE_VMA_SELECT_COMPOUND over its naturally aligned range) when the fault
    /// came through a PMD, else the one page (a PTE-mapped folio "might not be fully
    /// split yet").
    private func devmemFault(_ fault: DevicePrivateFault) -> VMFault {
        let folio = machine.pageFolio(fault.page)
        let mirror = state.withLock { $0.users[folio?.pfn ?? fault.page.pfn] }
        let order = fault.viaPMD ? folio?.order ?? 0 : 0
        let start = fault.address & ~((UserVM.pageSize << UInt64(order)) - 1)
        var args = MigrateVMA(vma: fault.vma, start: start, end: start &+ (UserVM.pageSize << UInt64(order)), pgmapOwner: owner,
                              flags: order > 0 ? [.devicePrivate, .compound] : .devicePrivate, faultPage: fault.page)
        do { try fault.tables.migrateVMASetup(&args) } catch { return .sigbus }
        if let result = allocAndCopyToSystem(&args, mirror: mirror) { return result }
        fault.tables.migrateVMAPages(&args)
        fault.tables.migrateVMAFinalize(args)
        return []
    }

    /// Linux: `dmirror_devmem_fault_alloc_and_copy()`: for each device folio marked
    /// MIGRATE, a system folio of its order (MIGRATE_PFN_COMPOUND for a THP), its data
    /// copied from the backing folio, the device pt entries erased. A one-shot FAIL_ALLOC
    /// fails that allocation: an order-0 source is then VM_FAULT_OOM, a THP falls back
    /// to one system page per page (`dst[i] = migrate_pfn(...)`, which drops the first
    /// entry's MIGRATE_PFN_WRITE as the kernel does), and migrate_vma_pages() splits it.
    func allocAndCopyToSystem(_ args: inout MigrateVMA, mirror: DeviceMirror?) -> VMFault? {
        let machine = self.machine
        var i = 0
        var addr = args.start
        while i < args.npages {
            // Device pages only: the fault and MIGRATE_TO_SYS collect nothing else, and a
            // `migrate_vma` selecting system memory too leaves its RAM sources to the device.
            guard args.src[i] & MigratePFN.migrate != 0, let spfn = MigratePFN.pfn(args.src[i]), machine.isZoneDevice(spfn),
                  let spage = machine.page(spfn), let sfolio = machine.pageFolio(spage) else {
                i += 1
                addr &+= UserVM.pageSize
                continue
            }
            let order = sfolio.order
            args.dst[i] = (order > 0 ? MigratePFN.compound : 0) | (args.src[i] & MigratePFN.write)
            var dpage: Folio?
            if mirror?.consumeFailAlloc() ?? false {
                args.dst[i] &= ~MigratePFN.compound
            } else {
                dpage = machine.folioAlloc(.highuserMovable, order: order)
            }
            if dpage == nil, order == 0 { return .oom }
            if let dpage {
                dpage.lock()
                args.dst[i] |= MigratePFN.make(dpage.pfn)
            }
            let count = min(1 << order, args.npages - i)
            let base = folioDataPfn(spage, count: count)
            for k in 0..<count {
                var to = (dpage?.pfn ?? 0) + k
                if dpage == nil {
                    // "Try with smaller pages if large allocation fails".
                    guard let small = machine.folioAlloc(.highuserMovable) else {
                        mirror?.erase(addr, pages: k)
                        return .oom
                    }
                    small.lock()
                    args.dst[i + k] = MigratePFN.make(small.pfn)
                    to = small.pfn
                }
                if let from = dataPfn(spage, plus: k, base: base) { _ = machine.frames.copy(from: from, to: to) }
            }
            // Each page's device pt entry goes (xa_erase()), under one lock for the folio.
            mirror?.erase(addr, pages: count)
            addr &+= UInt64(count) << UserVM.pageShift
            i += 1 << order
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
            s.freeFolios = []
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
        var erased: [(DeviceMirror, Range<Int>)] = []
        for i in 0..<count where src[i] & MigratePFN.migrate != 0 {
            // A THP (MIGRATE_PFN_COMPOUND) comes back whole, into a folio of its order.
            let order = src[i] & MigratePFN.compound != 0 ? machine.pageFolio(Page(unchecked: chunk.range.start + i, machine.context))?.order ?? 0 : 0
            guard let spfn = MigratePFN.pfn(src[i]), let spage = machine.page(spfn), let from = dataPfn(spage),
                  let dpage = machine.folioAlloc(.highuserMovable, order: order) else { continue }
            dpage.lock()
            dst[i] = MigratePFN.make(dpage.pfn) | (src[i] & MigratePFN.write) | (order > 0 ? MigratePFN.compound : 0)
            for k in 0..<(1 << order) { _ = machine.frames.copy(from: from + k, to: dpage.pfn + k) }
            if let mirror = state.withLock({ $0.users[spfn] }) { erased.append((mirror, from..<(from + (1 << order)))) }
        }
        machine.migrateDevicePages(&src, dst, count: count, faultPage: nil)
        machine.migrateDeviceFinalize(src, dst, count: count, faultPage: nil)
        for (mirror, pfns) in erased { mirror.eraseData(pfns) }
    }
}
