// io_uring's shared rings (io_uring/io_uring.c io_allocate_scq_urings(), io_uring/memmap.c
// io_uring_mmap()): the SQ and CQ rings in one area, the SQE array in another, each
// mmap()ed by user space at its IORING_OFF_* offset; user space writes SQEs and the SQ
// tail, the kernel reads them and posts CQEs.

/// An io_uring-style pair of regions. v6.19 allocates region pages itself
/// (`io_create_region()`: the page allocator, then `vmap()`) and maps them with
/// `vm_insert_pages()` (`io_region_mmap()`); the model's driver uses `vmalloc_user()` and
/// `remap_vmalloc_range()`, as io_uring did with its rings before regions, so that every
/// vmalloc tracking option applies (both insert one page reference per PTE on mainline).
enum IoUringRings {
    /// struct io_rings (heads, tails, flags) and the CQE array: IORING_FEAT_SINGLE_MMAP
    /// maps SQ and CQ rings together.
    static let ringPages = 2
    /// 64 SQEs of 64 bytes.
    static let sqePages = 1
    static var mappedAtFree: Int { ringPages + sqePages }

    static func run(_ d: VmallocDriverRun) {
        let page = UInt64(PagePattern.pageSize)
        guard let rings = d.vmallocUser(pages: ringPages, caller: "io_allocate_scq_urings"),
              let sqes = d.vmallocUser(pages: sqePages, caller: "io_allocate_scq_urings") else { return d.endDriver("io_uring") }
        // mmap(IORING_OFF_SQ_RING) and mmap(IORING_OFF_SQES).
        let ringsUser = d.mmapDevice(pages: ringPages, name: "[io_uring]")
        let sqesUser = d.mmapDevice(pages: sqePages, name: "[io_uring]")
        if let ringsUser, let sqesUser,
           d.remap(uaddr: ringsUser, kaddr: rings, pgoff: 0, pages: ringPages, what: "io_uring rings"),
           d.remap(uaddr: sqesUser, kaddr: sqes, pgoff: 0, pages: sqePages, what: "io_uring sqes") {
            // io_uring_enter(): the kernel consumes the SQEs and the SQ tail ...
            d.userProduces(at: sqesUser, kernelSees: sqes, what: "io_uring SQEs")
            d.userProduces(at: ringsUser, kernelSees: rings, what: "io_uring SQ ring")
            // ... and posts CQEs (io_cqe_cache_refill()) that user space reaps.
            d.kernelProduces(at: rings + page, userSees: ringsUser + page, what: "io_uring CQ ring")
            d.verifyUser("io_uring")
        }
        // io_ring_ctx_free() while the rings are still mapped.
        d.vfreeWhileMapped(rings)
        d.vfreeWhileMapped(sqes)
        d.verifyUser("io_uring after vfree")
        if let ringsUser { d.munmap(ringsUser, pages: ringPages, what: "io_uring rings") }
        if let sqesUser { d.munmap(sqesUser, pages: sqePages, what: "io_uring sqes") }
        d.endDriver("io_uring")
    }
}
