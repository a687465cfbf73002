// `pagelab flags --format json`: the budget in the kernel's own names (README, "pagelab flags").
import PageLayout

/// The JSON object of one page->flags budget. Every key of the README is always present;
/// `error` is null when the configuration builds, `baseline` is null unless flags were added.
public struct FlagsJSON: Encodable {
    public let budget: FlagsBudget
    public let source: String
    public let baseline: FlagsBudget?
    /// sizeof(struct page) for a budget's layout inputs; the key is left out when unknown.
    public let structPageSize: ((FlagsBudget) -> Int)?

    public init(_ budget: FlagsBudget, source: String, baseline: FlagsBudget? = nil,
                structPageSize: ((FlagsBudget) -> Int)? = nil) {
        self.budget = budget
        self.source = source
        self.baseline = baseline
        self.structPageSize = structPageSize
    }

    enum Key: String, CodingKey {
        case source, kernel, arch, memoryModel = "memory_model", bitsPerLong = "bits_per_long"
        case nrPageflags = "nr_pageflags", maxNrZones = "max_nr_zones", zones, zonesWidth = "zones_width"
        case sectionsShift = "sections_shift", sectionsWidth = "sections_width"
        case nodesShift = "nodes_shift", nodesWidth = "nodes_width", kasanTagWidth = "kasan_tag_width"
        case lastCpupidShift = "last_cpupid_shift", lastCpupidWidth = "last_cpupid_width"
        case lruGenWidth = "lru_gen_width", lruRefsWidth = "lru_refs_width"
        case nrNonPageflagBits = "nr_non_pageflag_bits", unusedBits = "unused_bits", freeBits = "free_bits"
        case nodeNotInPageFlags = "node_not_in_page_flags"
        case lastCpupidNotInPageFlags = "last_cpupid_not_in_page_flags"
        case structPageSize = "struct_page_size", error, flags, addedFlags = "added_flags", fields
        case baseline, changes
    }

    struct FieldJSON: Encodable {
        let name: String, width: Int, pgoff: Int, pgshift: Int
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: Key.self)
        try container.encode(source, forKey: .source)
        try encodeBudget(budget, into: &container)
        try container.encode(budget.addedFlags, forKey: .addedFlags)
        if let baseline {
            try container.encode(FlagsJSON(baseline, source: source, structPageSize: structPageSize), forKey: .baseline)
            try container.encode(FlagsText.changes(budget, since: baseline, structPageSize: structPageSize), forKey: .changes)
        } else {
            try container.encodeNil(forKey: .baseline)
            try container.encode([String](), forKey: .changes)
        }
    }

    private func encodeBudget(_ budget: FlagsBudget, into container: inout KeyedEncodingContainer<Key>) throws {
        try container.encode(budget.config.kernel.description, forKey: .kernel)
        try container.encode(budget.config.arch.rawValue, forKey: .arch)
        try container.encode(budget.config.memoryModel.rawValue, forKey: .memoryModel)
        try container.encode(budget.bitsPerLong, forKey: .bitsPerLong)
        try container.encode(budget.nrPageflags, forKey: .nrPageflags)
        try container.encode(budget.maxNrZones, forKey: .maxNrZones)
        try container.encode(budget.zones.map(\.rawValue), forKey: .zones)
        try container.encode(budget.zonesWidth, forKey: .zonesWidth)
        try container.encode(budget.sectionsShift, forKey: .sectionsShift)
        try container.encode(budget.sectionsWidth, forKey: .sectionsWidth)
        try container.encode(budget.nodesShift, forKey: .nodesShift)
        try container.encode(budget.nodesWidth, forKey: .nodesWidth)
        try container.encode(budget.kasanTagWidth, forKey: .kasanTagWidth)
        try container.encode(budget.lastCpupidShift, forKey: .lastCpupidShift)
        try container.encode(budget.lastCpupidWidth, forKey: .lastCpupidWidth)
        try container.encode(budget.lruGenWidth, forKey: .lruGenWidth)
        try container.encode(budget.lruRefsWidth, forKey: .lruRefsWidth)
        try container.encode(budget.nrNonPageflagBits, forKey: .nrNonPageflagBits)
        try container.encode(budget.unusedBits, forKey: .unusedBits)
        try container.encode(budget.freeBits, forKey: .freeBits)
        try container.encode(budget.nodeNotInPageFlags, forKey: .nodeNotInPageFlags)
        try container.encode(budget.lastCpupidNotInPageFlags, forKey: .lastCpupidNotInPageFlags)
        if let structPageSize {
            try container.encode(structPageSize(budget), forKey: .structPageSize)
        }
        try container.encode(budget.error, forKey: .error)
        try container.encode(Dictionary(uniqueKeysWithValues: budget.flags.map { ($0.name, $0.bit) }), forKey: .flags)
        try container.encode(budget.fields.map { FieldJSON(name: $0.name, width: $0.width, pgoff: $0.pgoff, pgshift: $0.pgshift) },
                             forKey: .fields)
    }
}
