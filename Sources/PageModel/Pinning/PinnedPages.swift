// A Swift-native pin token: `pin_user_pages()`'s result as a noncopyable value that must
// be given back with `unpin_user_pages_dirty_lock()` (mm/gup.c:300-360). Dropping it
// without unpinning is the kernel's pin leak, made visible.
import PageLayout

/// Pages pinned for DMA by one caller (`site`), as GUP returned them (proxies under the
/// proxy design). Consume it with `unpin(dirty:)`.
///
/// Dropped without `unpin`, its deinit records a `.leak` diagnostic naming the pinning
/// site and leaves the pins in place: a leaked pin in the kernel keeps the pages pinned
/// forever, and unpinning silently would both hide the bug and release pages a device
/// may still be writing to. The site's tally of outstanding pins keeps counting them,
/// and `leakedBySite` names where they came from.
public struct PinnedPages: ~Copyable, Sendable {
    /// The GUP results, one per pinned page.
    public let pages: [Page]
    /// Where the pin was taken ("file:line" by default).
    public let site: String
    /// Whether the pin is FOLL_LONGTERM.
    public let longterm: Bool
    let machine: Machine
    /// Pins this token holds (zero pages are not pinned).
    let pins: Int
    private var unpinned = false

    init(pages: [Page], site: String, longterm: Bool, machine: Machine, pins: Int) {
        self.pages = pages
        self.site = site
        self.longterm = longterm
        self.machine = machine
        self.pins = pins
    }

    public var count: Int { pages.count }

    /// Releases every pin, marking each folio dirty first if `dirty` (the DMA wrote to
    /// it). Linux: `unpin_user_pages_dirty_lock(pages, npages, dirty)`.
    public consuming func unpin(dirty: Bool = false) {
        machine.unpinUserPages(pages, makeDirty: dirty)
        machine.pins.sites.withLock { sites in
            let left = (sites.outstanding[site] ?? 0) - pins
            sites.outstanding[site] = left > 0 ? left : nil
        }
        unpinned = true
    }

    deinit {
        guard !unpinned else { return }
        machine.recordPinLeak(site: site, pages: pages, pins: pins)
    }
}

extension Machine {
    /// Pins every page of `pages` for DMA and returns the token that must unpin them.
    /// Linux: `pin_user_pages()` over pages already found (no page-table walk here):
    /// `try_grab_folio(page_folio(page), 1, FOLL_PIN)` per page, all or nothing; on an
    /// error the pages pinned so far are unpinned and the errno thrown. With `longterm`,
    /// a folio that is not longterm-pinnable (ZONE_MOVABLE, device coherent, fsdax) is
    /// refused with EAGAIN: FOLL_LONGTERM must migrate it first, which is GUP's job
    /// (`check_and_migrate_movable_pages()`).
    public func pinPages(_ pages: [Page], longterm: Bool = false, site: String? = nil,
                         file: String = #fileID, line: Int = #line) throws(Errno) -> PinnedPages {
        let site = site ?? "\(file):\(line)"
        var results: [Page] = []
        results.reserveCapacity(pages.count)
        var pinned = 0
        for page in pages {
            let real = pageBehind(page)
            if longterm, let folio = pageFolio(real), !folioIsLongtermPinnable(folio) {
                unpinUserPages(results)
                throw .EAGAIN
            }
            do {
                try tryGrabPage(real)
            } catch {
                unpinUserPages(results)
                throw error
            }
            if !isZeroPagePfn(real.pfn) { pinned += 1 }
            results.append(pins.tracker.gupResult(for: real, in: self))
        }
        let count = pinned
        pins.sites.withLock { $0.outstanding[site, default: 0] += count }
        return PinnedPages(pages: results, site: site, longterm: longterm, machine: self, pins: pinned)
    }

    /// A `PinnedPages` dropped without `unpin`: recorded, pins left in place.
    func recordPinLeak(site: String, pages: [Page], pins count: Int) {
        pins.counters.leakedTokens.add(1, ordering: .relaxed)
        pins.counters.leakedPins.add(count, ordering: .relaxed)
        pins.sites.withLock { $0.leaked[site, default: 0] += count }
        let pfns = pages.prefix(8).map { "0x" + String($0.pfn, radix: 16) }.joined(separator: ",")
        diagnostics.record(Diagnostic(kind: .leak, pfn: pages.first.map { UInt64($0.pfn) },
                                      reason: "PinnedPages pinned at \(site) dropped without unpin(): \(count) pin(s) left outstanding (pfns \(pfns)\(pages.count > 8 ? ",..." : ""))"))
    }
}
