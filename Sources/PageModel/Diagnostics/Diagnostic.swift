// Kernel-style diagnostics: what the kernel would WARN, BUG or report as a bad page
// (mm/debug.c dump_page(), mm/page_alloc.c bad_page()) becomes a record, not a trap.

/// One recorded diagnostic. The model keeps running after recording it; tests and
/// scenarios assert on the records.
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: String, Sendable, Equatable {
        /// Linux: `WARN_ON*()`.
        case warn
        /// Linux: `BUG_ON()`/`VM_BUG_ON*()`; the model records it instead of halting.
        case bug
        /// Linux: `bad_page()` ("BUG: Bad page state").
        case badPage = "bad_page"
        /// A field damaged by a design that overwrote another arm's word.
        case corruption
        /// A pin that was never released (PinnedPages dropped without unpin).
        case leak
    }

    public let kind: Kind
    /// The page frame concerned, if any.
    public let pfn: UInt64?
    /// The reason, in the kernel's words where it has some ("nonzero mapcount", ...).
    public let reason: String
    /// A `dump_page()`-like rendering of the descriptor at the time, if any.
    public let dump: String?

    public init(kind: Kind, pfn: UInt64? = nil, reason: String, dump: String? = nil) {
        self.kind = kind
        self.pfn = pfn
        self.reason = reason
        self.dump = dump
    }

    public var description: String {
        var text = "\(kind.rawValue)"
        if let pfn { text += " pfn:0x\(String(pfn, radix: 16))" }
        text += ": \(reason)"
        if let dump { text += "\n\(dump)" }
        return text
    }
}
