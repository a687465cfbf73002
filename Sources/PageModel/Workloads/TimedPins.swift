// The timed pin_user_pages_fast() + unpin_user_pages() loop that workloads report as ns
// per page (the pins workload over anonymous memory, the vmalloc workload over a
// remapped vmalloc buffer).

extension Process {
    /// `pin_user_pages_fast(FOLL_WRITE)` + `unpin_user_pages()` over `count` pages at
    /// `start`, into a preallocated array (the non-allocating entry point): one warm-up
    /// round, then the best of `rounds`, in ns per page. `nsPerPage` is nil when a round
    /// pinned fewer than `count` pages (`pinned` says how many; a negated errno where GUP
    /// refused).
    func timedPinFast(start: UInt64, count: Int, rounds: Int) -> (nsPerPage: Double?, pinned: Int) {
        let buffer = UnsafeMutableBufferPointer<Page>.allocate(capacity: count)
        defer { buffer.deallocate() }
        let clock = ContinuousClock()
        var best = Duration.seconds(1_000)
        for round in 0...rounds {
            var pinned = 0
            let elapsed = clock.measure {
                pinned = pinUserPagesFast(start: start, nrPages: count, flags: .write, into: buffer)
                if pinned > 0 { machine.unpinUserPages(UnsafeBufferPointer(rebasing: buffer[0..<pinned])) }
            }
            guard pinned == count else { return (nil, pinned) }
            if round > 0 { best = min(best, elapsed) }
        }
        return (best.seconds * 1e9 / Double(count), count)
    }
}
