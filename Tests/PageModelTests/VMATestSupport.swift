// Helpers for the VMA tests: the kernel's tools/testing/vma harness in miniature
// (alloc_and_link_vma(), merge_new(), merge_existing(), cleanup_mm()), a recording
// page-ops hook, and a test file.
@testable import PageModel
import Synchronization

/// VMA_READ | VMA_WRITE | VMA_MAYREAD | VMA_MAYWRITE, the kernel merge tests' flags.
let testFlags: VMFlags = [.read, .write, .mayRead, .mayWrite]
/// The flags of a fresh private anonymous read-write mapping: "rd wr mr mw me ac sd".
let anonRWFlags: VMFlags = [.read, .write, .mayRead, .mayWrite, .mayExec, .account, .softDirty]
let pageBytes = UserVM.pageSize

/// The fixture of the suites that test the address space's system calls (mmap, munmap,
/// mprotect, mremap, madvise, mlock, mseal) on an MM of their own: fixed anonymous
/// mappings from one base address.
protocol FixedAnonSuite {}

extension FixedAnonSuite {
    /// MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED.
    var anon: MapFlags { [.private, .anonymous, .fixed] }
    var base: UInt64 { 0x1000_0000 }

    /// An address space that records its page operations, with `pages` read-write
    /// pages mapped at `base` (`anon`) and the log of that mmap cleared: where most
    /// cases start.
    func mapped(pages: UInt64) throws -> (MM, RecordingPageOps) {
        let ops = RecordingPageOps()
        let mm = MM(pageOps: ops)
        try mm.mmap(addr: base, length: pages * pageBytes, prot: [.read, .write], flags: anon)
        ops.clear()
        return (mm, ops)
    }
}

/// start, end and pgoff of one VMA, for comparing whole VMA lists.
struct Span: Equatable, CustomStringConvertible {
    let start: UInt64
    let end: UInt64
    let pgoff: UInt64
    init(_ start: UInt64, _ end: UInt64, _ pgoff: UInt64) {
        self.start = start
        self.end = end
        self.pgoff = pgoff
    }
    var description: String { "[\(String(start, radix: 16))-\(String(end, radix: 16)) pg \(String(pgoff, radix: 16))]" }
}

extension MM {
    /// The VMAs as spans.
    var spans: [Span] { vmas.map { Span($0.start, $0.end, $0.pgoff) } }

    /// alloc_and_link_vma().
    @discardableResult
    func link(_ start: UInt64, _ end: UInt64, _ pgoff: UInt64, _ flags: VMFlags = testFlags,
              file: (any MappedFile)? = nil, anon: AnonVMA? = nil) -> VMAID {
        mmapLock.withWriteLock {
            let index = lockedLinkVMA(start: start, end: end, pgoff: pgoff, flags: flags,
                                      file: file.map(FileRef.init), anonVMA: anon)
            return tree[index].id
        }
    }

    /// The VMA with this identity.
    func vma(_ id: VMAID) -> VMA? { vmas.first { $0.id == id } }

    /// Sets a VMA's anon_vma (vma_set_dummy_anon_vma()).
    func setAnon(_ id: VMAID, _ anon: AnonVMA?, chainLength: Int = 1) {
        mmapLock.withWriteLock {
            guard let index = tree.vmas.firstIndex(where: { $0.id == id }) else { return }
            tree[index].anonVMA = anon
            tree[index].anonVMAChainLength = chainLength
        }
    }

    /// Sets a VMA's flags directly.
    func setVMAFlags(_ id: VMAID, _ flags: VMFlags) {
        mmapLock.withWriteLock {
            guard let index = tree.vmas.firstIndex(where: { $0.id == id }) else { return }
            tree[index].flags = flags
        }
    }

    /// merge_new(): try to merge a new range; the id of the VMA it merged into, or nil.
    func mergeNew(_ start: UInt64, _ end: UInt64, _ pgoff: UInt64, _ flags: VMFlags = testFlags,
                  file: (any MappedFile)? = nil, anon: AnonVMA? = nil, justExpand: Bool = false) -> VMAID? {
        mmapLock.withWriteLock {
            var request = VMAMergeRequest(start: start, end: end, pgoff: pgoff, flags: flags,
                                          file: file.map(FileRef.init), anonVMA: anon, justExpand: justExpand)
            return mergeNewRange(&request).map { tree[$0].id }
        }
    }

    /// try_merge_new_vma(): merge, or else link a new VMA. Returns (id, merged).
    func tryMergeNew(_ start: UInt64, _ end: UInt64, _ pgoff: UInt64, _ flags: VMFlags) -> (VMAID, Bool) {
        if let id = mergeNew(start, end, pgoff, flags) { return (id, true) }
        return (link(start, end, pgoff, flags), false)
    }

