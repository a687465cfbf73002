// What each operation of the vocabulary does: one call (or a short sequence) of
// PageModel's public API per line, with the kernel's errno or signal as the result.
import PageLayout
import PageModel

extension ScenarioRunner {
    /// Runs one operation; returns its error (an errno name, SIGSEGV, SIGBUS) or nil.
    func perform(_ op: Operation) throws(RunError) -> String? {
        let a = op.arguments
        switch op.kind {
        case .process:
            return attempt(op) { () throws(Errno) in .process(try Process(machine: machine)) }
        case .fork:
            let parent = try process(a.stored("parent"))
            return attempt(op) { () throws(Errno) in .process(try parent.fork()) }
        case .exit:
            try process(a.stored("p")).exit()
            return nil
        case .mmap:
            let p = try process(a.stored("p"))
            let length = try unsigned(op, "len")
            let file = try a.stored("file").map { (e: Expr) throws(RunError) in try self.file(e) }
            let prot = a.stored("prot") == nil ? [.read, .write] : Self.prot(words(op, "prot"))
            let flags = a.stored("flags") == nil ? (file == nil ? [.private, .anonymous] : [.shared]) : Self.mapFlags(words(op, "flags"))
            let offset = try unsigned(op, "offset", default: 0), addr = try unsigned(op, "addr", default: 0)
            return attempt(op, failed: .int(0)) { () throws(Errno) in
                .int(Int64(bitPattern: try p.mm.mmap(addr: addr, length: length, prot: prot, flags: flags, file: file, offset: offset)))
            }
        case .munmap, .mprotect, .madvise, .mlock, .munlock:
            let p = try process(a.stored("p"))
            let addr = try unsigned(op, "addr"), length = try unsigned(op, "len")
            defer { noteSpan(p, addr, length) }
            let kind = op.kind
            return attempt(op) { () throws(Errno) in
                switch kind {
                case .munmap: try p.mm.munmap(addr: addr, length: length)
                case .mprotect: try p.mm.mprotect(addr: addr, length: length, prot: Self.prot(words(op, "prot")))
                case .madvise:
                    let value = Scenarios.advice.first { $0.0 == words(op, "advice").first }?.1 ?? -1
                    try p.mm.madvise(addr: addr, length: length, advice: Advice(rawValue: value))
                case .mlock: try p.mm.mlock(addr: addr, length: length)
                default: try p.mm.munlock(addr: addr, length: length)
                }
                return nil
            }
        case .mremap:
            let p = try process(a.stored("p"))
            let addr = try unsigned(op, "addr"), old = try unsigned(op, "old"), new = try unsigned(op, "new")
            let to = try unsigned(op, "to", default: 0)
            var flags: MRemapFlags = []
            for w in words(op, "flags") { flags.insert(w == "maymove" ? .mayMove : w == "fixed" ? .fixed : .dontUnmap) }
            return attempt(op, failed: .int(0)) { () throws(Errno) in
                .int(Int64(bitPattern: try p.mm.mremap(oldAddr: addr, oldLength: old, newLength: new, flags: flags, newAddr: to)))
            }
        case .write, .fill, .read, .touch:
            return try access(op)
        case .memfd:
            let name = text(op, "name")
            return attempt(op) { () throws(Errno) in .file(try filesystem(.shmem).memfdCreate(name: name)) }
        case .file:
            let kind: FilesystemKind = words(op, "fs").first == "disk" ? .disk : .shmem
            let name = text(op, "name")
            return attempt(op) { () throws(Errno) in .file(try filesystem(kind).create(name: name)) }
        case .pwrite:
            let f = try file(a.stored("f"))
            let offset = Int64(try unsigned(op, "offset")), data = bytes(op, "data")
            return attempt(op) { () throws(Errno) in _ = try f.pwrite(data, offset: offset); return nil }
        case .pread:
            let f = try file(a.stored("f"))
            let offset = Int64(try unsigned(op, "offset")), length = Int(try unsigned(op, "len", max: Self.maxBytes))
            return attempt(op) { () throws(Errno) in _ = try f.pread(count: length, offset: offset); return nil }
        case .ftruncate:
            let f = try file(a.stored("f"))
            let length = Int64(try unsigned(op, "len"))
            return attempt(op) { () throws(Errno) in try f.ftruncate(length); return nil }
        case .fallocate:
            let f = try file(a.stored("f"))
            let offset = try int(op, "offset"), length = try int(op, "len")
            var mode: FallocateMode = []
            for w in words(op, "mode") { mode.insert(w == "keep_size" ? .keepSize : .punchHole) }
            return attempt(op) { () throws(Errno) in try f.fallocate(mode: mode, offset: offset, length: length); return nil }
        case .writeback:
            _ = try file(a.stored("f")).pageCache.writebackAll()
            return nil
        case .sync:
            shmem?.sync()
            disk?.sync()
            return nil
        case .reclaim:
            let count = Int(try unsigned(op, "count", max: Int64(Int32.max)))
            let node = Int(try unsigned(op, "node", default: 0, max: Int64(scenario.machine.nodes - 1)))
            machine.reclaim(nid: node, count: count)
            return nil
        case .swapon:
            let slots = Int(try unsigned(op, "slots", max: 1 << 24))
            return attempt(op) { () throws(Errno) in _ = try machine.swap.swapon(slots: slots); return nil }
        case .thp:
            machine.thp.mode = THPMode(rawValue: words(op, "mode").first ?? "") ?? .madvise
            return nil
        case .movePages:
            let p = try process(a.stored("p"))
            let addr = try unsigned(op, "addr"), length = try unsigned(op, "len")
            let node = Int(try unsigned(op, "node", max: Int64(scenario.machine.nodes - 1)))
            let result = p.migrate(addr, length: length, toNode: node)
            noteSpan(p, addr, length)
            return result.failed.first?.errno.name
        case .getUserPages, .getUserPagesFast, .pinUserPages, .pinUserPagesFast, .getUserPagesRemote, .pinUserPagesRemote:
            return try gup(op)
        case .unpinUserPages:
            let set = try pins(a.stored("pins"))
            let dirty = words(op, "dirty").first == "true"
            machine.unpinUserPages(set.pages, makeDirty: dirty)
            touched = set.pages
            return nil
        case .unpinUserPage, .putPage, .getPage:
            guard let page = try gupPage(a.stored("page")) else { return "EFAULT" }
            switch op.kind {
            case .unpinUserPage: machine.unpinUserPage(page)
            case .putPage: machine.putPage(page)
            default: machine.getPage(page)
            }
            touched = [page]
            return nil
        case .releasePages:
            let set = try pins(a.stored("pins"))
            for page in set.pages { machine.putPage(page) }
            touched = set.pages
            return nil
        case .dmaWrite:
            guard let page = try page(a.stored("page")) else { return "EFAULT" }
            let offset = try unsigned(op, "offset", max: 4095), data = bytes(op, "data")
            guard Int(offset) + data.count <= 4096 else { throw RunError(position: op.position, message: "dma_write: offset + data must lie within the page (4096)") }
            touched = [page]
            return machine.frames.write(data, pfn: page.pfn, offset: Int(offset)) ? nil : "EFAULT"
        case .devdaxMmap:
            return try devdax(op)
        case .dmirrorOpen, .dmirrorMigrateToDev, .dmirrorMigrateToSys, .dmirrorRead, .dmirrorWrite, .dmirrorRelease, .hmmRangeFault, .migrateVma:
            return try deviceOperation(op)
        case .vmalloc, .vmallocUser, .vfree, .vmap, .vunmap, .vmallocDevMmap, .remapVmallocRange:
            return try vmallocOperation(op)
        }
    }

