// The machine's pin-tracking state: which design tracks DMA pins, and the exact shadow
// count every design keeps beside its own answer (see Pinning/ for the designs).
import PageLayout

/// Per-machine pin state, chosen by the machine's design.
public final class PinState: Sendable {
    public let design: Design
    init(design: Design) { self.design = design }
}
