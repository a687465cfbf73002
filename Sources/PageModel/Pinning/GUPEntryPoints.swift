// The exported GUP entry points of mm/gup.c (v6.19, 3321-3410 and around):
// get_user_pages(), get_user_pages_fast(), get_user_pages_remote(), pin_user_pages(),
// pin_user_pages_fast(), pin_user_pages_remote(), each starting with
// is_valid_gup_args(). Results come back as the kernel's do: the pages taken (possibly
// fewer than asked: the count so far), or the errno when none was. Unlike the kernel's,
// these take the mmap_lock themselves; a model caller never holds it.

extension Process {
    /// Runs a GUP call into a fresh array and turns the kernel's `long` into pages or an
    /// errno. `nrPages` is what the entry point hands on: see `slowPathCount` and
    /// `fastPathCount` for what a negative count becomes.
    private func collect(_ nrPages: Int, _ body: (UnsafeMutablePointer<Page>) -> GUPCount) throws(Errno) -> [Page] {
        guard nrPages != 0 else { return [] }
        var result: GUPCount = 0
        // A negative count reaches only gup_fast_fallback(), which refuses it before
        // touching the array (-EOVERFLOW or -EFAULT): one slot is enough then.
        let pages = [Page](unsafeUninitializedCapacity: max(nrPages, 1)) { buffer, initialized in
            result = body(buffer.baseAddress!)
            initialized = max(0, result)
        }
        if result < 0 { throw Errno(rawValue: Int32(-result)) }
        return pages
    }

    /// The `unsigned long nr_pages` of get_user_pages(), get_user_pages_remote(),
    /// pin_user_pages() and pin_user_pages_remote(): a negative count is a huge unsigned
    /// one (v6.19 has no check), and `__get_user_pages()` walks until the first address
    /// no VMA covers, returning what it took there (or -EFAULT when that is `start`).
    /// The model bounds the count by the VMAs contiguous from `start`, which the walk
    /// cannot pass, so that its result array is finite; the kernel would write that many
    /// entries into the caller's array whatever its size.
    private func slowPathCount(_ target: Process, start: UInt64, _ nrPages: Int) -> Int {
        guard nrPages < 0 else { return nrPages }
        let covered = target.mm.mmapLock.withReadLock { () -> UInt64 in
            var addr = start & ~(UserVM.pageSize - 1)
            while let vma = target.mm.lockedVMALookup(addr) { addr = vma.end }
            return (addr &- (start & ~(UserVM.pageSize - 1))) >> UserVM.pageShift
        }
        return Int(min(UInt64(bitPattern: Int64(nrPages)), max(covered, 1)))
    }

    /// The `int nr_pages` of get_user_pages_fast() and pin_user_pages_fast(): a Swift
    /// `Int` is narrowed to 32 bits as a C caller's `long` would be, and a negative
    /// `int` becomes a huge `unsigned long` in gup_fast_fallback(), whose range check then
    /// returns -EOVERFLOW or -EFAULT.
    @inline(__always)
    private func fastPathCount(_ nrPages: Int) -> Int { Int(Int32(truncatingIfNeeded: nrPages)) }

    /// Linux: `get_user_pages(start, nr_pages, gup_flags, pages)`: FOLL_GET references
    /// (release each with `put_page()`), FOLL_TOUCH; the slow path.
    public func getUserPages(start: UInt64, nrPages: Int, flags: FollFlags = []) throws(Errno) -> [Page] {
        var flags = flags
        guard machine.isValidGUPArgs(pages: true, locked: nil, flags: &flags, toSet: .touch) else { throw .EINVAL }
        let gupFlags = flags
        let count = slowPathCount(self, start: start, nrPages)
        return try collect(count) { pages in
            tables.gupLongtermLocked(start: start, nrPages: count, flags: gupFlags, pages: pages)
        }
    }

