// struct vm_area_struct, as a value. Mirrors include/linux/mm_types.h (the fields that
// mm/vma.c, mm/mmap.c, mm/mprotect.c, mm/madvise.c and mm/mremap.c read and write).
import Atomics
import Synchronization

/// The identity of one `vm_area_struct`. A VMA keeps its identity while it is expanded,
/// shrunk or re-flagged in place; splitting makes a new one for the split-off part and a
/// merge keeps the identity of the VMA that absorbs the others, as in the kernel (the
/// kernel's own VMA tests assert "merged into A" by pointer; the model compares `VMAID`s).
public struct VMAID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: UInt64
    public static func < (lhs: VMAID, rhs: VMAID) -> Bool { lhs.rawValue < rhs.rawValue }
    public var description: String { "vma#\(rawValue)" }
}

/// An `anon_vma`: the reverse-mapping object that anonymous folios of a VMA point to
/// (`folio->mapping = anon_vma | FOLIO_MAPPING_ANON`). Two VMAs may merge only if their
/// anon_vmas are compatible (is_mergeable_anon_vma()).
///
/// The kernel links every VMA that may map a folio of this anon_vma through
/// anon_vma_chains in an interval tree. The model keeps the coarser fact the rmap walk
/// needs: the mms whose VMAs may (`mappers`, weakly held) and the parent anon_vma of a
/// fork child's (`parent`); the walk then finds the VMAs by the folio's index, as
/// anon_vma_interval_tree_foreach() does.
public final class AnonVMA: Sendable, Hashable, CustomStringConvertible {
    public let serial: UInt64
    /// anon_vma->parent: the anon_vma of the fork parent's VMA (nil for a root).
    public let parent: AnonVMA?
    /// The kernel address of the struct anon_vma, assigned on first use.
    private let addressWord = ManagedAtomic<UInt64>(0)
    private let mapperList = ModelMutex<[ObjectIdentifier: WeakMM]>([:])

    init(serial: UInt64, parent: AnonVMA? = nil) {
        self.serial = serial
        self.parent = parent
    }
    public static func == (lhs: AnonVMA, rhs: AnonVMA) -> Bool { lhs === rhs }
    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(self)) }
    public var description: String { "anon_vma#\(serial)" }

    /// The kernel address of this anon_vma in `machine`'s heap (anon_vma_alloc(): a slab
    /// object of its own), allocated and registered the first time a folio points to it.
    /// nil if the heap is exhausted.
    func address(in machine: Machine) -> UInt64? {
        let current = addressWord.load(ordering: .acquiring)
        if current != 0 { return current }
        guard let fresh = machine.heap.allocate(size: 16, alignment: 16, kind: .anonVMA) else { return nil }
        let (won, original) = addressWord.compareExchange(expected: 0, desired: fresh, ordering: .acquiringAndReleasing)
        if !won {
            machine.heap.free(fresh, size: 16, alignment: 16, kind: .anonVMA)
            return original
        }
        machine.registry.register(self, at: fresh)
        return fresh
    }

    /// Records that `mm` has VMAs using this anon_vma (and so its ancestors' folios).
    func addMapper(_ mm: MM) {
        var node: AnonVMA? = self
        while let anonVMA = node {
            anonVMA.mapperList.withLock { $0[ObjectIdentifier(mm)] = WeakMM(mm) }
            node = anonVMA.parent
        }
    }

    /// The live mms that may map folios of this anon_vma.
    var mappers: [MM] {
        mapperList.withLock { list in
            var live: [MM] = []
            live.reserveCapacity(list.count)
            for mapper in list.values { if let mm = mapper.mm { live.append(mm) } }
            // Dropping the exited mms' entries rebuilds the table: only when there are some.
            if live.count < list.count { list = list.filter { $0.value.mm != nil } }
            return live
        }
    }

    /// Whether `self` is `other` or one of its ancestors (a VMA whose anon_vma is `other`
    /// may map folios of `self`).
    func isAncestor(of other: AnonVMA) -> Bool {
        var node: AnonVMA? = other
        while let anonVMA = node {
            if anonVMA === self { return true }
            node = anonVMA.parent
        }
        return false
    }
}

/// A weak reference to an mm (the rmap must not keep exited processes alive).
struct WeakMM: @unchecked Sendable {
    weak var mm: MM?
    init(_ mm: MM) { self.mm = mm }
}

