// The frame the vmalloc workload's drivers run in: one process, one vmalloc space with the
// row's tracking option, the kernel's and user space's accesses to a vmalloc area mapped
// into the process (mm/vmalloc.c remap_vmalloc_range_partial()), and what a driver's
// vfree() while the mapping or a pin still exists leaves behind (seed 004).
import PageLayout

/// One run of the vmalloc drivers on one machine with one tracking option. Not thread
/// safe: the drivers run one after another from one thread.
final class VmallocDriverRun {
    let run: WorkloadRun
    let space: VmallocSpace
    let process: Process
    var machine: Machine { run.machine }

    /// Bytes vmalloc_user() handed the drivers (page-aligned sizes, guard pages left out).
    private(set) var vmallocBytes = 0
    /// Pages pinned (FOLL_PIN) and pages GUP refused (-EEXIST on an untracked mapping).
    var pinnedPages = 0
    var refusedPages = 0
    /// References on the drivers' areas besides vmalloc's own, summed at each vfree():
    /// what keeps the pages alive past it (per-page folio references on page-refcount,
    /// scamem references on scamem and vm-struct, none when untracked).
    private(set) var references = 0
    /// The descriptor heap's scamem bytes at their peak.
    private(set) var peakScamemBytes = 0
    /// pin_user_pages_fast() + unpin_user_pages() per page of remapped vmalloc memory;
    /// nil where GUP is refused.
    var nsPerGupPage: Double?

    /// Data errors found after a driver's vfree() (the use-after-free's effect).
    private(set) var dataErrorsAfterFree = 0
    private var dataErrorsAtFree: Int?

    /// Whole pages user space must read back: address, seed, what.
    private var expected: [(address: UInt64, seed: UInt64, what: String)] = []
    /// Pages the kernel allocated after a vfree() (its memory reused), freed at the end.
    private var reused: [Page] = []

    init(run: WorkloadRun, tracking: VmallocTracking, placement: ScamemPlacement = .memdescPointer) throws(Errno) {
        self.run = run
        space = try VmallocSpace(machine: run.machine, tracking: tracking, placement: placement)
        process = try Process(machine: run.machine)
    }

    // MARK: Setting up

    /// Linux: `vmalloc_user(pages * PAGE_SIZE)` by `caller`; nil and a failure when it fails.
    func vmallocUser(pages: Int, caller: String) -> UInt64? {
        guard let kaddr = space.vmallocUser(UInt64(pages) * VmallocSpace.pageSize, caller: caller) else {
            run.fail("\(caller): vmalloc_user of \(pages) pages failed")
            return nil
        }
        vmallocBytes += pages * PagePattern.pageSize
        sample()
        return kaddr
    }

    /// mmap() of the driver's character device: a VM_SHARED read-write mapping the
    /// driver's mmap handler fills; nil and a failure when it fails.
    func mmapDevice(pages: Int, name: String) -> UInt64? {
        do {
            let file = VmallocDeviceFile(size: UInt64(pages) * VmallocSpace.pageSize, name: name)
            return try process.mm.mmap(length: UInt64(pages) * VmallocSpace.pageSize, prot: [.read, .write], flags: [.shared], file: file)
        } catch {
            run.fail("\(name): mmap of \(pages) pages: \(error)")
            return nil
        }
    }

    /// The driver's mmap handler: `remap_vmalloc_range_partial()` of `pages` pages of
    /// the area at `kaddr` from page `pgoff`, to `uaddr`.
    @discardableResult
    func remap(uaddr: UInt64, kaddr: UInt64, pgoff: Int, pages: Int, what: String) -> Bool {
        do {
            try process.remapVmallocRangePartial(space, uaddr: uaddr, kaddr: kaddr, pgoff: UInt64(pgoff),
                                                 size: UInt64(pages) * VmallocSpace.pageSize)
            return true
        } catch {
            run.fail("\(what): remap_vmalloc_range_partial: \(error)")
            return false
        }
    }

    // MARK: The kernel's side

    /// Stores through the kernel's vmalloc (or vmap) address `kaddr`, page by page as
    /// the CPU would through init_mm's tables (`vmalloc_to_page()`); false on an
    /// unmapped address.
    @discardableResult
    func kernelWrite(_ bytes: [UInt8], at kaddr: UInt64) -> Bool {
        var done = 0
        while done < bytes.count {
            let addr = kaddr &+ UInt64(done)
            let offset = Int(addr & (VmallocSpace.pageSize - 1))
            let count = min(bytes.count - done, PagePattern.pageSize - offset)
            guard let page = space.vmallocToPage(addr),
                  machine.frames.write(bytes[done..<(done + count)], pfn: page.pfn, offset: offset) else {
                run.fail("kernel store at 0x\(String(addr, radix: 16)): not mapped")
                return false
            }
            done += count
        }
        return true
    }