    /// merge_existing(): the range of the VMA `middle` with new flags.
    func mergeExisting(middle: VMAID, _ start: UInt64, _ end: UInt64, _ pgoff: UInt64,
                       _ flags: VMFlags = testFlags, anon: AnonVMA? = nil) -> VMAID? {
        mmapLock.withWriteLock {
            guard let index = tree.vmas.firstIndex(where: { $0.id == middle }) else { return nil }
            var request = VMAMergeRequest(start: start, end: end, pgoff: pgoff, flags: flags,
                                          file: tree[index].file, anonVMA: anon, middle: index)
            return mergeExistingRange(&request).map { tree[$0].id }
        }
    }

    /// cleanup_mm(): unlink every VMA and return how many there were.
    @discardableResult
    func cleanup() -> Int {
        mmapLock.withWriteLock {
            let count = tree.count
            tree.removeSubrange(0..<count)
            return count
        }
    }

    /// A fresh anon_vma, as the kernel tests' dummy_anon_vma.
    func dummyAnonVMA() -> AnonVMA { newAnonVMA() }
}

/// A file for mapping: a size, an open mode and optionally a vm_ops->close hook.
final class TestFile: MappedFile {
    let size: UInt64
    let mode: FileMode
    let hasVMClose: Bool
    let name: String
    init(size: UInt64 = 1 << 20, mode: FileMode = [.read, .write], hasVMClose: Bool = false, name: String = "test.bin") {
        self.size = size
        self.mode = mode
        self.hasVMClose = hasVMClose
        self.name = name
    }
}

/// A character device whose mmap_prepare() marks the mapping as a PFN map, as a driver's
/// mmap that calls remap_pfn_range() does, or refuses.
final class DeviceFile: MappedFile {
    let size: UInt64 = 1 << 20
    var mode: FileMode { [.read, .write] }
    var name: String { "/dev/model" }
    let refuse: Bool
    init(refuse: Bool = false) { self.refuse = refuse }
    func mmapPrepare(flags: inout VMFlags, pgoff: UInt64, length: UInt64) throws(Errno) {
        if refuse { throw Errno.ENODEV }
        flags.formUnion([.io, .pfnMap, .dontExpand, .dontDump])
    }
}

/// A page-ops hook that records what the VMA layer asked of the page tables.
final class RecordingPageOps: VMAPageOps {
    enum Event: Equatable {
        case boundary(UInt64)
        case unmap(UInt64, UInt64)
        case freeTables(UInt64, UInt64, floor: UInt64, ceiling: UInt64)
        case protect(UInt64, UInt64, VMFlags)
        case move(from: UInt64, to: UInt64, length: UInt64)
        case advise(Advice, UInt64, UInt64)
        case collapse(UInt64, UInt64)
        case populate(UInt64, UInt64)
        case mlock(UInt64, UInt64, locked: Bool)
    }

    let log = Mutex<[Event]>([])
    /// When set, movePageTables() moves at most this many bytes.
    let moveLimit = Mutex<UInt64?>(nil)

    var events: [Event] { log.withLock { $0 } }
    func clear() { log.withLock { $0.removeAll() } }
    private func record(_ event: Event) { log.withLock { $0.append(event) } }

    func vmaBoundaryWillMove(_ vma: VMA, to addr: UInt64) { record(.boundary(addr)) }
    func unmapRange(_ vma: VMA, start: UInt64, end: UInt64) { record(.unmap(start, end)) }
    func freePageTables(start: UInt64, end: UInt64, floor: UInt64, ceiling: UInt64) {
        record(.freeTables(start, end, floor: floor, ceiling: ceiling))
    }
    func changeProtection(_ vma: VMA, start: UInt64, end: UInt64) {
        record(.protect(start, end, vma.flags))
    }
    func movePageTables(from: VMA, oldAddr: UInt64, to: VMA, newAddr: UInt64, length: UInt64) -> UInt64 {
        let moved = min(length, moveLimit.withLock { $0 } ?? length)
        record(.move(from: oldAddr, to: newAddr, length: moved))
        return moved
    }
    func advise(_ advice: Advice, _ vma: VMA, start: UInt64, end: UInt64) throws(Errno) {
        record(.advise(advice, start, end))
    }
    func collapse(_ vma: VMA, start: UInt64, end: UInt64) throws(Errno) {
        record(.collapse(start, end))
    }
    func populate(start: UInt64, end: UInt64) { record(.populate(start, end)) }
    func mlockRange(_ vma: VMA, start: UInt64, end: UInt64) {
        record(.mlock(start, end, locked: vma.flags.contains(.locked)))
    }
}
