// The page->flags word cut into drawable segments, shared by the text and SVG renderers.
import PageLayout

/// A run of bits of page->flags with one meaning.
public struct FlagsSegment: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// A field of the high bits (SECTIONS, NODES, ...), by kernel macro prefix.
        case field(String)
        /// Bits no field and no flag uses.
        case unused
        /// The page flags of `enum pageflags`.
        case flags
        /// Page flags added by "what if".
        case addedFlags
        /// Bits claimed twice: only in a configuration the kernel refuses to build.
        case overlap
    }

    public let kind: Kind
    /// Highest and lowest bit, inclusive.
    public let high: Int
    public let low: Int

    public var width: Int { high - low + 1 }

    /// The label people read: the field's name as the kernel's layout comment spells it.
    public var label: String {
        switch kind {
        case .field(let name): FlagsSegment.fieldLabels[name] ?? name
        case .unused: "unused"
        case .flags: "FLAGS"
        case .addedFlags: "ADDED"
        case .overlap: "OVERLAP"
        }
    }

    /// One character per bit in the text bar.
    public var glyph: Character {
        switch kind {
        case .field(let name): FlagsSegment.fieldGlyphs[name] ?? "?"
        case .unused: "."
        case .flags: "F"
        case .addedFlags: "+"
        case .overlap: "#"
        }
    }

    static let fieldLabels = ["SECTIONS": "SECTION", "NODES": "NODE", "ZONES": "ZONE",
                              "LAST_CPUPID": "LAST_CPUPID", "KASAN_TAG": "KASAN_TAG",
                              "LRU_GEN": "LRU_GEN", "LRU_REFS": "LRU_REFS"]
    static let fieldGlyphs: [String: Character] = ["SECTIONS": "S", "NODES": "N", "ZONES": "Z",
                                                   "LAST_CPUPID": "C", "KASAN_TAG": "K",
                                                   "LRU_GEN": "G", "LRU_REFS": "R"]

    /// The segments of `budget`'s page->flags from the top bit down. Each bit belongs to
    /// exactly one segment; bits claimed by a field and by a flag (possible only with the
    /// kernel's "Not enough bits" build error) are `.overlap`.
    public static func segments(of budget: FlagsBudget) -> [FlagsSegment] {
        let bits = budget.bitsPerLong
        var owner = [Kind](repeating: .unused, count: bits)
        for flag in budget.flags where flag.bit < bits {
            owner[flag.bit] = flag.added ? .addedFlags : .flags
        }
        for field in budget.fields {
            guard let range = field.bits else { continue }
            for bit in range where bit >= 0 && bit < bits {
                owner[bit] = owner[bit] == .unused ? .field(field.name) : .overlap
            }
        }
        var segments: [FlagsSegment] = []
        var high = bits - 1
        while high >= 0 {
            var low = high
            while low > 0 && owner[low - 1] == owner[high] { low -= 1 }
            segments.append(FlagsSegment(kind: owner[high], high: high, low: low))
            high = low - 1
        }
        return segments
    }
}
