// File I/O through the page cache with Linux's errno results: pread64()/pwrite64()
// (fs/read_write.c: ksys_pread64(), vfs_read(), vfs_write(), rw_verify_area()),
// filemap_read() and generic_perform_write() (mm/filemap.c), shmem_file_read_iter() and
// shmem_write_begin()/shmem_write_end() (mm/shmem.c), ftruncate() (fs/open.c:
// do_ftruncate(), fs/attr.c: inode_newsize_ok()) and fallocate() (fs/open.c:
// vfs_fallocate(), mm/shmem.c: shmem_fallocate()).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// fallocate() mode bits (include/uapi/linux/falloc.h).
public struct FallocateMode: OptionSet, Sendable, Hashable {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }
    /// FALLOC_FL_KEEP_SIZE: do not change i_size.
    public static let keepSize = FallocateMode(rawValue: 0x01)
    /// FALLOC_FL_PUNCH_HOLE: free the range (requires KEEP_SIZE).
    public static let punchHole = FallocateMode(rawValue: 0x02)
    /// FALLOC_FL_COLLAPSE_RANGE (not supported by the model's filesystems).
    public static let collapseRange = FallocateMode(rawValue: 0x08)
    /// FALLOC_FL_ZERO_RANGE (not supported by the model's filesystems).
    public static let zeroRange = FallocateMode(rawValue: 0x10)
    /// FALLOC_FL_INSERT_RANGE (not supported by the model's filesystems).
    public static let insertRange = FallocateMode(rawValue: 0x20)
    /// FALLOC_FL_UNSHARE_RANGE (not supported by the model's filesystems).
    public static let unshareRange = FallocateMode(rawValue: 0x40)
    /// FALLOC_FL_WRITE_ZEROES (v6.17+; not supported by the model's filesystems).
    public static let writeZeroes = FallocateMode(rawValue: 0x80)
    /// FALLOC_FL_MODE_MASK: the mutually exclusive operations.
    static let modeMask: Int32 = 0x02 | 0x08 | 0x10 | 0x20 | 0x40 | 0x80
}

extension OpenFile {
    /// Linux: `pread64(fd, buf, count, offset)`: up to `count` bytes from `offset`, fewer
    /// at end of file, none at or past it. Reads go through page-cache folios: a disk
    /// file's missing folios are created from its blocks (`filemap_read()`); a shmem
    /// hole reads as zeroes without allocating (`shmem_file_read_iter()` with SGP_READ).
    /// EINVAL for a negative offset or count (`(ssize_t)count < 0`), EBADF on a file not
    /// open for reading, ENOMEM when no folio can be allocated before anything was read.
    public func pread(count: Int, offset: Int64) throws(Errno) -> [UInt8] {
        guard offset >= 0 else { throw .EINVAL }
        guard mode.contains(.read) else { throw .EBADF }
        guard count >= 0 else { throw .EINVAL }
        let size = inode.size
        guard count > 0, offset < size else { return [] }
        let total = Int(min(Int64(min(count, FileLimits.maxRWCount)), size - offset))
        var out = [UInt8](repeating: 0, count: total)
        let mapping = inode.mapping, machine = inode.machine
        let shift = UInt64(FileLimits.pageShift), pageSize = UInt64(FileLimits.pageSize)
        var done = 0
        while done < total {
            let position = UInt64(offset) + UInt64(done)
            let index = position >> shift
            let folio: Folio?
            if inode.kind == .shmem {
                do throws(Errno) { folio = try mapping.lookupOrSwapIn(index) }
                catch {
                    if done > 0 { break }
                    throw error
                }
            } else {
                do throws(Errno) { folio = try mapping.getOrCreate(index) }
                catch {
                    if done > 0 { break }
                    throw error
                }
            }
            guard let folio else {
                // A shmem hole: ZERO_PAGE to the end of this page.
                done += Int(min(UInt64(total - done), pageSize - (position & (pageSize - 1))))
                continue
            }
            let (inFolio, chunk) = Self.span(of: folio, at: position, remaining: total - done)
            if let base = machine.frames.pointer(pfn: folio.pfn) {
                out.withUnsafeMutableBytes { buffer in
                    _ = memcpy(buffer.baseAddress! + done, base + inFolio, chunk)
                }
            }
            machine.folioPut(folio)
            done += chunk
        }
        if done < total { out.removeLast(total - done) }
        return out
    }

