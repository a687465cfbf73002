// The exported GUP entry points of mm/gup.c (v6.19, 3321-3410 and around):
// get_user_pages(), get_user_pages_fast(), get_user_pages_remote(), pin_user_pages(),
// pin_user_pages_fast(), pin_user_pages_remote(), each starting with
// is_valid_gup_args(). Results come back as the kernel's do: the pages taken (possibly
// fewer than asked: the count so far), or the errno when none was. Unlike the kernel's,
// these take the mmap_lock themselves; a model caller never holds it.

extension Process {
    /// Runs a GUP call into a fresh array and turns the kernel's `long` into pages or an
    /// errno.
    private func collect(_ nrPages: Int, _ body: (UnsafeMutablePointer<Page>) -> GUPCount) throws(Errno) -> [Page] {
        guard nrPages >= 0 else { throw .EINVAL }   // nr_pages is unsigned in the kernel
        guard nrPages > 0 else { return [] }
        var result: GUPCount = 0
        let pages = [Page](unsafeUninitializedCapacity: nrPages) { buffer, initialized in
            result = body(buffer.baseAddress!)
            initialized = max(0, result)
        }
        if result < 0 { throw Errno(rawValue: Int32(-result)) }
        return pages
    }

    /// Linux: `get_user_pages(start, nr_pages, gup_flags, pages)`: FOLL_GET references
    /// (release each with `put_page()`), FOLL_TOUCH; the slow path.
    public func getUserPages(start: UInt64, nrPages: Int, flags: FollFlags = []) throws(Errno) -> [Page] {
        var flags = flags
        guard machine.isValidGUPArgs(pages: true, locked: nil, flags: &flags, toSet: .touch) else { throw .EINVAL }
        let gupFlags = flags
        return try collect(nrPages) { pages in
            tables.gupLongtermLocked(start: start, nrPages: nrPages, flags: gupFlags, pages: pages)
        }
    }

    /// Linux: `get_user_pages_fast(start, nr_pages, gup_flags, pages)`: FOLL_GET through
    /// GUP-fast, the slow path for the rest.
    public func getUserPagesFast(start: UInt64, nrPages: Int, flags: FollFlags = []) throws(Errno) -> [Page] {
        var flags = flags
        guard machine.isValidGUPArgs(pages: true, locked: nil, flags: &flags, toSet: .get) else { throw .EINVAL }
        let gupFlags = flags
        return try collect(nrPages) { pages in
            tables.gupFastFallback(start: start, nrPages: nrPages, flags: gupFlags, pages: pages)
        }
    }

    /// Linux: `get_user_pages_remote(mm, start, nr_pages, gup_flags, pages, locked)`:
    /// FOLL_GET references on pages of `target`'s address space, with FOLL_TOUCH and
    /// FOLL_REMOTE (faults are FAULT_FLAG_REMOTE). `locked`, when given, must be 1.
    public func getUserPagesRemote(of target: Process, start: UInt64, nrPages: Int, flags: FollFlags = [],
                                   locked: Int? = nil) throws(Errno) -> [Page] {
        var flags = flags
        guard machine.isValidGUPArgs(pages: true, locked: locked, flags: &flags, toSet: [.touch, .remote]) else { throw .EINVAL }
        let gupFlags = flags
        return try collect(nrPages) { pages in
            target.tables.gupLongtermLocked(start: start, nrPages: nrPages, flags: gupFlags, pages: pages)
        }
    }

    /// Linux: `pin_user_pages(start, nr_pages, gup_flags, pages)`: FOLL_PIN through
    /// `__gup_longterm_locked()` (FOLL_LONGTERM migrates unpinnable folios first).
    /// Release with `machine.unpinUserPages(_:makeDirty:)`.
    public func pinUserPages(start: UInt64, nrPages: Int, flags: FollFlags = []) throws(Errno) -> [Page] {
        var flags = flags
        guard machine.isValidGUPArgs(pages: true, locked: nil, flags: &flags, toSet: .pin) else { throw .EINVAL }
        let gupFlags = flags
        return try collect(nrPages) { pages in
            tables.gupLongtermLocked(start: start, nrPages: nrPages, flags: gupFlags, pages: pages)
        }
    }

    /// Linux: `pin_user_pages_fast(start, nr_pages, gup_flags, pages)`: FOLL_PIN through
    /// GUP-fast, the slow path for the rest.
    public func pinUserPagesFast(start: UInt64, nrPages: Int, flags: FollFlags = []) throws(Errno) -> [Page] {
        var flags = flags
        guard machine.isValidGUPArgs(pages: true, locked: nil, flags: &flags, toSet: .pin) else { throw .EINVAL }
        let gupFlags = flags
        return try collect(nrPages) { pages in
            tables.gupFastFallback(start: start, nrPages: nrPages, flags: gupFlags, pages: pages)
        }
    }

    /// `pin_user_pages_fast()` into a caller's buffer, allocating nothing: the entry
    /// point for benchmarks. Returns the kernel's value: the pages pinned (the first
    /// ones of `pages`), or a negated errno (-EINVAL also when `pages` is shorter than
    /// `nrPages`). Release with `machine.unpinUserPages(UnsafeBufferPointer(rebasing:))`.
    public func pinUserPagesFast(start: UInt64, nrPages: Int, flags: FollFlags = [], into pages: UnsafeMutableBufferPointer<Page>) -> Int {
        var flags = flags
        guard machine.isValidGUPArgs(pages: true, locked: nil, flags: &flags, toSet: .pin) else { return gupErrno(.EINVAL) }
        guard nrPages <= pages.count, let base = pages.baseAddress else { return nrPages == 0 ? 0 : gupErrno(.EINVAL) }
        return tables.gupFastFallback(start: start, nrPages: nrPages, flags: flags, pages: base)
    }

    /// Linux: `pin_user_pages_remote(mm, start, nr_pages, gup_flags, pages, locked)`:
    /// FOLL_PIN with FOLL_TOUCH and FOLL_REMOTE on `target`'s address space.
    public func pinUserPagesRemote(of target: Process, start: UInt64, nrPages: Int, flags: FollFlags = [],
                                   locked: Int? = nil) throws(Errno) -> [Page] {
        var flags = flags
        guard machine.isValidGUPArgs(pages: true, locked: locked, flags: &flags, toSet: [.pin, .touch, .remote]) else { throw .EINVAL }
        let gupFlags = flags
        return try collect(nrPages) { pages in
            target.tables.gupLongtermLocked(start: start, nrPages: nrPages, flags: gupFlags, pages: pages)
        }
    }
}
