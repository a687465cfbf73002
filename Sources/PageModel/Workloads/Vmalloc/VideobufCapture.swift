// drivers/media/common/videobuf2/videobuf2-vmalloc.c (v6.19): vb2_vmalloc_alloc()
// (`buf->vaddr = vmalloc_user(buf->size)`) and vb2_vmalloc_mmap()
// (`remap_vmalloc_range(vma, buf->vaddr, 0)`): a capture buffer the device fills, which
// user space then hands to O_DIRECT, so that GUP pins vmalloc pages
// (iov_iter_extract_pages() → pin_user_pages_fast()).

/// A videobuf2-vmalloc-style capture buffer written to and read from a disk file with
/// O_DIRECT, then freed while a pin of a later O_DIRECT request still holds it.
enum VideobufCapture {
    /// One frame: 1 MiB (a 1280x720 YUV 4:2:0 frame is 1.3 MiB; a power of two keeps
    /// the timing's page count round).
    static let pages = 256
    /// User PTEs mapping the buffer when the driver frees it.
    static var mappedAtFree: Int { pages }
    /// O_DIRECT requests, each pinning the whole buffer: a write (pin_user_pages_fast),
    /// a read into it (pin_user_pages, the slow path), and the request in flight at
    /// vfree() (pin_user_pages_fast).
    static let pinRequests = 3
    /// The timing: a warm-up and three timed rounds of pin_user_pages_fast +
    /// unpin_user_pages over the buffer, the best kept.
    static let timedRounds = 3

    static func run(_ d: VmallocDriverRun) {
        let page = UInt64(PagePattern.pageSize)
        guard let kaddr = d.vmallocUser(pages: pages, caller: "vb2_vmalloc_alloc"),
              let uaddr = d.mmapDevice(pages: pages, name: "video0") else { return d.endDriver("videobuf2") }
        guard d.remap(uaddr: uaddr, kaddr: kaddr, pgoff: 0, pages: pages, what: "videobuf2") else {
            d.vfreeWhileMapped(kaddr)
            d.munmap(uaddr, pages: pages, what: "videobuf2")
            return d.endDriver("videobuf2")
        }
        // The device captures a frame (vb2_plane_vaddr(): the kernel's view).
        let frame = (0..<pages).map { i in
            d.kernelProduces(at: kaddr + UInt64(i) * page, userSees: uaddr + UInt64(i) * page, what: "video frame page \(i)")
        }
        d.verifyUser("videobuf2")
        // write(O_DIRECT) of the frame: the disk reads the pinned pages.
        if let pinned = pin(d, uaddr, fast: true, write: false) {
            for (i, got) in pinned.enumerated() {
                let pfn = (d.machine.proxyTarget(got) ?? got).pfn
                guard let bytes = d.machine.frames.read(pfn: pfn, count: PagePattern.pageSize) else {
                    d.run.unreadable("videobuf2 O_DIRECT write: pfn \(pfn)", Errno.EFAULT)
                    continue
                }
                d.run.check(bytes, seed: frame[i], what: "videobuf2 O_DIRECT write: the disk's view of page \(i)")
            }
            d.machine.unpinUserPages(pinned)
        }
        // read(O_DIRECT) into the buffer: the disk writes the pinned pages.
        if let pinned = pin(d, uaddr, fast: false, write: true) {
            dma(d, pinned, uaddr, what: "O_DIRECT read")
            d.machine.unpinUserPages(pinned, makeDirty: true)
        }
        timeGUP(d, uaddr)
        // A third request is in flight when the driver frees the buffer
        // (VIDIOC_REQBUFS(0) with the buffer still mapped and pinned): the DMA then
        // completes into the pages, and user space reads them.
        let inFlight = pin(d, uaddr, fast: true, write: true)
        d.vfreeWhileMapped(kaddr)
        if let inFlight {
            dma(d, inFlight, uaddr, what: "O_DIRECT read completing after vfree")
            d.machine.unpinUserPages(inFlight, makeDirty: true)
        }
        d.verifyUser("videobuf2 after vfree")
        d.munmap(uaddr, pages: pages, what: "videobuf2")
        d.endDriver("videobuf2")
    }

    /// FOLL_PIN of the whole buffer; nil (and the pages counted as refused) where GUP
    /// refuses the mapping.
    private static func pin(_ d: VmallocDriverRun, _ uaddr: UInt64, fast: Bool, write: Bool) -> [Page]? {
        do {
            let flags: FollFlags = write ? .write : []
            let pinned = fast ? try d.process.pinUserPagesFast(start: uaddr, nrPages: pages, flags: flags)
                              : try d.process.pinUserPages(start: uaddr, nrPages: pages, flags: flags)
            d.pinnedPages += pinned.count
            guard pinned.count == pages else {
                d.run.fail("videobuf2: pinned \(pinned.count) of \(pages) pages")
                d.machine.unpinUserPages(pinned)
                return nil
            }
            return pinned
        } catch .EEXIST {
            d.refusedPages += pages
            return nil
        } catch {
            d.run.fail("videobuf2: pin_user_pages\(fast ? "_fast" : ""): \(error)")
            return nil
        }
    }

    /// The disk's DMA into the pinned pages (through the pages GUP returned, proxies
    /// resolved), which user space must then read.
    private static func dma(_ d: VmallocDriverRun, _ pinned: [Page], _ uaddr: UInt64, what: String) {
        d.forgetExpected()
        for (i, got) in pinned.enumerated() {
            let seed = d.run.seed()
            let target = d.machine.proxyTarget(got) ?? got
            guard d.machine.frames.write(PagePattern.bytes(seed), pfn: target.pfn) else {
                d.run.fail("videobuf2: \(what): DMA to pfn \(target.pfn) failed")
                continue
            }
            d.expect(uaddr + UInt64(i) * UInt64(PagePattern.pageSize), seed: seed, what: "video page \(i) after \(what)")
        }
    }

    /// ns per page of pin_user_pages_fast() + unpin_user_pages() over the buffer.
    private static func timeGUP(_ d: VmallocDriverRun, _ uaddr: UInt64) {
        d.nsPerGupPage = d.process.timedPinFast(start: uaddr, count: pages, rounds: timedRounds).nsPerPage
    }
}