    /// Linux: `pwrite64(fd, buf, count, offset)`: writes through page-cache folios
    /// (created with the inode's preferred order, filled from the disk blocks or zeroed),
    /// each locked while it is copied into and then marked dirty (`folio_mark_dirty()`:
    /// counted on disk, PG_dirty only on shmem); i_size grows to the end of what was
    /// written. Returns the bytes written, fewer than asked at `s_maxbytes`.
    /// EINVAL for a negative offset, EBADF on a file not open for writing, EFBIG for an
    /// offset at or past `s_maxbytes` (`generic_write_check_limits()`), ENOMEM when no
    /// folio can be allocated before anything was written.
    @discardableResult
    public func pwrite(_ bytes: [UInt8], offset: Int64) throws(Errno) -> Int {
        guard offset >= 0 else { throw .EINVAL }
        guard mode.contains(.write) else { throw .EBADF }
        guard !bytes.isEmpty else { return 0 }
        let maxBytes = inode.maxBytes
        guard offset < maxBytes else { throw .EFBIG }
        let total = Int(min(Int64(min(bytes.count, FileLimits.maxRWCount)), maxBytes - offset))
        let mapping = inode.mapping, machine = inode.machine
        let shift = UInt64(FileLimits.pageShift)
        return try inode.rwsem.withLock { () throws(Errno) -> Int in
            var done = 0
            while done < total {
                let position = UInt64(offset) + UInt64(done)
                let folio: Folio
                do throws(Errno) { folio = try mapping.getOrCreate(position >> shift) }
                catch {
                    if done > 0 { break }
                    throw error
                }
                folio.lock()
                guard folio.mapping == mapping.address else {
                    // Removed between lookup and lock (reclaim): look again.
                    folio.unlock()
                    machine.folioPut(folio)
                    continue
                }
                let (inFolio, chunk) = Self.span(of: folio, at: position, remaining: total - done)
                if let base = machine.frames.pointer(pfn: folio.pfn) {
                    bytes.withUnsafeBytes { buffer in
                        _ = memcpy(base + inFolio, buffer.baseAddress! + done, chunk)
                    }
                }
                mapping.folioMarkDirty(folio)
                folio.unlock()
                machine.folioPut(folio)
                done += chunk
                let end = Int64(position) + Int64(chunk)
                if end > inode.size { inode.setSize(end) }
            }
            return done
        }
    }

    /// The bytes of page-cache `folio` that a read or write at file offset `position`
    /// with `remaining` bytes to go covers: from `offset` into the folio's data, `count`
    /// of them (up to the folio's end), as filemap_read() and generic_perform_write()
    /// copy folio by folio.
    private static func span(of folio: Folio, at position: UInt64, remaining: Int) -> (offset: Int, count: Int) {
        let shift = UInt64(FileLimits.pageShift)
        let folioStart = folio.index << shift
        let folioEnd = folioStart + UInt64(folio.nrPages) << shift
        return (Int(position - folioStart), Int(min(UInt64(remaining), folioEnd - position)))
    }