/// The `vma->anon_vma` pointer of one VMA. anon_vma_prepare() sets it once from nil while
/// the mmap_lock is held only for read (racing faults must agree on one anon_vma), so it
/// is an atomic set-once reference; everything else that changes it (merge, mremap, fork)
/// holds the mmap_lock for write and installs a new slot.
final class AnonVMASlot: Sendable {
    private let reference = ManagedAtomicLazyReference<AnonVMA>()

    init(_ anonVMA: AnonVMA?) {
        if let anonVMA { _ = reference.storeIfNilThenLoad(anonVMA) }
    }

    var value: AnonVMA? { reference.load() }

    /// Sets the anon_vma if there is none yet; returns the one that won.
    func setIfNil(_ anonVMA: AnonVMA) -> AnonVMA { reference.storeIfNilThenLoad(anonVMA) }
}

/// One virtual memory area: `[start, end)` of one mm with one set of flags, one backing
/// object and one page offset.
///
/// A value: the MM keeps the authoritative copies under its mmap_lock and hands out
/// snapshots. Invariant (checked by `MM.checkInvariants()`): start < end, both page aligned.
public struct VMA: Sendable, Equatable, CustomStringConvertible {
    public let id: VMAID
    /// `vm_start`: first byte.
    public internal(set) var start: UInt64
    /// `vm_end`: first byte after the VMA.
    public internal(set) var end: UInt64
    /// `vm_pgoff`: the offset of `start` in the file in pages; for a private anonymous VMA
    /// `start >> PAGE_SHIFT` at creation, so that neighbouring anonymous VMAs line up.
    public internal(set) var pgoff: UInt64
    /// `vm_flags`.
    public internal(set) var flags: VMFlags
    /// `vm_file`; nil for anonymous memory.
    public internal(set) var file: FileRef?
    /// `anon_vma`; nil until the first anonymous fault (anon_vma_prepare()).
    public internal(set) var anonVMA: AnonVMA? {
        get { anonSlot.value }
        set { anonSlot = AnonVMASlot(newValue) }
    }
    /// Where `anonVMA` lives (see AnonVMASlot). Copies of this value share it.
    private(set) var anonSlot: AnonVMASlot
    /// The length of the VMA's `anon_vma_chain`: 1 for a VMA with its own anon_vma, more for
    /// a child of fork that still shares its parents' (vma_had_uncowed_parents()).
    public internal(set) var anonVMAChainLength: Int
    /// `vm_lock_seq` analogue: incremented whenever the VMA is write-locked for a change
    /// (vma_start_write()), so tests can see which VMAs an operation touched.
    public internal(set) var writeSeq: UInt64
    /// `vm_private_data`: the driver's word (a kernel address; 0 for none). The vmalloc
    /// remap of seed 004's VMA placements keeps the area's scamem here.
    public internal(set) var privateData: UInt64 = 0

    /// vma_pages().
    public var pages: UInt64 { (end - start) >> UserVM.pageShift }
    /// The VMA's size in bytes.
    public var length: UInt64 { end - start }
    /// vma_is_anonymous(): no vm_ops, that is no file (a shared anonymous VMA has a shmem file).
    public var isAnonymous: Bool { file == nil }
    /// vma_is_fsdax(): a DAX file that is not a character device (not device-dax).
    public var isFsdax: Bool { file.map { $0.file.isDAX && !$0.file.isCharDevice } ?? false }
    /// Whether vm_ops->close exists (such a VMA must never be deleted by a merge).
    public var hasCloseHook: Bool { file?.file.hasVMClose ?? false }
    /// vma_had_uncowed_parents().
    var hadUncowedParents: Bool { anonVMA != nil && anonVMAChainLength > 1 }
    /// The file page offset of `addr` (linear_page_index()).
    public func pageOffset(of addr: UInt64) -> UInt64 { pgoff + ((addr - start) >> UserVM.pageShift) }
    /// Whether `addr` lies in the VMA.
    public func contains(_ addr: UInt64) -> Bool { addr >= start && addr < end }

    /// vm_start_gap(): the start, lowered by the stack guard gap for a VM_GROWSDOWN VMA.
    func startGap(guardGap: UInt64) -> UInt64 {
        guard flags.contains(.growsDown) else { return start }
        return start > guardGap ? start - guardGap : 0
    }

