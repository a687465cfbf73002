// The vmalloc workload's keys of one row of `pagelab compare --workload vmalloc --format
// json`: which tracking option and scamem placement the row ran, and what the drivers'
// vfree() while mapped or pinned did to it.
import PageModel

public struct CompareVmallocFigures: Encodable, Sendable, Equatable {
    public let option: String
    public let placement: String
    public let vmallocBytes: Int
    public let scamemBytes: Int
    public let pins: Int
    public let gupRefused: Int
    public let references: Int
    public let useAfterFree: Int
    public let dataErrorsAfterFree: Int
    /// Absent (null) where GUP is refused.
    public let nsPerGupPage: Double?
    public let unreachableWithoutVMA: Int
    public let strandedPages: Int

    enum CodingKeys: String, CodingKey {
        case option, placement, pins, references
        case vmallocBytes = "vmalloc_bytes", scamemBytes = "scamem_bytes", gupRefused = "gup_refused"
        case useAfterFree = "use_after_free", dataErrorsAfterFree = "data_errors_after_free"
        case nsPerGupPage = "ns_per_gup_page"
        case unreachableWithoutVMA = "unreachable_without_vma", strandedPages = "stranded_pages"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(option, forKey: .option)
        try container.encode(placement, forKey: .placement)
        try container.encode(vmallocBytes, forKey: .vmallocBytes)
        try container.encode(scamemBytes, forKey: .scamemBytes)
        try container.encode(pins, forKey: .pins)
        try container.encode(gupRefused, forKey: .gupRefused)
        try container.encode(references, forKey: .references)
        try container.encode(useAfterFree, forKey: .useAfterFree)
        try container.encode(dataErrorsAfterFree, forKey: .dataErrorsAfterFree)
        try container.encode(nsPerGupPage, forKey: .nsPerGupPage)   // null where refused
        try container.encode(unreachableWithoutVMA, forKey: .unreachableWithoutVMA)
        try container.encode(strandedPages, forKey: .strandedPages)
    }

    public init(_ figures: VmallocFigures) {
        option = figures.option.rawValue
        placement = figures.placement?.rawValue ?? "-"
        vmallocBytes = figures.vmallocBytes
        scamemBytes = figures.scamemBytes
        pins = figures.pins
        gupRefused = figures.gupRefused
        references = figures.references
        useAfterFree = figures.useAfterFree
        dataErrorsAfterFree = figures.dataErrorsAfterFree
        nsPerGupPage = figures.nsPerGupPage
        unreachableWithoutVMA = figures.unreachableWithoutVMA
        strandedPages = figures.strandedPages
    }
}
