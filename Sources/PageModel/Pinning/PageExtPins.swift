// Seeds 000 (option 4) and 002: the pin flag and an exact count in a page_ext client
// (mm/page_ext.c), so struct page stays 64 bytes and every pfn pays page_ext instead.
// The entry is found by `page_ext_lookup()`; memory without page_ext (ZONE_DEVICE,
// which is never onlined) cannot be pinned under this design.
import PageLayout

/// The `page-ext` design. A class, as the other designs with locks are, so that the GUP
/// hot paths hold it unmanaged (`HotTracker`) and call it without a retain.
public final class PageExtPins: PinTracker {
    public static var capabilities: PinCapabilities { PinCapabilities(tracksExactly: true) }
    public var design: Design { .pageExt }
    /// PageDmaPinned: bit 0 of the client's `dma_pinned_flags` (Layouts.pageExt's rule).
    public static let pageDmaPinned: UInt32 = 1 << 0
    /// Offsets of `dma_pinned_flags`/`dma_pinned_count` from the client's data, from
    /// the layout.
    let flagsWithin: Int
    let countWithin: Int
    let locks = StripedLocks()

    /// The client's `dma_pinned_flags` and `dma_pinned_count`, from the layout.
    public static func pageExtClientBytes(_ config: LayoutConfig) -> Int {
        let ext = Layouts.pageExt(config)
        return ext.size - (ext.offset(of: "dma_pinned_flags") ?? ext.size)
    }

    public init(_ setup: PinTrackerSetup) {
        let ext = Layouts.pageExt(setup.config)
        let flags = ext.offset(of: "dma_pinned_flags") ?? 0
        flagsWithin = 0
        countWithin = (ext.offset(of: "dma_pinned_count") ?? flags + 4) - flags
    }

    /// The pin client's data of a pfn, or nil without an entry: the kernel's
    /// `page_ext_data(page_ext_get(page), &page_dma_pin_ops)`, i.e. the section's table
    /// base plus `pfn * page_ext_size` plus the client's offset (`PageExtStore.pinClient`),
    /// with no lock, hashing or allocation on the way.
    @inline(__always)
    func client(_ pfn: Int, in machine: Machine) -> DescriptorBytes? {
        machine.pageExt?.pinClient(pfn: pfn, context: machine.context)
    }

    public func grab(_ folio: Folio, at page: Page, refs: Int32, fast: Bool, in machine: Machine) -> Errno? {
        guard let data = client(folio.pfn, in: machine) else {
            machine.diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(folio.pfn), reason: "page-ext: no page_ext entry for this pfn (ZONE_DEVICE or offline memory): cannot pin (ENOMEM)"))
            return .ENOMEM
        }
        // The count and the flag change together under the folio's stripe lock, taken
        // and dropped in straight line (no closure context per pin).
        locks.lock(folio.pfn)
        data.atomicAdd(countWithin, refs)
        data.setUInt32(flagsWithin, data.uint32(flagsWithin) | Self.pageDmaPinned)
        locks.unlock(folio.pfn)
        if !fast { folio.refAdd(refs) }
        return nil
    }

    public func release(_ folio: Folio, at page: Page?, refs: Int32, in machine: Machine) {
        if let data = client(folio.pfn, in: machine) {
            locks.lock(folio.pfn)
            if data.atomicSubReturn(countWithin, refs) <= 0 {
                data.setUInt32(flagsWithin, data.uint32(flagsWithin) & ~Self.pageDmaPinned)
            }
            locks.unlock(folio.pfn)
        }
        machine.folioPutRefs(folio, refs)
    }

    public func addPin(_ folio: Folio, in machine: Machine) {
        guard let data = client(folio.pfn, in: machine) else { return }
        locks.withLock(folio.pfn) { data.atomicAdd(countWithin, 1) }
        folio.get()
    }

    public func maybePinned(_ folio: Folio, in machine: Machine) -> Bool {
        guard let data = client(folio.pfn, in: machine) else { return false }
        return data.uint32(flagsWithin) & Self.pageDmaPinned != 0
    }

    public func referencesHeld(_ folio: Folio, pins: Int64, in machine: Machine) -> Int64 { pins }

    /// The client's count of a pfn as stored (tests), nil without an entry.
    public func count(pfn: Int, in machine: Machine) -> Int32? {
        client(pfn, in: machine).map { $0.atomic(countWithin) }
    }
}
