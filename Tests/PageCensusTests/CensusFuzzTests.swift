// Issue 17, item 6: the snapshot reader and the /proc text readers under 10,000 seeded
// random inputs each. Every case ends in a census (whose costs then compute) or in a
// CensusError; never a trap, never a hang. The seeds are fixed, so a failure replays.
import Testing
import TestSupport
@testable import PageCensus
import PageLayout

@Suite struct CensusFuzzTests {
    static let cases = 10_000

    /// Numbers a hostile tester tries: edges of every width, powers of two, page sizes.
    static let numbers = ["0", "1", "-1", "3", "7", "4095", "4096", "65536", "262144", "524288", "32768", "4611686018427387904",
                          "9223372036854775807", "-9223372036854775808", "18446744073709551615", "99999999999999999999",
                          "abc", "", "0x1000", "1e3"]

    static func number(_ rng: inout SplitMix64) -> String {
        Bool.random(using: &rng) ? numbers.randomElement(using: &rng)! : String(Int.random(in: Int.min...Int.max, using: &rng) >> Int.random(in: 0...63, using: &rng))
    }

    static func hex(_ rng: inout SplitMix64) -> String {
        let value = Bool.random(using: &rng) ? UInt64.random(in: 0...UInt64.max, using: &rng) : UInt64.random(in: 0...(1 << 36), using: &rng)
        return Int.random(in: 0..<20, using: &rng) == 0 ? "zz" : String(value, radix: 16)
    }

    /// /proc text files as a hostile tester writes them: the real shapes with any numbers.
    static func procFiles(_ rng: inout SplitMix64) -> [String: [UInt8]] {
        var files: [String: String] = [:]
        if Bool.random(using: &rng) {
            files["iomem"] = (0..<Int.random(in: 0...4, using: &rng)).map { _ in
                "\(hex(&rng))-\(hex(&rng)) : \(Bool.random(using: &rng) ? "System RAM" : "Reserved")\n"
            }.joined()
        }
        if Bool.random(using: &rng) {
            files["vmstat"] = "nr_free_pages \(number(&rng))\nnr_zspages \(number(&rng))\n"
        }
        if Bool.random(using: &rng) {
            files["zoneinfo"] = "Node 0, zone   Normal\n  pages free     \(number(&rng))\n        spanned  \(number(&rng))\n"
                + "        present  \(number(&rng))\n        managed  \(number(&rng))\n  start_pfn:           \(number(&rng))\n"
        }
        if Bool.random(using: &rng) {
            files["buddyinfo"] = "Node 0, zone   Normal " + (0..<Int.random(in: 0...14, using: &rng)).map { _ in number(&rng) }.joined(separator: " ") + "\n"
        }
        return files.mapValues { Array($0.utf8) }
    }

    static func info(_ rng: inout SplitMix64) -> String {
        let arch = ["x86_64", "x86_64", "aarch64", "i686", "armv7l", "ppc64le", "pdp11", ""].randomElement(using: &rng)!
        var lines = ["kernel_release=6.19.0", "arch=\(arch)",
                     "page_size=\(Int.random(in: 0..<4, using: &rng) > 0 ? "4096" : number(&rng))",
                     "pages_per_section=\(Int.random(in: 0..<4, using: &rng) > 0 ? "32768" : number(&rng))",
                     "created_at=\(Int.random(in: 0...3, using: &rng) == 0 ? number(&rng) : "1")"]
        lines.shuffle(using: &rng)
        return lines.joined(separator: "\n") + "\n"
    }

    /// Random pfn values, in runs so the classification walks compounds and buddies.
    static func values(_ rng: inout SplitMix64, count: Int) -> [UInt64] {
        var out: [UInt64] = []
        out.reserveCapacity(count)
        while out.count < count {
            let value = Bool.random(using: &rng) ? UInt64.random(in: 0...UInt64.max, using: &rng) : UInt64(1) << UInt64.random(in: 0...63, using: &rng)
            out += repeatElement(value, count: min(count - out.count, Int.random(in: 1...64, using: &rng)))
        }
        return out
    }

    /// A snapshot with valid checksums around random contents, then sometimes a few
    /// bytes flipped or the tail cut (which the checksums and bounds must catch).
    static func snapshot(_ rng: inout SplitMix64) -> [UInt8] {
        var raw = RawSnapshot()
        raw.info(info(&rng))
        for (name, bytes) in procFiles(&rng) { raw.record("FILE", Array(name.utf8) + [0] + bytes) }
        for _ in 0..<Int.random(in: 0...2, using: &rng) {
            let n = Int.random(in: 0...2048, using: &rng)
            raw.pfns(values(&rng, count: n), counts: values(&rng, count: n), cgroups: values(&rng, count: n))
        }
        var bytes = raw.finished()
        switch Int.random(in: 0..<4, using: &rng) {
        case 0:
            for _ in 0..<Int.random(in: 1...4, using: &rng) { bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng) }
        case 1: bytes.removeLast(Int.random(in: 1...bytes.count, using: &rng))
        default: break
        }
        return bytes
    }

    @Test func randomSnapshotsReadOrFailCleanly() {
        var rng = SplitMix64(state: 2017)
        var read = 0
        for _ in 0..<Self.cases {
            let bytes = Self.snapshot(&rng)
            guard let census = try? SnapshotReader.census(bytes: bytes, path: "fuzz.pglb") else { continue }
            read += 1
            let costs = CensusCosts.compute(census)
            #expect(costs.allSatisfy { $0.totalBytes >= 0 })
        }
        #expect(read > Self.cases / 100, "only \(read) of \(Self.cases) snapshots were read")
    }

    @Test func randomProcTextFilesValidateOrFailCleanly() {
        var rng = SplitMix64(state: 3017)
        var accepted = 0
        for _ in 0..<Self.cases {
            let info = SnapshotInfo(kernelRelease: "t", pagesPerSection: 1 << Int.random(in: 0...15, using: &rng), files: Self.procFiles(&rng))
            do { try info.validate() } catch { continue }
            accepted += 1
            // What validated must be safe to use: a census over it and its costs.
            var builder = CensusBuilder(info: info, picture: true, expectedPfns: LiveCensus.expectedPfns(info))
            let n = Int.random(in: 0...512, using: &rng)
            builder.consume(flags: Self.values(&rng, count: n), counts: Self.values(&rng, count: n), cgroups: Self.values(&rng, count: n))
            let census = builder.finish()
            #expect(CensusCosts.compute(census).allSatisfy { $0.totalBytes >= 0 })
            _ = census.zonesUnmanaged
            _ = census.buddyOrdersMatching
        }
        #expect(accepted > Self.cases / 20, "only \(accepted) of \(Self.cases) inputs validated")
    }
}
