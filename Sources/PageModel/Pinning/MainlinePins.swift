// Mainline v6.19 pin tracking (mm/gup.c, include/linux/mm.h): `_refcount +=
// GUP_PIN_COUNTING_BIAS` per pin on folios without a pincount, an exact `_pincount` plus
// one reference per pin on the others (`folio_has_pincount()`: order ≥ 1 on 64-bit,
// ≥ 2 on 32-bit). No allocation, no lock: the kernel's atomics only.
import PageLayout

/// The `mainline` design.
public struct MainlinePins: PinTracker {
    /// Not exact: a small folio's pins are 1024 references each, and 1024 plain
    /// references look like a pin.
    public static var capabilities: PinCapabilities { PinCapabilities(tracksExactly: false) }
    public var design: Design { .mainline }

    public init(_ setup: PinTrackerSetup) {}
    /// The tracker the GUP hot paths call directly (GUPGrab.swift).
    init() {}

    /// Linux: the FOLL_PIN arm of `try_grab_folio()` [mm/gup.c:160-172]
    /// (`folio_ref_add(folio, refs)` + `atomic_add(refs, &folio->_pincount)`, or
    /// `folio_ref_add(folio, refs * GUP_PIN_COUNTING_BIAS)`), and of
    /// `try_grab_folio_fast()` [mm/gup.c:560-572] where `refs` references are taken
    /// already (`_pincount += refs`, or `refs * (GUP_PIN_COUNTING_BIAS - 1)` more).
    @inline(__always)
    public func grab(_ folio: Folio, at page: Page, refs: Int32, fast: Bool, in machine: Machine) -> Errno? {
        if folio.hasPincount {
            if !fast { folio.refAdd(refs) }
            folio.pincountAdd(refs)
        } else {
            // The kernel's int multiplication wraps the same way.
            folio.refAdd(refs &* (fast ? GUPPin.countingBias - 1 : GUPPin.countingBias))
        }
        return nil
    }

    /// Linux: `gup_put_folio(folio, refs, FOLL_PIN)` [mm/gup.c:102-113]: `_pincount -=
    /// refs` then `folio_put_refs(refs)`, or `folio_put_refs(refs * 1024)`.
    @inline(__always)
    public func release(_ folio: Folio, at page: Page?, refs: Int32, in machine: Machine) {
        if folio.hasPincount {
            folio.pincountAdd(-refs)
            machine.folioPutRefs(folio, refs)
        } else {
            machine.folioPutRefs(folio, refs &* GUPPin.countingBias)
        }
    }

    /// Linux: `folio_add_pin()` [mm/gup.c:212-230], with its WARNs.
    public func addPin(_ folio: Folio, in machine: Machine) {
        if folio.hasPincount {
            if (folio.pincount ?? 0) < 1 {
                machine.diagnostics.recordOnce(site: "folio_add_pin: atomic_read(&folio->_pincount) < 1",
                                               Diagnostic(kind: .warn, pfn: UInt64(folio.pfn), reason: "folio_add_pin: WARN_ON_ONCE(atomic_read(&folio->_pincount) < 1)"))
            }
            folio.get()
            folio.pincountAdd(1)
        } else {
            if UInt32(bitPattern: folio.refcount) < UInt32(GUPPin.countingBias) {
                machine.diagnostics.recordOnce(site: "folio_add_pin: folio_ref_count(folio) < GUP_PIN_COUNTING_BIAS",
                                               Diagnostic(kind: .warn, pfn: UInt64(folio.pfn), reason: "folio_add_pin: WARN_ON_ONCE(folio_ref_count(folio) < GUP_PIN_COUNTING_BIAS)"))
            }
            folio.refAdd(GUPPin.countingBias)
        }
    }

    /// Linux: `folio_maybe_dma_pinned()` [include/linux/mm.h:2141-2157]: exact
    /// `_pincount > 0`, else `(unsigned)folio_ref_count(folio) >= GUP_PIN_COUNTING_BIAS`.
    @inline(__always)
    public func maybePinned(_ folio: Folio, in machine: Machine) -> Bool {
        if let pins = folio.pincount { return pins > 0 }
        return UInt32(bitPattern: folio.refcount) >= UInt32(GUPPin.countingBias)
    }

    public func referencesHeld(_ folio: Folio, pins: Int64, in machine: Machine) -> Int64 {
        folio.hasPincount ? pins : pins * Int64(GUPPin.countingBias)
    }
}
