import Foundation
import Testing
@testable import PageCensus

@Suite struct SnapshotTests {
    let machine = SyntheticMachine.standard()

    @Test func roundTripGivesTheSameCensus() throws {
        let bytes = machine.snapshot()
        let loaded = try SnapshotReader.census(bytes: bytes, path: "t.pglb", picture: true)
        #expect(loaded == machine.census())
        #expect(loaded.info == machine.info)
    }

    @Test func saveWritesAFileThatLoads() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("pagelab-snap-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.pglb").path
        var writer = SnapshotWriter(info: machine.info)
        writer.append(flags: machine.flags, counts: machine.counts, cgroups: machine.cgroups, count: machine.flags.count)
        try writer.write(to: path)
        #expect(try SnapshotReader.census(path: path).pfns == 16384)
    }

    private func error(_ bytes: [UInt8]) -> CensusError? {
        do { _ = try SnapshotReader.census(bytes: bytes, path: "bad.pglb"); return nil } catch { return error }
    }

    @Test func truncatedAtEveryRecordBoundaryAndInside() {
        let bytes = machine.snapshot()
        for cut in [0, 5, 15, 16, 20, 40, bytes.count / 2, bytes.count - 1] {
            guard case let .badSnapshot(path, offset, reason)? = error(Array(bytes[0..<cut])) else {
                Issue.record("cut at \(cut) was accepted"); continue
            }
            #expect(path == "bad.pglb")
            #expect(offset <= cut)
            #expect(reason.contains("truncated"), "\(reason)")
        }
    }

    @Test func wrongMagicVersionChecksumAndCorruption() {
        let bytes = machine.snapshot()
        var magic = bytes; magic[0] = 0x41
        #expect(error(magic) == .badSnapshot(path: "bad.pglb", offset: 0, reason: "wrong magic (not a pagelab census snapshot)"))
        var version = bytes; version[8] = 9
        #expect(error(version) == .badSnapshot(path: "bad.pglb", offset: 8, reason: "unsupported version 9 (this pagelab reads version 1)"))
        var checksum = bytes; checksum[16 + 12] ^= 0xff   // the INFO record's CRC field
        #expect(error(checksum) == .badSnapshot(path: "bad.pglb", offset: 16, reason: "checksum mismatch in INFO record"))
        var corrupt = bytes; corrupt[bytes.count - 10] ^= 0x55   // inside the END record's payload
        if case let .badSnapshot(_, offset, reason)? = error(corrupt) {
            #expect(offset > 16 && offset < bytes.count)
            #expect(reason.hasPrefix("checksum mismatch"))
        } else {
            Issue.record("a corrupt END record was accepted")
        }
        #expect(error(bytes + [0]) != nil)
    }

    @Test func compactForLongRuns() {
        // 16384 pfns × 24 bytes = 384 KiB raw; runs make it a few KiB.
        #expect(machine.snapshot().count < 16 * 1024)
    }

    @Test func bundledExampleLoads() throws {
        let census = try ExampleSnapshot.census()
        #expect(census.pfns > 0)
        #expect(census.kinds.reduce(0) { $0 + $1.pages } == census.pfns)
        #expect(census.pfnsWithMemmap == Iomem(parsing: census.info.text("iomem") ?? "").memmapPages(pagesPerSection: census.info.pagesPerSection))
    }
}

@Suite struct LiveCensusTests {
    static let readable = access("/proc/kpageflags", R_OK) == 0

    @Test(.enabled(if: readable, "/proc/kpageflags is readable only by root on Linux"))
    func liveCensusIsConsistent() throws {
        let (census, writer) = try LiveCensus.run(save: true)
        #expect(census.pfns > 0)
        #expect(census.kinds.reduce(0) { $0 + $1.pages } == census.pfns)
        let iomem = Iomem(parsing: census.info.text("iomem") ?? "")
        #expect(census.pfnsWithMemmap == iomem.memmapPages(pagesPerSection: census.info.pagesPerSection))
        #expect(census.irregularCompounds == 0)
        let loaded = try SnapshotReader.census(bytes: writer?.finished() ?? [], path: "live")
        #expect(loaded.kinds == census.kinds)
    }

    @Test func missingFileIsAClearError() {
        #expect(throws: CensusError.self) { try LiveCensus.run(procRoot: "/nonexistent-proc") }
    }
}

@Suite struct CensusSourceTests {
    @Test func liveOrExampleAlwaysGivesACensusAndSaysWhich() throws {
        let (census, note) = try CensusSource.liveOrExample()
        #expect(census.pfns > 0)
        if LiveCensusTests.readable {
            #expect(note.hasPrefix("census of this machine"))
        } else {
            #expect(note.contains("bundled example"))
        }
    }
}

@Suite struct LargeSnapshotTests {
    @Test func appendSplitsIntoRecordsOfAtMostChunkPfns() throws {
        let pfns = 3 * (1 << 18) + 5
        var flags = [UInt64](repeating: KernelPageFlags.buddy.rawValue, count: pfns)
        flags[pfns - 1] = KernelPageFlags.reserved.rawValue
        let zeros = [UInt64](repeating: 0, count: pfns)
        var writer = SnapshotWriter(info: SnapshotInfo(kernelRelease: "t"))
        writer.append(flags: flags, counts: zeros, cgroups: zeros, count: pfns)
        let census = try SnapshotReader.census(bytes: writer.finished(), path: "big")
        #expect(census.pfns == pfns)
        #expect(census[.free].pages == pfns - 1)
        #expect(census[.reserved].pages == 1)
        // 3 × 2^18 + 4 free pfns from pfn 0: 768 blocks of order 10, then one of order 2.
        #expect(census.buddyBlocks[10] == 768 && census.buddyBlocks[2] == 1)
    }
}
