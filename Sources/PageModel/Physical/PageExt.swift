// page_ext: per-section tables of per-pfn extension data (mm/page_ext.c,
// include/linux/page_ext.h), sized by the enabled clients.
import Atomics
import PageLayout
import Synchronization

/// One pfn's page_ext entry: `struct page_ext` (the shared flags word) followed by the
/// clients' data at their offsets.
public struct PageExtEntry: @unchecked Sendable {
    let raw: UnsafeMutableRawPointer
    public let layout: PageExtLayout
    let wordSize: Int

    /// `page_ext->flags` (present when a client uses the shared flags).
    public var flags: UInt64 {
        get { RawMemory.loadWord(raw, wordSize: wordSize) }
        nonmutating set { RawMemory.storeWord(newValue, raw, wordSize: wordSize) }
    }

    /// A client's data as a checked view (`page_ext_data(page_ext, ops)`), or nil if the
    /// client is not enabled.
    func client(_ client: PageExtClients, context: UnsafeMutablePointer<MemmapContext>) -> DescriptorBytes? {
        guard let offset = layout.offset(of: client) else { return nil }
        let end = layout.offsets.values.filter { $0 > offset }.min() ?? layout.entrySize
        return DescriptorBytes(raw: raw + offset, pfn: -1, span: end - offset, context: context)
    }

    /// A client's data (`page_ext_data(page_ext, ops)`), or nil if it is not enabled.
    public func data(of client: PageExtClients) -> UnsafeMutableRawBufferPointer? {
        guard let offset = layout.offset(of: client) else { return nil }
        let end = layout.offsets.values.filter { $0 > offset }.min() ?? layout.entrySize
        return UnsafeMutableRawBufferPointer(start: raw + offset, count: end - offset)
    }
}

/// The page_ext tables of a machine: one per online memory section, allocated only if
/// some client needs page_ext (`invoke_need_callbacks()`), looked up by pfn as
/// `section->page_ext + page_ext_size * pfn` (`lookup_page_ext()`).
public final class PageExtStore: @unchecked Sendable {
    public let layout: PageExtLayout
    /// Tables by section number; sections come and go with memory hotplug. The owner of
    /// each table's memory; lookups read `bases`.
    private let tables = ModelMutex<[Int: RawRegion]>([:])
    /// Each section's table address, 0 without one: the kernel's `mem_section[nr].page_ext`,
    /// read with one load and no lock by `lookup` (the kernel's readers hold only
    /// rcu_read_lock(), `page_ext_get()`), written under `tables`' lock by hotplug.
    private let bases: UnsafeMutablePointer<UnsafeAtomic<Int>.Storage>
    private let sectionLimit: Int
    /// The `dma_pin` client's offset within an entry and its bytes (-1 and 0 without it),
    /// fixed when page_ext is sized (`page_ext_operations.offset`, set by
    /// `invoke_need_callbacks()`), so that `page_ext_data()` is one add.
    let pinClientOffset: Int
    let pinClientBytes: Int
    private let pfnSectionShift: Int
    private let wordSize: Int
    private let tableBytes: Int
    /// Bytes of page_ext tables allocated.
    public var bytes: Int { tables.withLock { $0.count } * tableBytes }

    /// Builds the tables of every present, online section, or returns nil when no
    /// client is enabled: then nothing is allocated. `pinClientBytes` is what the
    /// pin-tracking design needs (`PinTracker.pageExtClientBytes`; 0: no pin client).
    init?(config: MachineConfig, topology: Topology, pinClientBytes pinBytes: Int) throws(MachineError) {
        var clients = config.pageExtClients
        if pinBytes > 0 { clients.insert(.dmaPin) }
        let layout = PageExtLayout(clients: clients, wordSize: config.layout.wordSize, pinClientBytes: pinBytes)
        guard layout.entrySize > 0 else { return nil }
        self.layout = layout
        pfnSectionShift = config.pfnSectionShift
        wordSize = config.layout.wordSize
        tableBytes = layout.entrySize << config.pfnSectionShift
        pinClientOffset = layout.offset(of: .dmaPin) ?? -1
        pinClientBytes = pinClientOffset < 0 ? 0 : pinBytes
        sectionLimit = topology.sectionPresent.count
        bases = .allocate(capacity: max(1, sectionLimit))
        bases.initialize(repeating: UnsafeAtomic<Int>.Storage(0), count: max(1, sectionLimit))
        for section in 0..<topology.sectionPresent.count
        where topology.sectionPresent[section] && !config.offlineSections.contains(section) {
            try addTable(section: section)
        }
    }

    deinit {
        bases.deinitialize(count: max(1, sectionLimit))
        bases.deallocate()
    }

    /// Linux: `init_section_page_ext()` at memory online. Sections are those of the
    /// topology (`onlineSection` checks), so `section` < `sectionLimit`.
    func addTable(section: Int) throws(MachineError) {
        let region = try RawRegion(byteCount: tableBytes, noReserve: false, what: "the page_ext table of section \(section)")
        tables.withLock { tables in
            tables[section] = region
            if section >= 0, section < sectionLimit {
                UnsafeAtomic<Int>.Storage.atomicStore(Int(bitPattern: region.base), at: bases + section, ordering: .releasing)
            }
        }
    }

    /// Linux: `__free_page_ext()` at memory offline.
    func removeTable(section: Int) {
        tables.withLock { tables in
            if section >= 0, section < sectionLimit {
                UnsafeAtomic<Int>.Storage.atomicStore(0, at: bases + section, ordering: .releasing)
            }
            _ = tables.removeValue(forKey: section)
        }
    }

    /// The host address of pfn's entry, or nil for a pfn whose section has no table.
    /// Linux: `lookup_page_ext()`: `section->page_ext` (one load), then the entry at
    /// `page_ext_size * pfn` from it.
    @inline(__always)
    func entryPointer(pfn: Int) -> UnsafeMutableRawPointer? {
        let section = pfn >> pfnSectionShift
        guard pfn >= 0, section < sectionLimit else { return nil }
        let base = UnsafeAtomic<Int>.Storage.atomicLoad(at: bases + section, ordering: .acquiring)
        guard let table = UnsafeMutableRawPointer(bitPattern: base) else { return nil }
        return table + (pfn & ((1 << pfnSectionShift) - 1)) * layout.entrySize
    }

    /// The `dma_pin` client's data of `pfn`, or nil without an entry or without the
    /// client. Linux: `page_ext_data(page_ext_get(page), &page_dma_pin_ops)`.
    @inline(__always)
    func pinClient(pfn: Int, context: UnsafeMutablePointer<MemmapContext>) -> DescriptorBytes? {
        guard pinClientOffset >= 0, let entry = entryPointer(pfn: pfn) else { return nil }
        return DescriptorBytes(raw: entry + pinClientOffset, pfn: -1, span: pinClientBytes, context: context)
    }

    /// Linux: `page_ext_lookup(pfn)`: nil for a pfn whose section has no table (offline,
    /// hot-added device memory, a hole).
    public func lookup(pfn: Int) -> PageExtEntry? {
        entryPointer(pfn: pfn).map { PageExtEntry(raw: $0, layout: layout, wordSize: wordSize) }
    }

    /// Sections with a table.
    public var sectionCount: Int { tables.withLock { $0.count } }
}
