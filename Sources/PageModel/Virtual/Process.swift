// A model process: an mm with page tables, and loads and stores that go through them
// like a CPU's, faulting as the kernel's x86 fault handler does (arch/x86/mm/fault.c:
// do_user_addr_fault(), access_error(); mm/memory.c: handle_mm_fault()).

/// A user process of a model machine: its address space (`mm`) and page tables, and
/// memory access through them. Thread safe: several threads may access, fault, mmap
/// and munmap one process at once (the mmap_lock and page-table locks serialise them).
public final class Process: @unchecked Sendable {
    public let machine: Machine
    public let mm: MM
    public let tables: UserPageTables

    /// A process with an empty address space (mm_alloc() + pgd_alloc()); ENOMEM when no
    /// page is left for its PGD.
    public init(machine: Machine, layout: AddressSpaceLayout = AddressSpaceLayout()) throws(Errno) {
        self.machine = machine
        tables = try UserPageTables(machine: machine)
        mm = MM(layout: layout, pageOps: tables)
        tables.owner = mm
        tables.mm = mm
    }

    init(machine: Machine, mm: MM, tables: UserPageTables) {
        self.machine = machine
        self.mm = mm
        self.tables = tables
        tables.owner = mm
        tables.mm = mm
    }

    deinit { exit() }

    /// Linux: `exit_mmap()` + `pgd_free()`: every mapping and page table goes; called by
    /// deinit, callable earlier. Idempotent.
    public func exit() {
        guard tables.markExited() else { return }
        mm.exitMmap()
        machine.mmPutHugeZeroFolio(mm)   // __mmput(), after exit_mmap()
        tables.freePgd()
    }

    // MARK: Access

    /// Linux: `access_error()`: a write needs VM_WRITE; a read needs any access flag.
    @inline(__always)
    static func permits(_ vma: VMA, write: Bool) -> Bool {
        write ? vma.flags.contains(.write) : !vma.flags.intersection(VMFlags.accessFlags).isEmpty
    }

    /// Makes the page at `address` accessible for a load or store, faulting as needed,
    /// and runs `body` with its frame's host pointer while the PTE lock keeps it mapped
    /// (a TLB entry that cannot be shot down mid-access). The caller holds the mmap_lock
    /// for read.
    @inline(__always)
    func withMappedPage<T>(_ address: UInt64, write: Bool, _ body: (UnsafeMutableRawPointer) -> T) throws(AccessError) -> T {
        var tries = 0
        while true {
            if let result = tables.accessIfMapped(address, write: write, body) { return result }
            // Still not accessible after a fault: a PTE of a pfn with no bytes behind it
            // (outside RAM and every CPU-addressable pagemap) is a bus error. Checked only
            // on a retry, off the fault's first pass.
            if tries > 0 {
                let pte = tables.entry(at: address).pte
                if pte.isPresent, machine.frames.pointer(pfn: pte.pfn) == nil { throw .bus(address: address) }
            }
            guard let vma = mm.lockedVMALookup(address) else { throw .segv(address: address, accessError: false) }
            guard Self.permits(vma, write: write) else { throw .segv(address: address, accessError: true) }
            let fault = tables.handleFault(vma, address: address, flags: write ? [.write, .user] : [.user])
            if fault.contains(.oom) { throw .outOfMemory(address: address) }
            if fault.contains(.sigsegv) { throw .segv(address: address, accessError: true) }
            if fault.contains(.sigbus) || fault.contains(.hwpoison) { throw .bus(address: address) }
            tries += 1
            if tries > 1_000_000 { throw .bus(address: address) }  // a fault that never settles: the model's livelock guard
        }
    }

    /// Stores `bytes` at `address` (like a CPU's stores: faulting in, breaking COW).
    public func write(_ bytes: some Collection<UInt8>, at address: UInt64) throws(AccessError) {
        try mm.mmapLock.withReadLock { () throws(AccessError) in
            var offset = 0
            let data = Array(bytes)
            while offset < data.count {
                let addr = address &+ UInt64(offset)
                let inPage = Int(addr & (UserVM.pageSize - 1))
                let n = min(data.count - offset, Int(UserVM.pageSize) - inPage)
                try withMappedPage(addr, write: true) { frame in
                    data.withUnsafeBytes { src in (frame + inPage).copyMemory(from: src.baseAddress! + offset, byteCount: n) }
                }
                offset += n
            }
        }
    }