    /// Runs `body`, binds what it yields, and turns the kernel's errno into the result.
    func attempt(_ op: Operation, failed: Value? = nil, _ body: () throws(Errno) -> Value?) -> String? {
        do {
            if let value = try body(), let name = op.bind { self[name] = value }
            return nil
        } catch {
            if let name = op.bind {
                self[name] = failed
            }
            return error.name
        }
    }

    /// CPU stores and loads: SIGSEGV, SIGBUS, or ENOMEM (the fault found no memory).
    func access(_ op: Operation) throws(RunError) -> String? {
        let p = try process(op.arguments.stored("p"))
        let addr = try unsigned(op, "addr")
        let kind = op.kind
        let data = bytes(op, "data")
        // touch moves no bytes through the host: only the machine's memory bounds it.
        let length = kind == .write ? UInt64(data.count) : try unsigned(op, "len", max: kind == .touch ? .max : Self.maxBytes)
        let byte = kind == .fill ? UInt8(truncatingIfNeeded: try int(op, "byte")) : 0
        let write = kind == .touch && words(op, "write").first == "true"
        guard addr.addingReportingOverflow(length).overflow == false else { return "EFAULT" }
        defer { noteSpan(p, addr, length) }
        do throws(AccessError) {
            switch kind {
            case .write: try p.write(data, at: addr)
            case .touch: try p.touch(addr, length: length, write: write)
            default:
                // In chunks of 64 KiB: a long fill or read never builds one huge buffer.
                var done: UInt64 = 0
                while done < length {
                    let chunk = Int(min(length - done, 64 << 10))
                    if kind == .fill {
                        try p.write(repeatElement(byte, count: chunk), at: addr + done)
                    } else {
                        _ = try p.read(addr + done, count: chunk)
                    }
                    done += UInt64(chunk)
                }
            }
            return nil
        } catch {
            return Self.signal(error)
        }
    }

    static func signal(_ error: AccessError) -> String {
        switch error {
        case .segv: "SIGSEGV"
        case .bus: "SIGBUS"
        case .outOfMemory: "ENOMEM"
        }
    }

