// kernel/bpf/ringbuf.c (v6.19) bpf_ringbuf_area_alloc() and bpf_ringbuf_mmap_kern(): the
// consumer and producer pages, then the data pages mapped twice in a row, so that a
// record that wraps around the end of the ring reads as one contiguous range, to the
// kernel (its vmap) and to user space (its mmap).

/// A BPF-ringbuf-style double mapping. v6.19 allocates the pages itself
/// (`alloc_pages_node()`) and `vmap()`s meta + data + data with VM_MAP | VM_USERMAP, then
/// remaps that area; the model allocates them with `vmalloc_user()` (so every vmalloc
/// tracking option applies), double-maps them for the kernel with `vmap()` as the
/// ringbuf does, and gives user space the same double mapping with two
/// `remap_vmalloc_range_partial()` calls (the data pages once more after the first
/// copy).
enum BPFRingbuf {
    /// The consumer page and the producer page (RINGBUF_NR_META_PAGES).
    static let metaPages = 2
    static let dataPages = 8
    /// The mapping: meta, data, data again.
    static var mappedPages: Int { metaPages + 2 * dataPages }
    static var mappedAtFree: Int { mappedPages }

    static func run(_ d: VmallocDriverRun) {
        let page = UInt64(PagePattern.pageSize)
        guard let kaddr = d.vmallocUser(pages: metaPages + dataPages, caller: "bpf_ringbuf_area_alloc") else { return d.endDriver("bpf") }
        let pages = d.space.findVMArea(kaddr)?.pages ?? []
        let doubled = pages + pages[metaPages...]
        guard let ring = d.space.vmap(Array(doubled), caller: "bpf_ringbuf_area_alloc"),
              let uaddr = d.mmapDevice(pages: mappedPages, name: "bpf-ringbuf") else {
            d.run.fail("bpf ringbuf: vmap or mmap failed")
            d.space.vfree(kaddr)
            return d.endDriver("bpf")
        }
        let data = metaPages * PagePattern.pageSize, ringBytes = dataPages * PagePattern.pageSize
        if d.remap(uaddr: uaddr, kaddr: kaddr, pgoff: 0, pages: metaPages + dataPages, what: "bpf ringbuf"),
           d.remap(uaddr: uaddr + UInt64(metaPages + dataPages) * page, kaddr: kaddr, pgoff: metaPages, pages: dataPages,
                   what: "bpf ringbuf second copy") {
            // The producer fills the ring, then writes a record that wraps: it starts
            // half a page before the end and goes on, through the kernel's double
            // mapping, into the first data page.
            for i in 0..<dataPages {
                d.kernelProduces(at: ring + UInt64(data + i * PagePattern.pageSize), userSees: uaddr + UInt64(data + i * PagePattern.pageSize),
                                 what: "bpf data page \(i)")
            }
            d.verifyUser("bpf data")
            d.forgetExpected()
            let half = PagePattern.pageSize / 2
            let wrap = UInt64(data + ringBytes - half)
            let seed = d.run.seed()
            let record = PagePattern.bytes(seed)
            d.kernelWrite(record, at: ring + wrap)
            // User space reads the record across the wrap through its own double
            // mapping, and its tail at the start of the first copy: the same pages.
            read(d, uaddr + wrap, count: record.count, expected: record[...], what: "bpf record across the wrap")
            read(d, uaddr + UInt64(data), count: half, expected: record[half...], what: "bpf record's tail in the first copy")
            // The consumer position, written by user space, read by the kernel.
            d.userProduces(at: uaddr, kernelSees: kaddr, what: "bpf consumer page")
            d.verifyUser("bpf")
            d.space.vunmap(ring)
            // bpf_ringbuf_free() while user space still maps the ring.
            d.vfreeWhileMapped(kaddr)
            read(d, uaddr + wrap, count: record.count, expected: record[...], what: "bpf after vfree: record across the wrap")
        } else {
            d.space.vunmap(ring)
            d.vfreeWhileMapped(kaddr)
        }
        d.munmap(uaddr, pages: mappedPages, what: "bpf ringbuf")
        d.endDriver("bpf")
    }

    private static func read(_ d: VmallocDriverRun, _ address: UInt64, count: Int, expected: ArraySlice<UInt8>, what: String) {
        do {
            d.run.check(try d.process.read(address, count: count), expected: expected, what: what)
        } catch {
            d.run.unreadable(what, error)
        }
    }
}