    /// Linux: `ftruncate(fd, length)`. Shrinking: i_size first, then every mapper's
    /// `unmap_mapping_range()` from the new end of file (COWs included), the folios past
    /// it leave the cache, the tail of a partial page (or partial large folio) is zeroed,
    /// disk blocks past it are freed. Growing: the new range reads as zeroes.
    /// EINVAL for a negative length or a file not open for writing (`do_ftruncate()`),
    /// EFBIG past `s_maxbytes` (`inode_newsize_ok()`).
    public func ftruncate(_ length: Int64) throws(Errno) {
        guard length >= 0 else { throw .EINVAL }
        guard mode.contains(.write) else { throw .EINVAL }
        guard length <= inode.maxBytes else { throw .EFBIG }
        let mapping = inode.mapping
        inode.rwsem.withLock {
            let old = inode.size
            if length < old {
                inode.setSize(length)
                mapping.truncateRange(start: UInt64(length), end: .max, evenCows: true)
            } else if length > old {
                mapping.zeroTailPastEOF(UInt64(old))
                inode.setSize(length)
            }
        }
    }

    /// Linux: `fallocate(fd, mode, offset, len)`.
    /// - mode 0 / FALLOC_FL_KEEP_SIZE: allocate the range (disk: zeroed blocks for the
    ///   holes; shmem: zeroed folios for the holes, marked dirty as `shmem_fallocate()`
    ///   does so that reclaim would swap rather than drop them); i_size grows to
    ///   offset + len unless KEEP_SIZE.
    /// - FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE: unmap the whole pages of the range
    ///   (private COW copies kept), drop their folios, zero partial pages, free the blocks.
    /// Errors in `vfs_fallocate()`'s order: EINVAL for offset < 0 or len <= 0;
    /// EOPNOTSUPP for unknown bits, PUNCH_HOLE without KEEP_SIZE, or a mode the model's
    /// filesystems do not implement (COLLAPSE, INSERT, ZERO, UNSHARE, WRITE_ZEROES); EBADF
    /// on a file not open for writing; EFBIG when offset + len passes `s_maxbytes` or
    /// overflows; ENOMEM when shmem runs out of memory (folios already added stay).
    public func fallocate(mode fallocMode: FallocateMode, offset: Int64, length: Int64) throws(Errno) {
        guard offset >= 0, length > 0 else { throw .EINVAL }
        let raw = fallocMode.rawValue
        guard raw & ~(FallocateMode.modeMask | FallocateMode.keepSize.rawValue) == 0 else { throw .EOPNOTSUPP }
        let operation = raw & FallocateMode.modeMask
        switch operation {
        case 0: break
        case FallocateMode.punchHole.rawValue:
            guard fallocMode.contains(.keepSize) else { throw .EOPNOTSUPP }
        case FallocateMode.collapseRange.rawValue, FallocateMode.insertRange.rawValue:
            guard !fallocMode.contains(.keepSize) else { throw .EOPNOTSUPP }
        case FallocateMode.zeroRange.rawValue, FallocateMode.unshareRange.rawValue, FallocateMode.writeZeroes.rawValue: break
        default: throw .EOPNOTSUPP
        }
        guard mode.contains(.write) else { throw .EBADF }
        let (end, overflow) = offset.addingReportingOverflow(length)
        guard !overflow, end <= inode.maxBytes else { throw .EFBIG }
        // The model's filesystems (like shmem_fallocate()) implement allocate and punch only.
        guard operation == 0 || operation == FallocateMode.punchHole.rawValue else { throw .EOPNOTSUPP }
        let mapping = inode.mapping, machine = inode.machine
        let shift = UInt64(FileLimits.pageShift)
        try inode.rwsem.withLock { () throws(Errno) in
            if operation == FallocateMode.punchHole.rawValue {
                mapping.truncateRange(start: UInt64(offset), end: UInt64(end), evenCows: false)
                return
            }
            let first = UInt64(offset) >> shift, last = (UInt64(end) - 1) >> shift
            if let blocks = inode.blocks {
                blocks.allocate(first, last)
            } else {
                var index = first
                while index <= last {
                    let folio = try mapping.getOrCreate(index)
                    mapping.folioMarkDirty(folio)
                    index = folio.index + UInt64(folio.nrPages)
                    machine.folioPut(folio)
                }
            }
            if !fallocMode.contains(.keepSize), end > inode.size {
                mapping.zeroTailPastEOF(UInt64(inode.size))
                inode.setSize(end)
            }
        }
    }
}
