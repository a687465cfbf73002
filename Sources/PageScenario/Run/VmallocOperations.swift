// The vmalloc operations of the language (mm/vmalloc.c, v6.19): vmalloc(), vmalloc_user(),
// vfree(), vmap()/vunmap() of a GUP result's pages, and a driver's mmap() handler that
// calls remap_vmalloc_range(). The machine's vmalloc space is made at the first of them,
// with the scenario's `machine vmalloc=` option (seed 004) or the design's default.
import PageModel

extension ScenarioRunner {
    /// Runs one vmalloc operation; returns its error (an errno name) or nil.
    func vmallocOperation(_ op: Operation) throws(RunError) -> String? {
        let space: VmallocSpace
        do throws(Errno) {
            space = try vmallocSpace()
        } catch {
            if let name = op.bind { self[name] = nil }
            return error.name
        }
        switch op.kind {
        case .vmalloc, .vmallocUser:
            let size = try unsigned(op, "size")
            let user = op.kind == .vmallocUser
            // vmalloc() returns NULL when it cannot; the driver's answer is -ENOMEM.
            return attempt(op, failed: .int(0)) { () throws(Errno) in
                guard let addr = user ? space.vmallocUser(size) : space.vmalloc(size) else { throw .ENOMEM }
                return .int(Int64(bitPattern: addr))
            }
        case .vmap:
            let pages = try pins(op.arguments.stored("pins")).pages.map { machine.pageBehind($0) }
            return attempt(op, failed: .int(0)) { () throws(Errno) in
                guard let addr = space.vmap(pages) else { throw .ENOMEM }
                return .int(Int64(bitPattern: addr))
            }
        case .vfree:
            space.vfree(try kernelAddress(op, "addr"))
            return nil
        case .vunmap:
            space.vunmap(try kernelAddress(op, "addr"))
            return nil
        case .vmallocDevMmap:
            let p = try process(op.arguments.stored("p"))
            let length = try unsigned(op, "len")
            return attempt(op, failed: .int(0)) { () throws(Errno) in
                .int(Int64(bitPattern: try p.mm.mmap(length: length, prot: [.read, .write], flags: [.shared], file: VmallocDeviceFile(size: length))))
            }
        case .remapVmallocRange:
            let p = try process(op.arguments.stored("p"))
            let uaddr = try unsigned(op, "uaddr"), kaddr = try kernelAddress(op, "kaddr"), pgoff = try unsigned(op, "pgoff", default: 0)
            defer { noteSpan(p, uaddr, 4096) }
            return attempt(op) { () throws(Errno) in
                try p.remapVmallocRange(space, vmaStart: uaddr, kaddr: kaddr, pgoff: pgoff)
                return nil
            }
        default:
            throw RunError(position: op.position, message: "'\(op.signature.name)' is not a vmalloc operation")
        }
    }

    /// A kernel virtual address: the script's integers are signed 64-bit, and the vmalloc
    /// space lies in the top half (0xffffc90000000000 on x86_64), so the bits are taken
    /// as they are.
    func kernelAddress(_ op: Operation, _ key: StaticString) throws(RunError) -> UInt64 {
        UInt64(bitPattern: try int(op, key))
    }

    /// The machine's vmalloc space, made at first use (ENOMEM when no page is left for
    /// its top-level table).
    func vmallocSpace() throws(Errno) -> VmallocSpace {
        if let vmalloc { return vmalloc }
        let space = try VmallocSpace(machine: machine, tracking: scenario.machine.vmalloc)
        vmalloc = space
        return space
    }

    /// `scamem_refcount(PAGE)`: the refcount of the scamem (seed 004 option 4) or
    /// vm_struct (option 3) the page's memdesc names; nothing for a page without one.
    func scamemRefcount(_ page: Page) -> Observed {
        guard let scamem = machine.pageScamem(page) else { return .missing("none") }
        return .int(Int64(machine.scamemRefcount(scamem)))
    }

    /// `vmalloc_area(KADDR)`: find_vm_area() still finds the area.
    func vmallocArea(_ kaddr: Int64) -> Bool {
        vmalloc?.findVMArea(UInt64(bitPattern: kaddr)) != nil
    }
}
