// Writes a census snapshot (the format is in SnapshotFormat.swift).
import Deflate
import Foundation

/// Accumulates the records of one snapshot in memory (a few MB) and writes them to a
/// file atomically, so that a failed census never leaves half a file in its place.
public struct SnapshotWriter {
    private var out = ByteWriter()
    private var records: UInt32 = 0
    private var pfns: UInt64 = 0

    public init(info: SnapshotInfo) {
        out.bytes += SnapshotFormat.magic
        out.u32(SnapshotFormat.version)
        out.u32(0)
        var text = ""
        for (key, value) in [
            ("kernel_release", info.kernelRelease), ("kernel_version", info.kernelVersion),
            ("machine", info.machine), ("arch", info.arch), ("page_size", String(info.pageSize)),
            ("pages_per_section", String(info.pagesPerSection)), ("created_at", String(info.createdAt)),
        ] {
            text += key + "=" + value.replacingOccurrences(of: "\n", with: " ") + "\n"
        }
        record(.info, Array(text.utf8))
        for name in info.files.keys.sorted() {
            record(.file, Array(name.utf8) + [0] + (info.files[name] ?? []))
        }
    }

    private mutating func record(_ tag: SnapshotFormat.Tag, _ raw: [UInt8]) {
        let stored = Zlib.compress(raw, format: .zlib)
        out.bytes += tag.bytes
        out.u32(UInt32(raw.count))
        out.u32(UInt32(stored.count))
        out.u32(Zlib.crc32(stored))
        out.bytes += stored
        records += 1
    }

    /// Appends the next `count` pfns (in pfn order, continuing the previous call), as
    /// PFNS records of at most `SnapshotFormat.chunkPfns` pfns each.
    public mutating func append(flags: [UInt64], counts: [UInt64], cgroups: [UInt64], count: Int) {
        let count = min(count, flags.count, counts.count, cgroups.count)
        flags.withUnsafeBufferPointer { f in
            counts.withUnsafeBufferPointer { c in
                cgroups.withUnsafeBufferPointer { g in
                    var start = 0
                    while start < count {
                        let end = min(start + SnapshotFormat.chunkPfns, count)
                        append(flags: UnsafeBufferPointer(rebasing: f[start..<end]),
                               counts: UnsafeBufferPointer(rebasing: c[start..<end]),
                               cgroups: UnsafeBufferPointer(rebasing: g[start..<end]))
                        start = end
                    }
                }
            }
        }
    }

    /// One PFNS record for the given pfns (at most `SnapshotFormat.chunkPfns` of them), on
    /// buffers the caller owns.
    public mutating func append(flags: UnsafeBufferPointer<UInt64>, counts: UnsafeBufferPointer<UInt64>,
                                cgroups: UnsafeBufferPointer<UInt64>) {
        let count = min(flags.count, counts.count, cgroups.count)
        var chunk = ByteWriter()
        chunk.u64(pfns)
        chunk.u32(UInt32(count))
        for values in [flags, counts, cgroups] { chunk.runs(values, count: count) }
        record(.pfns, chunk.bytes)
        pfns += UInt64(count)
    }

    /// The whole file, END record included.
    public func finished() -> [UInt8] {
        var copy = self
        var end = ByteWriter()
        end.u64(pfns)
        end.u32(records)
        copy.record(.end, end.bytes)
        return copy.out.bytes
    }

    /// Writes the file as `OutputFile` does: atomically (a temporary file in the same
    /// directory, then rename) for a regular file, in place for a device or a FIFO.
    public func write(to path: String) throws(CensusError) {
        try OutputFile.write(finished(), to: path)
    }
}
