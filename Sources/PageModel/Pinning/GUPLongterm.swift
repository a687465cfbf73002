// FOLL_LONGTERM (mm/gup.c, v6.19): __gup_longterm_locked() 2465-2497 and
// check_and_migrate_movable_pages() → collect_longterm_unpinnable_folios() +
// migrate_longterm_unpinnable_folios() 2265-2434. Pages that must not stay pinned for
// long (CMA and isolated pageblocks, ZONE_MOVABLE, device-coherent; fsdax VMAs are
// refused with -EOPNOTSUPP by check_vma_flags() first) are unpinned, migrated out, and
// the whole range is pinned again.

extension UserPageTables {
    /// How often `__gup_longterm_locked()` re-pins a range whose folios keep needing
    /// migration before the model gives up with -ENOMEM (the kernel retries without
    /// bound; a folio that is never isolatable would hang it).
    static let longtermRetryLimit = 64

    /// Linux: `__gup_longterm_locked()`: without FOLL_LONGTERM, `__get_user_pages_locked()`.
    /// With it, inside `memalloc_pin_save()` (faults allocate without __GFP_MOVABLE): pin
    /// the range, then `check_and_migrate_movable_pages()`, again while that says -EAGAIN.
    /// Returns the pages pinned (all longterm-pinnable) or the errno.
    func gupLongtermLocked(start: UInt64, nrPages: Int, flags: FollFlags,
                           pages: UnsafeMutablePointer<Page>?) -> GUPCount {
        guard flags.contains(.longterm) else {
            return getUserPagesLocked(start: start, nrPages: nrPages, flags: flags, pages: pages, pinScope: false)
        }
        var rounds = 0
        while true {
            let pinned = getUserPagesLocked(start: start, nrPages: nrPages, flags: flags, pages: pages, pinScope: true)
            guard pinned > 0, let pages else { return pinned }
            let rc = machine.checkAndMigrateMovablePages(pages, count: pinned)
            if rc == 0 { return pinned }
            if rc != gupErrno(.EAGAIN) { return rc }
            rounds += 1
            if rounds >= Self.longtermRetryLimit {
                machine.diagnostics.record(Diagnostic(kind: .warn, reason: "__gup_longterm_locked: folios still not longterm-pinnable after \(rounds) migrations (the kernel would keep retrying): ENOMEM"))
                return gupErrno(.ENOMEM)
            }
        }
    }
}

extension Machine {
    /// Linux: `check_and_migrate_movable_pages(nr_pages, pages)`: 0 when every folio may
    /// stay pinned (they all do); otherwise every page is unpinned, the unpinnable
    /// folios are migrated (`migrate_pages(..., GFP_USER | __GFP_NOWARN,
    /// MR_LONGTERM_PIN)`) and -EAGAIN asks the caller to pin again; -ENOMEM if the
    /// migration failed, -EBUSY for a device-coherent folio that could not be moved.
    /// Under the lru-pinned designs a pinned folio is off its LRU and cannot be isolated
    /// while pinned: it is held by a reference and isolated after its last unpin.
    func checkAndMigrateMovablePages(_ pages: UnsafeMutablePointer<Page>, count: Int) -> GUPCount {
        // collect_longterm_unpinnable_folios()
        var collected = 0
        var isolated: [Folio] = []
        var previous: Folio?
        var isolateAfterUnpin: [Folio] = []
        let keepsPinnedOffLRU = pins.capabilities.keepsPinnedOffLRU
        for i in 0..<count {
            let page = proxyTarget(pages[i]) ?? pages[i]
            guard let folio = pageFolio(page) else { continue }
            if folio == previous { continue }
            previous = folio
            if folioIsLongtermPinnable(folio) { continue }
            collected += 1
            if folioIsDeviceCoherent(folio) { continue }
            // The model has no per-CPU LRU caches to drain (lru_add_drain_all()).
            if folioIsolateLRU(folio) {
                isolated.append(folio)
            } else if keepsPinnedOffLRU {
                // lru-pinned takes a pinned folio off its LRU and puts it back at the last
                // unpin: hold a reference now, isolate once the pins are gone.
                folio.get()
                isolateAfterUnpin.append(folio)
            }
        }
        guard collected > 0 else { return 0 }
        // migrate_longterm_unpinnable_folios()
        var next = 0
        var failure: Errno?
        while next < count {
            let entry = pages[next]
            next += 1
            let page = proxyTarget(entry) ?? entry
            guard let folio = pageFolio(page) else { continue }
            if folioIsDeviceCoherent(folio) {
                // Convert the pin to a reference (which migrate_device_coherent_folio()
                // drops), then move the folio to system memory; GUP retries afterwards.
                folio.get()
                gupPutFolio(folio, refs: 1, page: entry)
                do { try migrateDeviceCoherentFolio(folio) } catch {
                    failure = .EBUSY
                    break
                }
                continue
            }
            unpinUserPage(entry)   // unpin_folio() + pofs_clear_entry()
        }
        for folio in isolateAfterUnpin {
            if failure == nil, folioIsolateLRU(folio) { isolated.append(folio) }
            folioPut(folio)
        }
        if failure == nil, !isolated.isEmpty {
            let result = migrateIsolatedFolios(isolated, nid: nil, gfp: GFP.user.union(.nowarn))
            isolated = []
            if !result.failed.isEmpty { failure = .ENOMEM }
        }
        guard let failure else { return gupErrno(.EAGAIN) }
        // err: pofs_unpin() of what is still pinned, putback_movable_pages().
        if next < count { unpinUserPages(UnsafeBufferPointer(start: pages + next, count: count - next)) }
        for folio in isolated { folioPutbackLRU(folio) }
        return gupErrno(failure)
    }

    /// Linux: `folio_is_device_coherent()`.
    func folioIsDeviceCoherent(_ folio: Folio) -> Bool {
        guard isZoneDevice(folio.pfn) else { return false }
        return registry.object(at: folio.pgmap, as: DevPagemap.self)?.type == .deviceCoherent
    }
}
