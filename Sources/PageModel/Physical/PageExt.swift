// page_ext: per-section tables of per-pfn extension data (mm/page_ext.c,
// include/linux/page_ext.h), sized by the enabled clients.
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
    /// Tables by section number; sections come and go with memory hotplug.
    private let tables = ModelMutex<[Int: RawRegion]>([:])
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
        for section in 0..<topology.sectionPresent.count
        where topology.sectionPresent[section] && !config.offlineSections.contains(section) {
            try addTable(section: section)
        }
    }

    /// Linux: `init_section_page_ext()` at memory online.
    func addTable(section: Int) throws(MachineError) {
        let region = try RawRegion(byteCount: tableBytes, noReserve: false, what: "the page_ext table of section \(section)")
        tables.withLock { $0[section] = region }
    }

    /// Linux: `__free_page_ext()` at memory offline.
    func removeTable(section: Int) {
        _ = tables.withLock { $0.removeValue(forKey: section) }
    }

    /// Linux: `page_ext_lookup(pfn)`: nil for a pfn whose section has no table (offline,
    /// hot-added device memory, a hole).
    public func lookup(pfn: Int) -> PageExtEntry? {
        guard pfn >= 0, let table = tables.withLock({ $0[pfn >> pfnSectionShift] }) else { return nil }
        let index = pfn & ((1 << pfnSectionShift) - 1)
        return PageExtEntry(raw: table.base + index * layout.entrySize, layout: layout, wordSize: wordSize)
    }

    /// Sections with a table.
    public var sectionCount: Int { tables.withLock { $0.count } }
}
