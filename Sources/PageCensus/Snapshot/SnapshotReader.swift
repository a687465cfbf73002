// Reads a census snapshot back (the format is in SnapshotFormat.swift) and runs the same
// classification over it as a live census.
import Deflate

public enum SnapshotReader {
    /// Reads and analyses the snapshot at `path`. Every fault (bad magic, another
    /// version, a checksum or zlib failure, truncation, a malformed record) is a
    /// `CensusError.badSnapshot` naming the file and the byte offset where it is.
    public static func census(path: String, picture: Bool = false) throws(CensusError) -> Census {
        try census(bytes: try WholeFile.bytes(path, limit: maxFileBytes), path: path, picture: picture)
    }

    /// A snapshot of the largest machine (2^40 pfns, every pfn a run of its own) would be
    /// far larger, but real ones are a few MB: 4 GiB refuses a disk image.
    static let maxFileBytes = 4 << 30

    /// The most a record of each kind may inflate to, checked before inflating: INFO is a
    /// few key=value lines; FILE a /proc text file or config.gz; PFNS its header and three
    /// run lists of at most `chunkPfns` runs of two 10-byte varints; END 12 bytes.
    static func maxRawLength(_ tag: SnapshotFormat.Tag) -> Int {
        switch tag {
        case .info: 64 << 10
        case .file: 64 << 20
        case .pfns: 12 + 3 * SnapshotFormat.chunkPfns * 20
        case .end: 12
        }
    }

