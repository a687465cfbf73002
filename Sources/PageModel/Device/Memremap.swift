// ZONE_DEVICE pages: struct dev_pagemap and memremap_pages()/memunmap_pages(),
// zone_device_page_init(), free_zone_device_folio() (include/linux/memremap.h,
// mm/memremap.c, mm/mm_init.c: memmap_init_zone_device()).
import PageLayout
import Synchronization

/// `enum memory_type` [include/linux/memremap.h:30-75]; 0 is reserved.
public enum MemoryType: Int, CaseIterable, Sendable, CustomStringConvertible {
    case devicePrivate = 1
    case deviceCoherent = 2
    case fsDax = 3
    case generic = 4
    case pciP2PDMA = 5

    public var description: String {
        switch self {
        case .devicePrivate: "MEMORY_DEVICE_PRIVATE"
        case .deviceCoherent: "MEMORY_DEVICE_COHERENT"
        case .fsDax: "MEMORY_DEVICE_FS_DAX"
        case .generic: "MEMORY_DEVICE_GENERIC"
        case .pciP2PDMA: "MEMORY_DEVICE_PCI_P2PDMA"
        }
    }
}

/// `struct dev_pagemap_ops`: the driver's callbacks.
public struct DevPagemapOps: Sendable {
    /// `folio_free(folio)`: the folio's refcount reached 0 (PRIVATE, COHERENT, P2PDMA).
    public var folioFree: (@Sendable (Folio) -> Void)?
    /// `migrate_to_ram(vmf)`: a CPU fault hit a device-private entry of this pagemap
    /// (do_swap_page()); the driver must move the page back to system memory
    /// (PRIVATE only). Called with the device page locked and referenced.
    public var migrateToRam: (@Sendable (DevicePrivateFault) -> VMFault)?
    /// Whether `migrate_to_ram` is provided (required for PRIVATE). A pagemap declared
    /// with one but no handler answers a fault on its entries with VM_FAULT_SIGBUS.
    public var hasMigrateToRam: Bool
    /// `folio_split(head, tail)`: a large device-private folio is being split
    /// (zone_device_private_split_cb()): called for each new folio `tail` after the
    /// first, then once with nil when the split is done (the driver fixes its own state:
    /// `tail->pgmap`, `zone_device_data`).
    public var folioSplit: (@Sendable (Folio, Folio?) -> Void)?
    public init(folioFree: (@Sendable (Folio) -> Void)? = nil, hasMigrateToRam: Bool = false,
                migrateToRam: (@Sendable (DevicePrivateFault) -> VMFault)? = nil,
                folioSplit: (@Sendable (Folio, Folio?) -> Void)? = nil) {
        self.folioFree = folioFree
        self.migrateToRam = migrateToRam
        self.hasMigrateToRam = hasMigrateToRam || migrateToRam != nil
        self.folioSplit = folioSplit
    }
}

/// `struct dev_pagemap`. Its kernel address (from the descriptor heap) is what
/// `folio->pgmap` holds; the registry maps it back to this object.
public final class DevPagemap: Sendable {
    public let type: MemoryType
    public let range: PfnRange
    /// `vmemmap_shift`: the order of the compound pages the pagemap is made of.
    public let vmemmapShift: Int
    public let ops: DevPagemapOps
    /// `owner`: the driver's cookie (PRIVATE and COHERENT require one).
    public let owner: UInt64?
    public let nid: Int
    /// The kernel address of the struct dev_pagemap.
    public let address: UInt64
    /// The memdesc designs' array of device folio descriptors (`attachZoneDevice`), one
    /// per `1 << vmemmapShift` pages; 0 where folios overlay struct pages.
    let descriptors: UInt64
    /// `pgmap->ref` (a percpu_ref): pages handed out and not yet freed.
    let references = Atomic<Int>(0)

    init(type: MemoryType, range: PfnRange, vmemmapShift: Int, ops: DevPagemapOps, owner: UInt64?, nid: Int, address: UInt64,
         descriptors: UInt64) {
        self.type = type
        self.range = range
        self.vmemmapShift = vmemmapShift
        self.ops = ops
        self.owner = owner
        self.nid = nid
        self.address = address
        self.descriptors = descriptors
    }