    /// Linux: `get_user_pages_fast(start, nr_pages, gup_flags, pages)`: FOLL_GET through
    /// GUP-fast, the slow path for the rest.
    public func getUserPagesFast(start: UInt64, nrPages: Int, flags: FollFlags = []) throws(Errno) -> [Page] {
        var flags = flags
        guard machine.isValidGUPArgs(pages: true, locked: nil, flags: &flags, toSet: .get) else { throw .EINVAL }
        let gupFlags = flags
        let count = fastPathCount(nrPages)
        return try collect(count) { pages in
            tables.gupFastFallback(start: start, nrPages: count, flags: gupFlags, pages: pages)
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
        let count = slowPathCount(target, start: start, nrPages)
        return try collect(count) { pages in
            target.tables.gupLongtermLocked(start: start, nrPages: count, flags: gupFlags, pages: pages)
        }
    }

    /// Linux: `pin_user_pages(start, nr_pages, gup_flags, pages)`: FOLL_PIN through
    /// `__gup_longterm_locked()` (FOLL_LONGTERM migrates unpinnable folios first).
    /// Release with `machine.unpinUserPages(_:makeDirty:)`.
    /// A request `is_valid_gup_args()` refuses returns 0 pages (an empty array), not
    /// -EINVAL: v6.19's `pin_user_pages()` says `return 0;` there [mm/gup.c].
    public func pinUserPages(start: UInt64, nrPages: Int, flags: FollFlags = []) throws(Errno) -> [Page] {
        var flags = flags
        guard machine.isValidGUPArgs(pages: true, locked: nil, flags: &flags, toSet: .pin) else { return [] }
        let gupFlags = flags
        let count = slowPathCount(self, start: start, nrPages)
        return try collect(count) { pages in
            tables.gupLongtermLocked(start: start, nrPages: count, flags: gupFlags, pages: pages)
        }
    }

    /// Linux: `pin_user_pages_fast(start, nr_pages, gup_flags, pages)`: FOLL_PIN through
    /// GUP-fast, the slow path for the rest.
    public func pinUserPagesFast(start: UInt64, nrPages: Int, flags: FollFlags = []) throws(Errno) -> [Page] {
        var flags = flags
        guard machine.isValidGUPArgs(pages: true, locked: nil, flags: &flags, toSet: .pin) else { throw .EINVAL }
        let gupFlags = flags
        let count = fastPathCount(nrPages)
        return try collect(count) { pages in
            tables.gupFastFallback(start: start, nrPages: count, flags: gupFlags, pages: pages)
        }
    }

    /// `pin_user_pages_fast()` into a caller's buffer, allocating nothing: the entry
    /// point for benchmarks. Returns the kernel's value: the pages pinned (the first
    /// ones of `pages`), or a negated errno (-EINVAL also when `pages` is shorter than
    /// `nrPages`). Release with `machine.unpinUserPages(UnsafeBufferPointer(rebasing:))`.
    public func pinUserPagesFast(start: UInt64, nrPages: Int, flags: FollFlags = [], into pages: UnsafeMutableBufferPointer<Page>) -> Int {
        var flags = flags
        guard machine.isValidGUPArgs(pages: true, locked: nil, flags: &flags, toSet: .pin) else { return gupErrno(.EINVAL) }
        let count = fastPathCount(nrPages)
        guard count <= pages.count, let base = pages.baseAddress else { return count == 0 ? 0 : gupErrno(.EINVAL) }
        return tables.gupFastFallback(start: start, nrPages: count, flags: flags, pages: base)
    }

    /// Linux: `pin_user_pages_remote(mm, start, nr_pages, gup_flags, pages, locked)`:
    /// FOLL_PIN with FOLL_TOUCH and FOLL_REMOTE on `target`'s address space. A request
    /// `is_valid_gup_args()` refuses returns 0 pages, as in v6.19.
    public func pinUserPagesRemote(of target: Process, start: UInt64, nrPages: Int, flags: FollFlags = [],
                                   locked: Int? = nil) throws(Errno) -> [Page] {
        var flags = flags
        // v6.19's pin_user_pages_remote() returns 0 here too, not -EINVAL.
        guard machine.isValidGUPArgs(pages: true, locked: locked, flags: &flags, toSet: [.pin, .touch, .remote]) else { return [] }
        let gupFlags = flags
        let count = slowPathCount(target, start: start, nrPages)
        return try collect(count) { pages in
            target.tables.gupLongtermLocked(start: start, nrPages: count, flags: gupFlags, pages: pages)
        }
    }
}