    public static func census(bytes: [UInt8], path: String, picture: Bool = false) throws(CensusError) -> Census {
        func bad(_ offset: Int, _ reason: String) -> CensusError { .badSnapshot(path: path, offset: offset, reason: reason) }
        guard bytes.count >= SnapshotFormat.headerSize else {
            throw bad(bytes.count, "truncated header (\(bytes.count) of \(SnapshotFormat.headerSize) bytes)")
        }
        guard Array(bytes[0..<8]) == SnapshotFormat.magic else { throw bad(0, "wrong magic (not a pagelab census snapshot)") }
        var header = ByteReader(bytes)
        header.position = 8
        let version = (try? header.u32()) ?? 0
        guard version == SnapshotFormat.version else {
            throw bad(8, "unsupported version \(version) (this pagelab reads version \(SnapshotFormat.version))")
        }

        var info = SnapshotInfo(kernelRelease: "")
        var builder: CensusBuilder?
        // Sized by the first PFNS record (a small host's snapshot is one short record):
        // three chunk-sized buffers per file cost a fleet of 1,000 small hosts 6 GB of memset.
        var flags: [UInt64] = [], counts: [UInt64] = [], cgroups: [UInt64] = []
        var offset = SnapshotFormat.headerSize
        var records: UInt32 = 0
        var pfns: UInt64 = 0
        var infoOffset = SnapshotFormat.headerSize
        var fileOffsets: [String: Int] = [:]
        /// The INFO values and the /proc files, checked once all of them are read; a
        /// problem is reported at the record that holds it.
        func validate() throws(CensusError) {
            do { try info.validate() } catch {
                throw bad(error.file.flatMap { fileOffsets[$0] } ?? infoOffset, error.located)
            }
        }
        while true {
            guard offset < bytes.count else { throw bad(offset, "truncated: the END record is missing") }
            guard bytes.count - offset >= SnapshotFormat.recordHeaderSize else {
                throw bad(offset, "truncated record header (\(bytes.count - offset) of \(SnapshotFormat.recordHeaderSize) bytes)")
            }
            var reader = ByteReader(bytes)
            reader.position = offset + 4
            let tagText = String(decoding: bytes[offset..<offset + 4], as: UTF8.self)
            guard let tag = SnapshotFormat.Tag(rawValue: tagText) else { throw bad(offset, "unknown record type \"\(tagText)\"") }
            let rawLength = Int((try? reader.u32()) ?? 0)
            let storedLength = Int((try? reader.u32()) ?? 0)
            let crc = (try? reader.u32()) ?? 0
            let start = offset + SnapshotFormat.recordHeaderSize
            guard storedLength <= bytes.count - start else {
                throw bad(offset, "truncated \(tagText) record (needs \(storedLength) bytes, \(bytes.count - start) left)")
            }
            guard rawLength <= maxRawLength(tag) else {
                throw bad(offset, "\(tagText) record declares \(rawLength) bytes, more than the \(maxRawLength(tag)) such a record can hold")
            }
            let stored = Array(bytes[start..<start + storedLength])
            guard Zlib.crc32(stored) == crc else { throw bad(offset, "checksum mismatch in \(tagText) record") }
            let raw: [UInt8]
            do { raw = try Zlib.decompress(stored, sizeHint: rawLength, limit: rawLength) } catch {
                throw bad(start, "corrupt \(tagText) record: \(error)")
            }
            guard raw.count == rawLength else { throw bad(start, "\(tagText) record inflates to \(raw.count) bytes, not \(rawLength)") }
            // The INFO values and the /proc files are all read before the first PFNS record.
            if builder == nil, tag == .pfns || tag == .end { try validate() }
            do throws(SnapshotDecodeError) {
                switch tag {
                case .info:
                    guard records == 0 else { throw SnapshotDecodeError("INFO record after the first") }
                    info = try parseInfo(raw)
                    infoOffset = offset
                case .file:
                    guard let nul = raw.firstIndex(of: 0) else { throw SnapshotDecodeError("FILE record without a name") }
                    guard builder == nil else { throw SnapshotDecodeError("FILE record after the PFNS records") }
                    let name = String(decoding: raw[0..<nul], as: UTF8.self)
                    info.files[name] = Array(raw[(nul + 1)...])
                    fileOffsets[name] = offset
                case .pfns:
                    var body = ByteReader(raw)
                    let first = try body.u64()
                    let count = Int(try body.u32())
                    guard first == pfns else { throw SnapshotDecodeError("PFNS record starts at pfn \(first), expected \(pfns)") }
                    guard count <= SnapshotFormat.chunkPfns else { throw SnapshotDecodeError("PFNS record of \(count) pfns is too large") }
                    guard pfns + UInt64(count) <= UInt64(info.maxPfns) else {
                        throw SnapshotDecodeError("PFNS record reaches pfn \(pfns + UInt64(count)), beyond the \(info.maxPfns) pfns of MAX_PHYSMEM_BITS")
                    }
                    if flags.count < count {
                        flags = [UInt64](repeating: 0, count: count)
                        counts = flags
                        cgroups = flags
                    }
                    try body.runs(into: &flags, count: count)
                    try body.runs(into: &counts, count: count)
                    try body.runs(into: &cgroups, count: count)
                    guard body.remaining == 0 else { throw SnapshotDecodeError("\(body.remaining) stray bytes after the pfns") }
                    if builder == nil { builder = CensusBuilder(info: info, picture: picture, expectedPfns: LiveCensus.expectedPfns(info)) }
                    if count == flags.count {
                        builder?.consume(flags: flags, counts: counts, cgroups: cgroups)
                    } else {
                        builder?.consume(flags: Array(flags[0..<count]), counts: Array(counts[0..<count]),
                                         cgroups: Array(cgroups[0..<count]))
                    }
                    pfns += UInt64(count)
                case .end:
                    var body = ByteReader(raw)
                    let total = try body.u64()
                    let before = try body.u32()
                    guard total == pfns, before == records else {
                        throw SnapshotDecodeError("END record says \(total) pfns in \(before) records, found \(pfns) in \(records)")
                    }
                    guard start + storedLength == bytes.count else {
                        throw SnapshotDecodeError("\(bytes.count - start - storedLength) bytes after the END record")
                    }
                    var finalBuilder = builder ?? CensusBuilder(info: info)
                    var census = finalBuilder.finish()
                    census.info = info
                    return census
                }
            } catch {
                throw bad(start, error.message)
            }
            records += 1
            offset = start + storedLength
        }
    }

    /// The INFO record's key=value lines. A numeric field that is not a decimal integer
    /// is an error naming it (never a default in its place).
    private static func parseInfo(_ raw: [UInt8]) throws(SnapshotDecodeError) -> SnapshotInfo {
        var values: [String: String] = [:]
        for line in String(decoding: raw, as: UTF8.self).split(separator: "\n") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            values[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        func number(_ key: String, default fallback: Int) throws(SnapshotDecodeError) -> Int {
            guard let text = values[key] else { return fallback }
            guard let value = Int(text) else { throw SnapshotDecodeError("INFO \(key) \(text.debugDescription) is not an integer") }
            return value
        }
        return SnapshotInfo(
            kernelRelease: values["kernel_release"] ?? "", kernelVersion: values["kernel_version"] ?? "",
            machine: values["machine"] ?? "", arch: values["arch"] ?? "x86_64",
            pageSize: try number("page_size", default: 4096),
            pagesPerSection: try number("pages_per_section", default: 1 << 15),
            createdAt: try number("created_at", default: 0))
    }
}