    /// "7ffff7ff0000-7ffff7fff000 rw-p 00000000 [anon]" like a line of /proc/PID/maps.
    init(
        id: VMAID, start: UInt64, end: UInt64, pgoff: UInt64, flags: VMFlags,
        file: FileRef? = nil, anonVMA: AnonVMA? = nil, anonVMAChainLength: Int = 1
    ) {
        self.id = id
        self.start = start
        self.end = end
        self.pgoff = pgoff
        self.flags = flags
        self.file = file
        self.anonSlot = AnonVMASlot(anonVMA)
        self.anonVMAChainLength = anonVMAChainLength
        self.writeSeq = 0
    }

    /// A copy of this VMA under a new identity (vm_area_dup()).
    func duplicate(as id: VMAID) -> VMA {
        var copy = VMA(id: id, start: start, end: end, pgoff: pgoff, flags: flags, file: file,
                       anonVMA: anonVMA, anonVMAChainLength: anonVMAChainLength)
        copy.privateData = privateData
        return copy
    }

    public var description: String {
        let perms = (flags.contains(.read) ? "r" : "-") + (flags.contains(.write) ? "w" : "-")
            + (flags.contains(.exec) ? "x" : "-") + (flags.contains(.mayShare) ? "s" : "p")
        func hex(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: max(0, 8 - digits.count)) + digits
        }
        let name = file?.file.name ?? "[anon]"
        return "\(hex(start))-\(hex(end)) \(perms) \(hex(pgoff << UserVM.pageShift)) \(name)"
    }

    public static func == (lhs: VMA, rhs: VMA) -> Bool {
        lhs.id == rhs.id && lhs.start == rhs.start && lhs.end == rhs.end && lhs.pgoff == rhs.pgoff
            && lhs.flags == rhs.flags && lhs.file == rhs.file && lhs.anonVMA === rhs.anonVMA
    }
}

/// Geometry of the user address space the model uses (x86-64, 4 KiB pages, 4-level paging).
public enum UserVM {
    /// PAGE_SHIFT.
    public static let pageShift: UInt64 = 12
    /// PAGE_SIZE.
    public static let pageSize: UInt64 = 1 << pageShift
    /// PMD_SIZE (HPAGE_PMD_SIZE): 2 MiB.
    public static let pmdSize: UInt64 = 1 << 21
    /// TASK_SIZE_MAX with 4-level paging: (1 << 47) - PAGE_SIZE.
    public static let taskSize: UInt64 = (1 << 47) - pageSize
    /// The default mmap_base without randomisation: TASK_SIZE minus the minimum gap of
    /// 128 MiB that mmap_base() keeps below the stack (arch/x86/mm/mmap.c).
    public static let mmapBase: UInt64 = taskSize - (128 << 20)
    /// CONFIG_DEFAULT_MMAP_MIN_ADDR on x86 (vm.mmap_min_addr).
    public static let mmapMinAddr: UInt64 = 65536
    /// DEFAULT_MAX_MAP_COUNT (vm.max_map_count).
    public static let maxMapCount = 65530
    /// stack_guard_gap: 256 pages.
    public static let stackGuardGap: UInt64 = 256 << pageShift

    /// PAGE_ALIGN(), wrapping like the kernel's unsigned arithmetic: a length within a page
    /// of 2^64 becomes 0, which the callers then reject as the kernel does.
    static func pageAlign(_ value: UInt64) -> UInt64 { (value &+ (pageSize - 1)) & ~(pageSize - 1) }

    /// offset_in_page() != 0.
    static func isUnaligned(_ value: UInt64) -> Bool { value & (pageSize - 1) != 0 }

    /// The page-aligned end of [addr, addr + length), checked as madvise() and mseal()
    /// check their range: EINVAL for an unaligned start, for a length that PAGE_ALIGN()
    /// wraps to 0 (a small negative value), or for a range past 2^64; nil for an empty
    /// range, which both calls accept as a no-op.
    static func checkedEnd(addr: UInt64, length: UInt64) throws(Errno) -> UInt64? {
        if isUnaligned(addr) { throw Errno.EINVAL }
        let len = pageAlign(length)
        if length != 0 && len == 0 { throw Errno.EINVAL }
        let (end, overflow) = addr.addingReportingOverflow(len)
        if overflow { throw Errno.EINVAL }
        return end == addr ? nil : end
    }
}
