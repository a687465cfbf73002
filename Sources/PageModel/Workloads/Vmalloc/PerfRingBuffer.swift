// kernel/events/ring_buffer.c (v6.19) rb_alloc(), the CONFIG_PERF_USE_VMALLOC variant: one
// vmalloc_user() of the user page and 2^n data pages, mapped into the process that
// mmap()s the event; the kernel writes records, user space reads them and writes
// data_tail back.

/// A perf-style ring buffer. v6.19 maps it in advance in `map_range()`
/// (kernel/events/core.c) with `remap_pfn_range()` as a VM_PFNMAP, relying on its own
/// `mmap_count` rather than page references; the model maps it with
/// `remap_vmalloc_range()`, the driver pattern seed 004 is about (and perf's own before
/// "perf: map pages in advance", whose fault handler inserted `vmalloc_to_page()` pages).
enum PerfRingBuffer {
    /// `nr_pages` data pages, a power of two (`rb->page_order = ilog2(nr_pages)`).
    static let dataPagesOrder = 4
    /// The user page (`struct perf_event_mmap_page`) and the data pages.
    static var pages: Int { 1 + (1 << dataPagesOrder) }
    /// User PTEs mapping the area when the driver frees it.
    static var mappedAtFree: Int { pages }

    static func run(_ d: VmallocDriverRun) {
        guard let kaddr = d.vmallocUser(pages: pages, caller: "rb_alloc"),
              let uaddr = d.mmapDevice(pages: pages, name: "perf_event") else { return d.endDriver("perf") }
        let page = UInt64(PagePattern.pageSize)
        if d.remap(uaddr: uaddr, kaddr: kaddr, pgoff: 0, pages: pages, what: "perf") {
            // perf_output_begin()/perf_output_copy(): records fill every data page.
            for i in 1..<pages {
                d.kernelProduces(at: kaddr + UInt64(i) * page, userSees: uaddr + UInt64(i) * page, what: "perf data page \(i)")
            }
            // User space advances data_tail in the user page; the kernel reads it
            // (perf_output_space()).
            d.userProduces(at: uaddr, kernelSees: kaddr, what: "perf user page")
            d.verifyUser("perf")
        }
        // The buffer freed while still mmap()ed (rb_free() with the mapping alive).
        d.vfreeWhileMapped(kaddr)
        d.verifyUser("perf after vfree")
        d.munmap(uaddr, pages: pages, what: "perf")
        d.endDriver("perf")
    }
}
