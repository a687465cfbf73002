// The one owner of raw host memory in the model: an anonymous mapping that is
// released when the owner goes away. Every other type borrows its pointers.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An anonymous private mapping of `byteCount` bytes. With `noReserve`, the mapping is a
/// sparse reservation (`MAP_NORESERVE`): only the pages that are touched cost host
/// memory, which is what lets a 1 TiB model machine run on a small host. The contents
/// start zeroed, as the kernel's memblock_alloc() and vzalloc() hand out.
///
/// Invariant: `base` stays valid for the lifetime of this object; views that hold
/// pointers into it must not outlive the `Machine` that owns it.
public final class RawRegion: @unchecked Sendable {
    public let base: UnsafeMutableRawPointer
    public let byteCount: Int

    /// Maps `byteCount` bytes (rounded up to the host page size).
    public init(byteCount: Int, noReserve: Bool, what: String) throws(MachineError) {
        let hostPage = Int(sysconf(Int32(_SC_PAGESIZE)))
        let length = max(hostPage, (byteCount + hostPage - 1) / hostPage * hostPage)
        var flags = MAP_PRIVATE | MAP_ANONYMOUS
        if noReserve { flags |= MAP_NORESERVE }
        guard let pointer = mmap(nil, length, PROT_READ | PROT_WRITE, flags, -1, 0),
              pointer != MAP_FAILED else {
            throw .hostMemory(what: what, bytes: UInt64(length), errno: errno)
        }
        base = pointer
        self.byteCount = length
    }

    /// Returns a range of whole host pages to the host (MADV_DONTNEED): they read back as
    /// zeroes and stop counting towards RSS. Used when a model frame or section is freed.
    public func discard(offset: Int, length: Int) {
        _ = madvise(base + offset, length, MADV_DONTNEED)
    }

    /// Bytes of the mapping the host holds in memory now (`mincore()`): what a sparse
    /// reservation really costs. 0 if the host cannot say.
    public var residentBytes: Int {
        let hostPage = Int(sysconf(Int32(_SC_PAGESIZE)))
        var vector = [UInt8](repeating: 0, count: byteCount / hostPage)
        guard mincore(base, byteCount, &vector) == 0 else { return 0 }
        return vector.reduce(0) { $0 + Int($1 & 1) } * hostPage
    }

    deinit {
        munmap(base, byteCount)
    }
}