    /// Bytes of its device folio descriptors (one per `1 << vmemmapShift` pages, 16-byte
    /// rounded as the heap allocates them), 0 where there are none.
    func descriptorBytes(_ layout: ModelLayout) -> Int {
        descriptors == 0 ? 0 : ((range.count >> vmemmapShift) * layout.folioSize + 15) & ~15
    }

    /// Pages of this pagemap currently in use (`percpu_ref` count).
    public var pagesInUse: Int { references.load(ordering: .relaxed) }
}

extension Machine {
    /// MAX_FOLIO_ORDER: PUD_ORDER (18) where gigantic folios exist (64-bit), else
    /// MAX_PAGE_ORDER.
    var maxFolioOrder: Int { config.arch.bitsPerLong == 64 ? 18 : BuddyConstants.maxOrder }

    /// Linux: `memremap_pages()` over a range from `request_free_mem_region()` (the top of
    /// the physical address space, below 2^MAX_PHYSMEM_BITS, section aligned). Adds the
    /// sections, initialises their struct pages in ZONE_DEVICE (`memmap_init_zone_device()`:
    /// PG_reserved, `pgmap` in the folio's lru slot, `zone_device_data = NULL`, refcount 0,
    /// or 1 for MEMORY_DEVICE_GENERIC), compound pages when `vmemmapShift` > 0. The memdesc
    /// designs' pages point to folio descriptors made here, which keep `pgmap`
    /// (`initZoneDeviceFolio`).
    public func memremapPages(type: MemoryType, bytes: UInt64, nid: Int = 0, vmemmapShift: Int = 0,
                              ops: DevPagemapOps, owner: UInt64? = nil) throws(KernelError) -> DevPagemap {
        guard let deviceIndex = zoneTypes.firstIndex(of: .device) else {
            throw .unsupported("the kernel config has no ZONE_DEVICE")
        }
        guard layout.folioPgmap >= 0 else {
            throw .unsupported("design '\(config.design)' has no folio->pgmap")
        }
        switch type {
        case .devicePrivate:
            guard config.kernel.isEnabled("DEVICE_PRIVATE") else { throw .invalid("MEMORY_DEVICE_PRIVATE needs CONFIG_DEVICE_PRIVATE") }
            guard ops.hasMigrateToRam, ops.folioFree != nil else { throw .invalid("MEMORY_DEVICE_PRIVATE needs migrate_to_ram and folio_free") }
            guard owner != nil else { throw .invalid("MEMORY_DEVICE_PRIVATE needs an owner") }
        case .deviceCoherent:
            guard ops.folioFree != nil else { throw .invalid("MEMORY_DEVICE_COHERENT needs folio_free") }
            guard owner != nil else { throw .invalid("MEMORY_DEVICE_COHERENT needs an owner") }
        case .pciP2PDMA:
            guard ops.folioFree != nil else { throw .invalid("MEMORY_DEVICE_PCI_P2PDMA needs folio_free") }
        case .fsDax, .generic:
            break
        }
        guard vmemmapShift >= 0, vmemmapShift <= maxFolioOrder else { throw .invalid("vmemmap_shift \(vmemmapShift) > MAX_FOLIO_ORDER") }
        guard nid >= 0, nid < zones.count else { throw .invalid("node \(nid) does not exist") }
        let sectionBytes = config.sectionBytes
        guard bytes > 0, bytes % sectionBytes == 0 else { throw .invalid("a pagemap of \(bytes) bytes is not whole sections") }
        let pages = Int(bytes >> UInt64(MachineConfig.pageShift))
        guard pages % (1 << vmemmapShift) == 0 else { throw .invalid("the range is not a multiple of the compound page size") }

        let range: PfnRange = try deviceRegions.withLock { regions throws(KernelError) in
            // request_free_mem_region(): highest free range below the top, going down.
            var end = 1 << (config.arch.maxPhysmemBits - MachineConfig.pageShift)
            for taken in regions.sorted(by: { $0.start > $1.start }) where taken.start < end {
                if taken.end <= end - pages { break }
                end = taken.start
            }
            guard end - pages >= config.spannedPfns else { throw .noSpace("no free physical address range of \(bytes) bytes") }
            let range = PfnRange(start: end - pages, end: end)
            regions.append(range)
            return range
        }
        // Every failure from here gives back what was taken before it.
        func release(sections added: Range<Int> = 0..<0, pagemap address: UInt64? = nil, _ pgmap: DevPagemap? = nil) {
            for section in added { memmap.removeSection(section) }
            if let pgmap {
                detachZoneDevice(pgmap)
                deviceDescriptorBytes.subtract(pgmap.descriptorBytes(layout), ordering: .relaxed)
            }
            if let address { heap.free(address, size: 2 * layout.wordSize, alignment: layout.wordSize, kind: .pagemap) }
            frames.detachDevice(start: range.start)
            deviceRegions.withLock { $0.removeAll { $0 == range } }
        }
        if type != .devicePrivate {
            // Memory the CPU can address has bytes behind its pfns; DEVICE_PRIVATE has none.
            do {
                try frames.attachDevice(start: range.start, count: pages)
            } catch {
                release()
                throw .noSpace(error.description)
            }
        }
        guard let address = heap.allocate(size: 2 * layout.wordSize, alignment: layout.wordSize, kind: .pagemap) else {
            release()
            throw .noSpace("no room for struct dev_pagemap")
        }
        guard let descriptors = attachZoneDevice(pages: pages, shift: vmemmapShift) else {
            release(pagemap: address)
            throw .noSpace("no room for the device folios' descriptors")
        }
        let pgmap = DevPagemap(type: type, range: range, vmemmapShift: vmemmapShift, ops: ops, owner: owner, nid: nid, address: address,
                               descriptors: descriptors)
        deviceDescriptorBytes.add(pgmap.descriptorBytes(layout), ordering: .relaxed)
        let firstSection = range.start >> config.pfnSectionShift
        for section in firstSection..<(range.end >> config.pfnSectionShift) {
            do {
                _ = try memmap.addSection(section, nid: nid)
            } catch {
                release(sections: firstSection..<section, pagemap: address, pgmap)
                throw .noSpace(error.description)
            }
        }
        registry.register(pgmap, at: address)
        let flags = initialFlags(nid: nid, zone: deviceIndex) | (flagBits.reserved >= 0 ? 1 << UInt64(flagBits.reserved) : 0)
        let step = 1 << vmemmapShift
        for head in stride(from: range.start, to: range.end, by: step) {
            initZoneDeviceFolio(head, order: vmemmapShift, flags: flags, pgmap: pgmap)
        }
        return pgmap
    }

