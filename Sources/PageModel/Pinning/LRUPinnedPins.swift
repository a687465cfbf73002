// J. Hubbard, "[PATCH v2 5/6] mm: track gup pages with page->dma_pinned_* fields"
// (Jul 2018, seed 002): pinning takes the page off the LRU and keeps
// `dma_pinned_flags`/`dma_pinned_count` in the `lru` words, valid only while off it;
// the last unpin puts it back. On ZONE_DEVICE pages those words are the folio's `pgmap`
// and `zone_device_data` (seed 001: "page->pgmap and page->hmm_data both get
// corrupted"), and the model really overwrites them. `lru-pinned-rearranged` uses
// M. Wilcox's re-ordered ZONE_DEVICE arm, where pgmap moved out of the lru words.
import PageLayout
import Synchronization

/// The `lru-pinned` and `lru-pinned-rearranged` designs: the same tracking over two
/// layouts (they differ only in the ZONE_DEVICE arm, which `ModelLayout` resolves).
public final class LRUPinnedPins: PinTracker {
    public static var capabilities: PinCapabilities { PinCapabilities(tracksExactly: true, keepsPinnedOffLRU: true) }
    public let design: Design
    /// PageDmaPinned: bit 1 of `dma_pinned_flags` (bit 0 is PageTail's, and a list
    /// pointer in lru.next is at least 4-byte aligned, so bit 1 reads clear on an LRU
    /// page: seed 002, "dma_pinned_flags, at least starting at bit 1, are safe to look
    /// at due to pointer alignment").
    public static let pageDmaPinned: UInt64 = 1 << 1
    /// PageDmaPinnedWasLru: the page was on an LRU when first pinned (bit 2; on 32-bit a
    /// 4-byte aligned pointer may have it set, which is the patch's 32-bit hazard).
    public static let pageDmaPinnedWasLru: UInt64 = 1 << 2
    let flagsOffset: Int
    let countOffset: Int
    let lruOffset: Int
    let pgmapOffset: Int
    /// The ZONE_DEVICE fields the pin words overlay, from the layout (none when rearranged).
    public let zoneDeviceVictims: [String]
    let locks = StripedLocks()
    /// ZONE_DEVICE folios pinned at least once: the pgmap they had, and whether its
    /// damage was reported. The model's check, not part of the design.
    private let device = ModelMutex<[Int: (pgmap: UInt64, reported: Bool)]>([:])

    public init(_ setup: PinTrackerSetup) {
        let design = setup.design, layout = setup.layout, config = setup.config
        self.design = design
        flagsOffset = layout.lruDmaPinnedFlags
        countOffset = layout.lruDmaPinnedCount
        lruOffset = layout.folioLru
        pgmapOffset = layout.folioPgmap
        let page = Layouts.structPage(config, design: design)
        zoneDeviceVictims = flagsOffset < 0 ? [] : page.fields(overlapping: flagsOffset, size: 2 * config.wordSize)
            .filter { $0.arm == "zone_device" && $0.kind != .padding }.map(\.name)
    }

    public func grab(_ folio: Folio, at page: Page, refs: Int32, fast: Bool, in machine: Machine) -> Errno? {
        guard flagsOffset >= 0, countOffset >= 0 else { return .ENOMEM }
        let head = folio.headPage
        let isDevice = machine.isZoneDevice(folio.pfn)
        // The patch's zone_gup_lock, then the lru_lock: taken and dropped in straight
        // line, as the kernel's spin_lock()/spin_unlock() (no closure context per pin).
        locks.lock(folio.pfn)
        if isDevice { noteDevicePin(folio, head, in: machine) }
        // Deliberate difference: the words are read and written under the lru_lock.
        // In the patch an isolator could put the folio back on an LRU between a
        // failed isolate_lru_page() and SetPageDmaPinned(), which then overwrites
        // links of a live LRU list; the model keeps that damage out of its lists (it
        // would bring the whole model down) and keeps the damage it can show: the
        // pin state written over the lru words of a folio someone else has isolated,
        // lost when they put it back. A PageDmaPinned folio is never on an LRU.
        let vec = machine.folioLruvecLock(folio)
        var wasLru = false
        if let vec { wasLru = machine.isolateLRULocked(folio, vec) }
        if wasLru || head.word(flagsOffset) & Self.pageDmaPinned == 0 {
            head.setWord(flagsOffset, Self.pageDmaPinned | (wasLru ? Self.pageDmaPinnedWasLru : 0))
            head.setWord(countOffset, 0)
        }
        head.atomicAdd(countOffset, refs)
        if let vec { machine.lruvecUnlock(vec) }
        locks.unlock(folio.pfn)
        if !fast { folio.refAdd(refs) }
        return nil
    }

