// The pin-tracking designs of ../shared/DESIGN.md ("The designs (rows of the lab)").

/// A design is a descriptor layout plus a way of tracking DMA pins. It is chosen when a
/// model machine is created; every part of PageLab (layouts, census costs, the model)
/// takes it from here, so the set of designs is written down once.
public enum Design: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    /// Linux v6.19: `_refcount += GUP_PIN_COUNTING_BIAS` on small folios, `_pincount` on large.
    case mainline
    /// J. Hubbard, Dec 2018 (seed 000): `atomic_t _dma_pinned_count` added to struct page.
    case dmaPinnedField = "dma-pinned-field"
    /// J. Hubbard v2, Jul 2018 (seeds 001, 002): pin fields in the `lru` words while off the LRU.
    case lruPinned = "lru-pinned"
    /// As `lruPinned`, with M. Wilcox's re-ordered ZONE_DEVICE arm (seed 001).
    case lruPinnedRearranged = "lru-pinned-rearranged"
    /// Seeds 000 (option 4) and 002: pin flag and count in a page_ext client.
    case pageExt = "page-ext"
    /// D. Williams / M. Wilcox, Dec 2018 (seed 003): GUP returns `dynamic_page` proxies.
    case proxy
    /// The 2025 memdesc path: 32-byte struct page plus separately allocated descriptors.
    case memdesc32
    /// The memdesc end goal: an 8-byte memdesc word per page plus descriptors; scamem.
    case memdesc8

    public var description: String { rawValue }

    /// Whether struct page shrinks to a memdesc (memdesc32, memdesc8): folios, slabs and
    /// ptdescs are then separately allocated descriptors.
    public var allocatesDescriptors: Bool { self == .memdesc32 || self == .memdesc8 }

    /// Parses a design name as the command line spells it, with a typed error.
    public static func named(_ name: String) throws(LayoutError) -> Design {
        guard let design = Design(rawValue: name) else {
            throw .unknownName(kind: "design", name: name, known: allCases.map(\.rawValue))
        }
        return design
    }
}