    /// The kernel writes a fresh page pattern at `kaddr` that user space must then read
    /// at `uaddr`. Returns the seed.
    @discardableResult
    func kernelProduces(at kaddr: UInt64, userSees uaddr: UInt64, what: String) -> UInt64 {
        let seed = run.seed()
        if kernelWrite(PagePattern.bytes(seed), at: kaddr) { expected.append((uaddr, seed, what)) }
        return seed
    }

    /// User space writes a fresh page at `uaddr`; the kernel then reads it at `kaddr`
    /// and both are checked.
    func userProduces(at uaddr: UInt64, kernelSees kaddr: UInt64, what: String) {
        let seed = run.seed()
        do {
            try process.write(PagePattern.bytes(seed), at: uaddr)
        } catch {
            return run.fail("\(what): user store at 0x\(String(uaddr, radix: 16)): \(error)")
        }
        expected.append((uaddr, seed, what))
        guard let page = space.vmallocToPage(kaddr), let bytes = machine.frames.read(pfn: page.pfn, count: PagePattern.pageSize) else {
            return run.unreadable("\(what): kernel load at 0x\(String(kaddr, radix: 16))", Errno.EFAULT)
        }
        run.check(bytes, seed: seed, what: "\(what) (kernel's view)")
    }

    /// User space must read the page of `seed` at `uaddr` (written by a device).
    func expect(_ uaddr: UInt64, seed: UInt64, what: String) { expected.append((uaddr, seed, what)) }

    /// User space reads back every page it must see, as written.
    func verifyUser(_ phase: String) {
        for (address, seed, what) in expected {
            do {
                run.check(try process.read(address, count: PagePattern.pageSize), seed: seed, what: "\(phase): \(what)")
            } catch {
                run.unreadable("\(phase): \(what)", error)
            }
        }
    }

    /// Ends the expectations so far (the kernel is about to overwrite those pages).
    func forgetExpected() { expected.removeAll() }

    // MARK: The buggy free

    /// References on the area besides vmalloc's own: the scamem's count less the
    /// vm_struct's reference, else each page's option-1 descriptor or folio references
    /// less the allocation's.
    func heldReferences(_ kaddr: UInt64) -> Int {
        guard let vm = space.findVMArea(kaddr) else { return 0 }
        if let scamem = vm.scamem { return Int(machine.scamemRefcount(scamem)) - 1 }
        return vm.pages.reduce(0) { sum, page in
            let count = machine.vmallocMemdescRefcount(page).map(Int.init) ?? machine.pageFolio(page).map { Int($0.refcount) }
            return sum + (count.map { $0 - 1 } ?? 0)
        }
    }

    /// The driver's `vfree()` while user space still maps the area (and a device may
    /// still hold pins): the references are counted, the area freed, and the kernel
    /// reuses as many pages as the area had, filling them, as the next allocation
    /// would. Where nothing held the pages, user space now reads someone else's memory.
    func vfreeWhileMapped(_ kaddr: UInt64) {
        let pages = space.findVMArea(kaddr)?.nrPages ?? 0
        if dataErrorsAtFree == nil { dataErrorsAtFree = run.dataErrors }
        references += heldReferences(kaddr)
        sample()
        space.vfree(kaddr)
        for _ in 0..<pages {
            guard let page = machine.allocPages(.kernel) else { return run.fail("reuse after vfree: no page") }
            reused.append(page)
            _ = machine.frames.write([UInt8](repeating: 0xdd, count: PagePattern.pageSize), pfn: page.pfn)
        }
        run.checkpoint("vfree while mapped")
    }

    /// munmap() of the driver's mapping; the expectations end with it.
    func munmap(_ uaddr: UInt64, pages: Int, what: String) {
        do {
            try process.mm.munmap(addr: uaddr, length: UInt64(pages) * VmallocSpace.pageSize)
        } catch {
            run.fail("\(what): munmap: \(error)")
        }
        expected.removeAll { $0.address >= uaddr && $0.address < uaddr &+ UInt64(pages) * VmallocSpace.pageSize }
    }

    /// The end of a driver: the reused pages go back, the lazy areas are purged.
    func endDriver(_ name: String) {
        if let before = dataErrorsAtFree { dataErrorsAfterFree += run.dataErrors - before }
        dataErrorsAtFree = nil
        for page in reused { machine.freePages(page, order: 0) }
        reused.removeAll()
        space.purgeLazy()
        run.checkpoint(name)
    }

    /// Samples memory in use and the scamem bytes.
    func sample() {
        run.sample()
        peakScamemBytes = max(peakScamemBytes, machine.heap.usage()[.scamem]?.bytes ?? 0)
    }
}
