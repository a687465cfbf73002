// Where each pin-tracking design is registered: the one place that maps a design's name
// (`Design`, PageLayout) to the type that implements it (one file per design in Pinning/).
import PageLayout

extension Design {
    /// The tracker type of the design. A new design is one file implementing
    /// `PinTracker` and one line here (and its case in `Design`, which names it and
    /// picks its struct page layout).
    public var pinTracker: any PinTracker.Type {
        switch self {
        case .mainline: MainlinePins.self
        case .dmaPinnedField: DMAPinnedFieldPins.self
        case .lruPinned, .lruPinnedRearranged: LRUPinnedPins.self
        case .pageExt: PageExtPins.self
        case .proxy: ProxyPins.self
        case .memdesc32, .memdesc8: MemdescPins.self
        }
    }
}