    /// A ZONE_DEVICE folio being pinned (its stripe lock held): the audit of its pgmap,
    /// and the pgmap it has now remembered on its first pin (cold: device pages only).
    @inline(never)
    private func noteDevicePin(_ folio: Folio, _ head: Page, in machine: Machine) {
        audit(folio, in: machine)
        if head.word(flagsOffset) & Self.pageDmaPinned == 0 {
            device.withLock { if $0[folio.pfn] == nil { $0[folio.pfn] = (folio.pgmap, false) } }
        }
    }

    public func release(_ folio: Folio, at page: Page?, refs: Int32, in machine: Machine) {
        let head = folio.headPage
        locks.lock(folio.pfn)
        // Under the lru_lock too (the model's, as in grab): the words are read and
        // written only while nothing can relink them. The putback_lru_page() of the
        // last unpin is made under the same hold (one lru_lock round trip per unpin,
        // as the patch's putback takes it once), inside zone_gup_lock as the patch
        // does: a pin racing the last unpin finds the folio either still pinned or
        // back on its LRU.
        let vec = machine.folioLruvecLock(folio)
        let flags = head.word(flagsOffset)
        var putback = false
        if flags & Self.pageDmaPinned == 0 {
            machine.diagnostics.record(Diagnostic(kind: .warn, pfn: UInt64(folio.pfn), reason: "put_user_page: page is not PageDmaPinned (its lru words were rewritten)"))
        } else if head.atomicSubReturn(countOffset, refs) <= 0 {
            // The last pin: INIT_LIST_HEAD(&page->lru) and back on the LRU if it was.
            machine.context.listInit(folio.address &+ UInt64(lruOffset))
            putback = flags & Self.pageDmaPinnedWasLru != 0
        }
        if let vec {
            if putback { machine.addLRULocked(folio, vec) }
            machine.lruvecUnlock(vec)
            // folio_putback_lru()'s put of the isolation reference, after the lru_lock.
            if putback { machine.folioPut(folio) }
        } else if putback {
            machine.folioPutbackLRU(folio)
        }
        if machine.isZoneDevice(folio.pfn) { audit(folio, in: machine) }
        locks.unlock(folio.pfn)
        machine.folioPutRefs(folio, refs)
    }

    /// One more pin, as the first one is taken (the folio's pin state may have been
    /// lost to a putback since).
    public func addPin(_ folio: Folio, in machine: Machine) {
        _ = grab(folio, at: folio.headPage, refs: 1, fast: false, in: machine)
    }

    /// `PageDmaPinned(page)`: bit 1 of the head's `dma_pinned_flags`.
    public func maybePinned(_ folio: Folio, in machine: Machine) -> Bool {
        guard flagsOffset >= 0 else { return false }
        if machine.isZoneDevice(folio.pfn) { locks.withLock(folio.pfn) { audit(folio, in: machine) } }
        return folio.headPage.word(flagsOffset) & Self.pageDmaPinned != 0
    }

    /// One reference per pin, and the isolation reference while a page taken off the
    /// LRU is pinned.
    public func referencesHeld(_ folio: Folio, pins: Int64, in machine: Machine) -> Int64 {
        let flags = folio.headPage.word(flagsOffset)
        return pins + (flags & Self.pageDmaPinned != 0 && flags & Self.pageDmaPinnedWasLru != 0 ? 1 : 0)
    }

    /// `dma_pinned_count` as stored in the head's lru.prev word (tests, dumps).
    public func count(of folio: Folio) -> Int32 { folio.headPage.atomic(countOffset) }

    /// The model's check of a ZONE_DEVICE folio's `pgmap` (the caller holds the folio's
    /// stripe lock): a value other than the dev_pagemap it had when first pinned is
    /// reported once as a corruption naming the pfn and the fields.
    private func audit(_ folio: Folio, in machine: Machine) {
        let now = folio.pgmap
        let was: UInt64? = device.withLock { table in
            guard let entry = table[folio.pfn], !entry.reported, entry.pgmap != now else { return nil }
            table[folio.pfn] = (entry.pgmap, true)
            return entry.pgmap
        }
        guard let was else { return }
        machine.pins.counters.corruptions.add(1, ordering: .relaxed)
        let fields = (["folio->pgmap (offset \(pgmapOffset))"] + zoneDeviceVictims.filter { $0 != "_unused_pgmap_compound_head" }).joined(separator: ", ")
        machine.diagnostics.record(Diagnostic(
            kind: .corruption, pfn: UInt64(folio.pfn),
            reason: "\(design): ZONE_DEVICE \(fields) overwritten by dma_pinned_flags/dma_pinned_count: pgmap reads 0x\(String(now, radix: 16)), was dev_pagemap 0x\(String(was, radix: 16))",
            dump: machine.dumpPage(folio.headPage)))
    }
}