    func gup(_ op: Operation) throws(RunError) -> String? {
        let kind = op.kind
        let p = try process(op.arguments.stored("p"))
        let target = kind == .getUserPagesRemote || kind == .pinUserPagesRemote ? try process(op.arguments.stored("target")) : p
        let addr = try unsigned(op, "addr")
        let n = Int(try unsigned(op, "n", max: Self.maxPages))
        let flags = Self.follFlags(mask(op, "flags"))
        let pinned = kind == .pinUserPages || kind == .pinUserPagesFast || kind == .pinUserPagesRemote
        defer { noteSpan(target, addr, UInt64(n) << 12) }
        return attempt(op) { () throws(Errno) in
            let pages: [Page] = switch kind {
            case .getUserPages: try p.getUserPages(start: addr, nrPages: n, flags: flags)
            case .getUserPagesFast: try p.getUserPagesFast(start: addr, nrPages: n, flags: flags)
            case .pinUserPages: try p.pinUserPages(start: addr, nrPages: n, flags: flags)
            case .pinUserPagesFast: try p.pinUserPagesFast(start: addr, nrPages: n, flags: flags)
            case .getUserPagesRemote: try p.getUserPagesRemote(of: target, start: addr, nrPages: n, flags: flags)
            case .pinUserPagesRemote: try p.pinUserPagesRemote(of: target, start: addr, nrPages: n, flags: flags)
            default: []
            }
            touched = pages
            return .pins(PinSet(pages: pages, pinned: pinned))
        }
    }

    /// A device-dax mapping: MEMORY_DEVICE_GENERIC pages (one section), /dev/dax mmap'ed
    /// shared, the first `pages` of them inserted (vm_insert_pages()).
    func devdax(_ op: Operation) throws(RunError) -> String? {
        let p = try process(op.arguments.stored("p"))
        let count = try unsigned(op, "pages", max: Int64(machine.config.pagesPerSection))
        guard count > 0 else { return "EINVAL" }
        let pgmap: DevPagemap
        do {
            pgmap = try machine.memremapPages(type: .generic, bytes: machine.config.sectionBytes, ops: DevPagemapOps())
        } catch {
            if let name = op.bind { self[name] = nil }
            return String(error.description.prefix { $0 != ":" })
        }
        pagemaps.append(pgmap)
        let pages = (0..<Int(count)).compactMap { machine.page(pgmap.range.start + $0) }
        return attempt(op, failed: .int(0)) { () throws(Errno) in
            let file = DevDAXFile(size: count << 12)
            let addr = try p.mm.mmap(length: count << 12, prot: [.read, .write], flags: [.shared], file: file)
            try p.insertPages(pages, at: addr, writable: true)
            return .int(Int64(addr))
        }
    }

    func filesystem(_ kind: FilesystemKind) -> Filesystem {
        if kind == .disk {
            if let disk { return disk }
            disk = Filesystem(machine: machine, kind: .disk)
            return disk!
        }
        if let shmem { return shmem }
        shmem = Filesystem(machine: machine, kind: .shmem)
        return shmem!
    }

    /// For the trace: the pages mapped in the first 8 pages of a span.
    func noteSpan(_ p: Process, _ addr: UInt64, _ length: UInt64) {
        guard tracing else { return }
        var at = addr & ~4095
        while at < addr &+ max(length, 1), touched.count < 8 {
            if let page = mappedPage(p, at) { touched.append(page) }
            touchedPTEs.append((at, p.tables.entry(at: at).pte.description))
            let (next, overflow) = at.addingReportingOverflow(4096)
            if overflow { break }
            at = next
        }
    }

    // MARK: Words to the model's flag types

    static func prot(_ words: [String]) -> Prot {
        var prot: Prot = []
        for w in words {
            switch w {
            case "read": prot.insert(.read)
            case "write": prot.insert(.write)
            case "exec": prot.insert(.exec)
            default: break
            }
        }
        return prot
    }

    static func mapFlags(_ words: [String]) -> MapFlags {
        words.reduce(into: MapFlags()) { $0.insert(mapFlagTable[$1] ?? []) }
    }

    /// MAP_* by word; built once (a dictionary literal in the function was built per call).
    static let mapFlagTable: [String: MapFlags] = [
        "shared": .shared, "private": .private, "anonymous": .anonymous, "fixed": .fixed, "fixed_noreplace": .fixedNoReplace,
        "populate": .populate, "locked": .locked, "noreserve": .noReserve,
    ]

    /// The FOLL_* flags of a `flags=` mask (bit i: `WordSet.foll.words[i]`).
    static func follFlags(_ mask: UInt64) -> FollFlags {
        var flags = FollFlags(), rest = mask
        while rest != 0 {
            let i = rest.trailingZeroBitCount
            if i < follFlagBits.count { flags.insert(follFlagBits[i]) }
            rest &= rest - 1
        }
        return flags
    }

    /// FOLL_* in `WordSet.foll`'s order: a mask's bits, without hashing a word per line.
    static let follFlagBits: [FollFlags] = WordSet.foll.words.map { follFlagTable[$0] ?? [] }

    /// FOLL_* by word, built once.
    static let follFlagTable: [String: FollFlags] = [
        "write": .write, "force": .force, "nowait": .nowait, "nofault": .nofault, "hwpoison": .hwpoison, "anon": .anon,
        "longterm": .longterm, "split_pmd": .splitPMD, "pci_p2pdma": .pciP2PDMA, "interruptible": .interruptible,
        "honor_numa_fault": .honorNUMAFault,
    ]
}
