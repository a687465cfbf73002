// Building hostile inputs for the census readers: snapshots with any INFO text, any
// declared lengths and any /proc files, and fake /proc directories.
import Deflate
import Foundation
@testable import PageCensus

/// A snapshot written record by record, so a test can put anything in it (the writer
/// only writes what a census has).
struct RawSnapshot {
    var bytes: [UInt8] = SnapshotFormat.magic + [1, 0, 0, 0, 0, 0, 0, 0]
    var records: UInt32 = 0
    var pfns: UInt64 = 0
    /// Where each record starts, in order.
    var offsets: [Int] = []

    mutating func record(_ tag: String, _ raw: [UInt8], declaredLength: UInt32? = nil) {
        offsets.append(bytes.count)
        let stored = Zlib.compress(raw, format: .zlib)
        var writer = ByteWriter()
        writer.bytes = Array(tag.utf8)
        writer.u32(declaredLength ?? UInt32(raw.count))
        writer.u32(UInt32(stored.count))
        writer.u32(Zlib.crc32(stored))
        bytes += writer.bytes + stored
        records += 1
    }

    mutating func info(_ text: String) { record("INFO", Array(text.utf8)) }

    mutating func file(_ name: String, _ text: String) { record("FILE", Array(name.utf8) + [0] + Array(text.utf8)) }

    /// One PFNS record of `flags` (counts and cgroups given or zero).
    mutating func pfns(_ flags: [UInt64], counts: [UInt64]? = nil, cgroups: [UInt64]? = nil) {
        var writer = ByteWriter()
        writer.u64(pfns)
        writer.u32(UInt32(flags.count))
        let zeros = [UInt64](repeating: 0, count: flags.count)
        for values: [UInt64] in [flags, counts ?? zeros, cgroups ?? zeros] {
            values.withUnsafeBufferPointer { writer.runs($0, count: values.count) }
        }
        record("PFNS", writer.bytes)
        pfns += UInt64(flags.count)
    }

    /// The file, with its END record.
    func finished() -> [UInt8] {
        var copy = self
        var writer = ByteWriter()
        writer.u64(pfns)
        writer.u32(records)
        copy.record("END ", writer.bytes)
        return copy.bytes
    }

    static let goodInfo = "kernel_release=6.19.0\nmachine=t\narch=x86_64\npage_size=4096\npages_per_section=32768\ncreated_at=1\n"

    /// A whole snapshot of `pfns` free pfns with the given INFO and files.
    static func with(info: String = goodInfo, files: [(String, String)] = [], pfns: Int = 32768) -> [UInt8] {
        var raw = RawSnapshot()
        raw.info(info)
        for (name, text) in files { raw.file(name, text) }
        raw.pfns([UInt64](repeating: 0, count: pfns))
        return raw.finished()
    }
}

/// A directory laid out as /proc for `pagelab census --proc`: the pfn files as u64
/// arrays (little-endian, as the kernel writes them), the text files as given.
struct FakeProc {
    let url: URL
    var path: String { url.path }

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("pagelab-proc-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func pfnFile(_ name: String, _ values: [UInt64]) throws {
        try Data(values.flatMap { value in (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } })
            .write(to: url.appendingPathComponent(name))
    }

    func bytes(_ name: String, _ bytes: [UInt8]) throws { try Data(bytes).write(to: url.appendingPathComponent(name)) }

    func text(_ name: String, _ text: String) throws { try bytes(name, Array(text.utf8)) }

    func symlink(_ name: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(atPath: url.appendingPathComponent(name).path, withDestinationPath: target)
    }

    func fifo(_ name: String) -> Bool { mkfifo(url.appendingPathComponent(name).path, 0o600) == 0 }

    /// A machine of one 128 MiB section of RAM (32768 pfns on x86-64), every pfn free.
    static func oneSection() throws -> FakeProc {
        let proc = try FakeProc()
        try proc.text("iomem", "00000000-07ffffff : System RAM\n")
        try proc.pfnFile("kpageflags", [UInt64](repeating: 1 << 10, count: 32768))
        try proc.pfnFile("kpagecount", [UInt64](repeating: 0, count: 32768))
        try proc.pfnFile("kpagecgroup", [UInt64](repeating: 0, count: 32768))
        return proc
    }

    func remove() { try? FileManager.default.removeItem(at: url) }
}
