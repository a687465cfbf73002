// The memdesc designs' pin tracking: an exact `pincount` in the separately allocated
// folio descriptor, for every order (kernelnewbies MemdescFolios: struct folio keeps
// `_pincount`), plus one reference per pin, as mainline's large folios.
import PageLayout

/// The `memdesc32` and `memdesc8` designs (the same tracking; they differ in what a
/// struct page is, which `Folio` already hides).
public struct MemdescPins: PinTracker {
    public static var capabilities: PinCapabilities { PinCapabilities(tracksExactly: true) }
    public let design: Design

    public init(_ setup: PinTrackerSetup) { design = setup.design }

    @inline(__always)
    public func grab(_ folio: Folio, at page: Page, refs: Int32, fast: Bool, in machine: Machine) -> Errno? {
        guard folio.hasPincount else { return .ENOMEM }
        if !fast { folio.refAdd(refs) }
        folio.pincountAdd(refs)
        return nil
    }

    @inline(__always)
    public func release(_ folio: Folio, at page: Page?, refs: Int32, in machine: Machine) {
        folio.pincountAdd(-refs)
        machine.folioPutRefs(folio, refs)
    }

    public func addPin(_ folio: Folio, in machine: Machine) {
        folio.get()
        folio.pincountAdd(1)
    }

    public func maybePinned(_ folio: Folio, in machine: Machine) -> Bool { (folio.pincount ?? 0) > 0 }

    public func referencesHeld(_ folio: Folio, pins: Int64, in machine: Machine) -> Int64 { pins }
}