    /// Loads `count` bytes from `address`.
    public func read(_ address: UInt64, count: Int) throws(AccessError) -> [UInt8] {
        try mm.mmapLock.withReadLock { () throws(AccessError) -> [UInt8] in
            var out = [UInt8](repeating: 0, count: max(0, count))
            var offset = 0
            while offset < out.count {
                let addr = address &+ UInt64(offset)
                let inPage = Int(addr & (UserVM.pageSize - 1))
                let n = min(out.count - offset, Int(UserVM.pageSize) - inPage)
                try withMappedPage(addr, write: false) { frame in
                    out.withUnsafeMutableBytes { dst in (dst.baseAddress! + offset).copyMemory(from: frame + inPage, byteCount: n) }
                }
                offset += n
            }
            return out
        }
    }

    /// Stores one 64-bit value (little endian), the cheapest store; for workloads.
    public func store(_ value: UInt64, at address: UInt64) throws(AccessError) {
        try mm.mmapLock.withReadLock { () throws(AccessError) in
            try withMappedPage(address, write: true) { frame in
                (frame + Int(address & (UserVM.pageSize - 1))).storeBytes(of: value.littleEndian, as: UInt64.self)
            }
        }
    }

    /// Loads one 64-bit value.
    public func load(_ address: UInt64) throws(AccessError) -> UInt64 {
        try mm.mmapLock.withReadLock { () throws(AccessError) -> UInt64 in
            try withMappedPage(address, write: false) { frame in
                UInt64(littleEndian: (frame + Int(address & (UserVM.pageSize - 1))).loadUnaligned(as: UInt64.self))
            }
        }
    }

    /// Faults in `[address, address + length)` for reading or writing without touching
    /// the bytes (MADV_POPULATE_READ/WRITE, faultin_page()).
    public func touch(_ address: UInt64, length: UInt64, write: Bool) throws(AccessError) {
        try mm.mmapLock.withReadLock { () throws(AccessError) in
            var addr = address & ~(UserVM.pageSize - 1)
            while addr < address &+ length {
                try withMappedPage(addr, write: write) { _ in }
                addr &+= UserVM.pageSize
            }
        }
    }

    /// mmap() of `length` bytes of private anonymous read-write memory with every page
    /// then faulted in for writing (MAP_POPULATE-like, as a program that has touched its
    /// buffer): where timed loops start. Returns the address.
    public func mmapFaulted(_ length: UInt64) throws -> UInt64 {
        let addr = try mm.mmap(length: length, prot: [.read, .write], flags: [.private, .anonymous])
        try touch(addr, length: length, write: true)
        return addr
    }

    // MARK: fork

    /// Linux: `fork()` (dup_mm() -> dup_mmap()): a child with a copy of every VMA but the
    /// MADV_DONTFORK ones, sharing anonymous pages copy-on-write, copying at once those
    /// that may be DMA-pinned. Throws ENOMEM when memory runs out.
    public func fork() throws(Errno) -> Process {
        let child = try Process(machine: machine, layout: mm.layout)
        try tables.dupMmap(into: child.tables)
        return child
    }
}

extension UserPageTables {
    /// The translation a CPU does when its TLB misses: if `address` is mapped with the
    /// needed permission (present; writable for a store), runs `body` on the frame under
    /// the PTE (or huge PMD) lock and returns its result; nil when a fault is needed.
    @inline(__always)
    func accessIfMapped<T>(_ address: UInt64, write: Bool, _ body: (UnsafeMutableRawPointer) -> T) -> T? {
        guard let pmd = pmdSlot(address, allocate: false) else { return nil }
        let pmdEntry = pmd.load()
        guard pmdEntry.isPresent else { return nil }
        if pmdEntry.isLeaf {
            guard !write || pmdEntry.isWritable else { return nil }
            let table = pmdTablePfn(address)
            lockTable(table)
            defer { unlockTable(table) }
            guard pmd.load() == pmdEntry else { return nil }
            let pfn = pmdEntry.pfn + Paging.index(address, Paging.pageShift)
            guard let frame = frame(pfn) else { return nil }
            return body(frame)
        }
        let table = pmdEntry.pfn
        let pte = slot(table, Paging.index(address, Paging.pageShift))
        let entry = pte.load()
        guard entry.isPresent, !write || entry.isWritable, let frame = frame(entry.pfn) else { return nil }
        lockTable(table)
        defer { unlockTable(table) }
        guard pmd.load() == pmdEntry, pte.load() == entry else { return nil }
        // The hardware sets the accessed and (for a store) dirty bits.
        if write && !entry.isDirty { pte.store(entry.madeWritableDirty) }
        return body(frame)
    }

    /// The host address of a frame a PTE maps: RAM directly, device memory through its
    /// pagemap's bytes (a cold path).
    @inline(__always)
    private func frame(_ pfn: Int) -> UnsafeMutableRawPointer? {
        pfn < machine.frames.frameCount ? frames + (pfn << 12) : machine.frames.pointer(pfn: pfn)
    }
}