    /// A device page's `zone_device_data` (the driver's word: dmirror's backing page), 0
    /// where the scheme cannot find it. Where it lives is the descriptor scheme's
    /// (`zoneDeviceDataWord`).
    public func zoneDeviceData(_ page: Page) -> UInt64 {
        zoneDeviceDataWord(page).map { RawMemory.loadWord($0, wordSize: layout.wordSize) } ?? 0
    }

    public func setZoneDeviceData(_ page: Page, _ value: UInt64) {
        if let word = zoneDeviceDataWord(page) { RawMemory.storeWord(value, word, wordSize: layout.wordSize) }
    }

    /// The pagemap a ZONE_DEVICE page belongs to. Linux: `page_pgmap()`, which WARNs if
    /// the page is not in ZONE_DEVICE.
    public func pagePgmap(_ page: Page) -> DevPagemap? {
        guard zone(of: page.pfn)?.type == .device, let folio = pageFolio(page) else {
            diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(page.pfn), reason: "page_pgmap: page is not ZONE_DEVICE"))
            return nil
        }
        return registry.object(at: folio.pgmap, as: DevPagemap.self)
    }

    /// Linux: `zone_device_page_init(page, pgmap, order)`: a free device page (refcount 0)
    /// becomes a folio with refcount 1, locked, compound if `order` > 0, holding a
    /// reference on the pagemap per page.
    public func zoneDevicePageInit(_ page: Page, pgmap: DevPagemap, order: Int = 0) -> Folio? {
        guard pgmap.range.contains(page.pfn), page.pfn + (1 << order) <= pgmap.range.end, order <= maxFolioOrder else {
            diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(page.pfn), reason: "zone_device_page_init: page outside its pagemap"))
            return nil
        }
        if page.refcount != 0 {
            diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(page.pfn), reason: "zone_device_page_init: refcount \(page.refcount), expected 0",
                                          dump: dumpPage(page)))
            return nil
        }
        pgmap.references.add(1 << order, ordering: .relaxed)
        return markZoneDeviceFolio(page, pgmap: pgmap, order: order)
    }

    /// Linux: `free_zone_device_folio()` at refcount 0: clear `mapping` (but for FS_DAX
    /// and GENERIC), then per type: PRIVATE/COHERENT `folio_free()` and drop the pagemap
    /// references; GENERIC back to refcount 1; FS_DAX wakes waiters; P2PDMA `folio_free()`.
    func freeZoneDeviceFolio(_ folio: Folio) {
        guard let pgmap = registry.object(at: folio.pgmap, as: DevPagemap.self) else {
            diagnostics.record(Diagnostic(kind: .corruption, pfn: UInt64(folio.pfn),
                                          reason: "free_zone_device_folio: folio->pgmap 0x\(String(folio.pgmap, radix: 16)) is not a dev_pagemap",
                                          dump: dumpPage(folio.headPage)))
            return
        }
        let nr = folio.nrPages
        if folio.mapping & 1 != 0, flagBits.owner2 >= 0 {   // PG_anon_exclusive
            for i in 0..<nr { if let page = folio.page(i) { context.setAnonExclusive(page, folio: folio, bit: flagBits.owner2, false) } }
        }
        if pgmap.type != .fsDax, pgmap.type != .generic { folio.mapping = 0 }
        switch pgmap.type {
        case .devicePrivate, .deviceCoherent:
            guard let free = pgmap.ops.folioFree else {
                diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(folio.pfn), reason: "free_zone_device_folio: no folio_free"))
                return
            }
            free(folio)
            pgmap.references.subtract(nr, ordering: .relaxed)
        case .generic:
            folio.setRefcount(1)
        case .fsDax:
            break   // wake_up_var(&folio->page): nobody waits in the model
        case .pciP2PDMA:
            pgmap.ops.folioFree?(folio)
        }
        if pgmap.type != .devicePrivate, pgmap.type != .deviceCoherent, pgmap.type != .generic {
            pgmap.references.subtract(min(nr, pgmap.references.load(ordering: .relaxed)), ordering: .relaxed)
        }
    }

    /// Linux: `memunmap_pages()`: only once every page is free (the kernel waits on the
    /// percpu_ref; the model records a BUG and keeps the pagemap).
    @discardableResult
    public func memunmapPages(_ pgmap: DevPagemap) -> Bool {
        let inUse = pgmap.pagesInUse
        guard inUse == 0 else {
            diagnostics.record(Diagnostic(kind: .bug, reason: "memunmap_pages: \(inUse) pages of the \(pgmap.type) pagemap still referenced"))
            return false
        }
        for section in (pgmap.range.start >> config.pfnSectionShift)..<(pgmap.range.end >> config.pfnSectionShift) {
            memmap.removeSection(section)
        }
        registry.unregister(pgmap.address)
        detachZoneDevice(pgmap)
        deviceDescriptorBytes.subtract(pgmap.descriptorBytes(layout), ordering: .relaxed)
        heap.free(pgmap.address, size: 2 * layout.wordSize, alignment: layout.wordSize, kind: .pagemap)
        frames.detachDevice(start: pgmap.range.start)
        deviceRegions.withLock { $0.removeAll { $0 == pgmap.range } }
        return true
    }
}
