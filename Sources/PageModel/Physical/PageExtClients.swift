// The page_ext clients of mm/page_ext.c (v6.19 page_ext_ops[], lines 80-92) and the
// sizing rule of invoke_need_callbacks() (lines 116-138).

/// The page_ext clients whose `need()` returns true, in `page_ext_ops[]` order.
public struct PageExtClients: OptionSet, Sendable, Hashable, Codable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// page_owner=on: `struct page_owner`, 64 bytes [mm/page_owner.c:24-37]; shared flags.
    public static let pageOwner = PageExtClients(rawValue: 1 << 0)
    /// 32-bit PAGE_IDLE_FLAG: no data, only the shared Young/Idle flags.
    public static let pageIdle = PageExtClients(rawValue: 1 << 1)
    /// Memory allocation profiling, non-compressed: `union codetag_ref`, one pointer.
    public static let allocTag = PageExtClients(rawValue: 1 << 2)
    /// page_table_check: `struct page_table_check`, two atomic_t.
    public static let pageTableCheck = PageExtClients(rawValue: 1 << 3)
    /// The `page-ext` design's pin client (seeds 000 option 4, 002): a pin flag in the
    /// shared flags and a pin count. Not a v6.19 client.
    public static let dmaPin = PageExtClients(rawValue: 1 << 4)

    /// The names the command line and reports use.
    public static let names: [(String, PageExtClients)] = [
        ("page_owner", .pageOwner), ("page_idle", .pageIdle), ("alloc_tag", .allocTag),
        ("page_table_check", .pageTableCheck), ("dma_pin", .dmaPin),
    ]
}

/// Where each enabled client's data sits in a page_ext entry, and the entry size.
/// Linux: `invoke_need_callbacks()` sets each needed client's `offset` to the running
/// `page_ext_size`, which starts at `sizeof(struct page_ext)` if any needed client uses
/// the shared flags and at 0 otherwise.
public struct PageExtLayout: Sendable, Equatable {
    /// `page_ext_size`: bytes per pfn; 0 means page_ext is not allocated at all.
    public let entrySize: Int
    /// Each enabled client's offset within an entry.
    public let offsets: [Int: Int]

    /// - Parameters:
    ///   - wordSize: sizeof(unsigned long), the size of `struct page_ext`.
    ///   - pinClientBytes: the data size of the `dma_pin` client (its pin count).
    public init(clients: PageExtClients, wordSize: Int, pinClientBytes: Int) {
        // page_owner: 64 B on both word sizes (all members are fixed-width or u64,
        // comm[16]); alloc_tag: one pointer; page_table_check: two atomic_t.
        let table: [(PageExtClients, size: Int, sharedFlags: Bool)] = [
            (.pageOwner, 64, true), (.pageIdle, 0, true), (.allocTag, wordSize, false),
            (.pageTableCheck, 8, false), (.dmaPin, pinClientBytes, true),
        ]
        let enabled = table.filter { clients.contains($0.0) && !(($0.0 == .pageIdle) && wordSize == 8) }
        var size = enabled.contains { $0.sharedFlags } ? wordSize : 0
        var offsets: [Int: Int] = [:]
        for client in enabled {
            offsets[client.0.rawValue] = size
            size += client.size
        }
        entrySize = size
        self.offsets = offsets
    }

    /// The offset of a client's data, or nil if it is not enabled.
    public func offset(of client: PageExtClients) -> Int? { offsets[client.rawValue] }
}
