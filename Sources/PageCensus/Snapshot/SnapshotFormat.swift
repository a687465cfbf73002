// The census snapshot file: a versioned, checksummed, compressed record of one census,
// so that it can be analysed on any machine (`pagelab census --save` / `--from`).
//
//   file    = header record* END
//   header  = "PGLBCENS" (8 bytes) | version u32 LE | reserved u32 (0)
//   record  = tag (4 ASCII bytes) | raw length u32 | stored length u32 | CRC-32 u32 of
//             the stored bytes | stored bytes (a zlib stream of the raw bytes)
//   INFO    = "key=value\n" lines: kernel_release, kernel_version, machine, arch,
//             page_size, pages_per_section, created_at
//   FILE    = name NUL bytes: one /proc text file (iomem, zoneinfo, ..., config.gz)
//   PFNS    = first pfn u64 | pfn count u32 | flags, counts, cgroups: each a run-length
//             list of (run length, value) LEB128 pairs covering `pfn count` pfns
//   "END "  = total pfns u64 | number of records before it u32
//
// Every integer is little-endian. Runs are long (tails carry the folio's flags, free
// blocks and uninitialised memmap are uniform), so a 24 GiB machine takes about 1 MB.

enum SnapshotFormat {
    static let magic: [UInt8] = Array("PGLBCENS".utf8)
    static let version: UInt32 = 1
    static let headerSize = 16
    static let recordHeaderSize = 16
    /// Pfns per PFNS record: 2^18 (1 GiB of 4 KiB pages), a multiple of every section
    /// size and of the largest folio, so no folio or section straddles two records.
    static let chunkPfns = 1 << 18

    enum Tag: String {
        case info = "INFO", file = "FILE", pfns = "PFNS", end = "END "
        var bytes: [UInt8] { Array(rawValue.utf8) }
    }
}

/// Little-endian integers and LEB128 varints into and out of byte arrays.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u32(_ value: UInt32) {
        for shift in stride(from: 0, to: 32, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    mutating func u64(_ value: UInt64) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Run-length encodes `values[range]` as (length, value) varint pairs.
    mutating func runs(_ values: UnsafeBufferPointer<UInt64>, count: Int) {
        var i = 0
        while i < count {
            let value = values[i]
            var j = i + 1
            while j < count && values[j] == value { j += 1 }
            varint(UInt64(j - i))
            varint(value)
            i = j
        }
    }
}

/// Reads what `ByteWriter` wrote; every read is bounds-checked and throws a message.
struct ByteReader {
    let bytes: [UInt8]
    var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - position }

    mutating func u32() throws(SnapshotDecodeError) -> UInt32 { try littleEndian() }

    mutating func u64() throws(SnapshotDecodeError) -> UInt64 { try littleEndian() }

    /// A little-endian unsigned integer of T's width.
    private mutating func littleEndian<T: FixedWidthInteger & UnsignedInteger>() throws(SnapshotDecodeError) -> T {
        let width = MemoryLayout<T>.size
        guard remaining >= width else { throw SnapshotDecodeError("truncated (need \(width) bytes, have \(remaining))") }
        var value: T = 0
        for k in 0..<width { value |= T(bytes[position + k]) << (8 * k) }
        position += width
        return value
    }

    mutating func varint() throws(SnapshotDecodeError) -> UInt64 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < bytes.count else { throw SnapshotDecodeError("truncated varint") }
            let byte = bytes[position]
            position += 1
            guard shift < 64 else { throw SnapshotDecodeError("varint too long") }
            value |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return value }
            shift += 7
        }
    }

    /// Decodes a run-length list covering exactly `count` values into `out[0..<count]`.
    mutating func runs(into out: inout [UInt64], count: Int) throws(SnapshotDecodeError) {
        var i = 0
        while i < count {
            let length = try varint()
            let value = try varint()
            guard length > 0, length <= UInt64(count - i) else {
                throw SnapshotDecodeError("run of \(length) pfns overruns the record's \(count)")
            }
            let end = i + Int(length)
            for j in i..<end { out[j] = value }
            i = end
        }
    }
}

/// A decoding failure inside one record, before the record's offset is attached.
struct SnapshotDecodeError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}
