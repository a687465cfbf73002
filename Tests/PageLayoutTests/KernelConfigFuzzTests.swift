// Issue 17, item 6: the kconfig parser under 10,000 seeded random configurations. Every
// case ends in a configuration whose budget and layouts compute, or in a LayoutError;
// never a trap. The seed is fixed, so a failure names a case that can be replayed.
import Deflate
import TestSupport
import Foundation
import Testing
@testable import PageLayout

@Suite struct KernelConfigFuzzTests {
    static let cases = 10_000
    static let names = ["X86_64", "X86_32", "X86", "X86_PAE", "64BIT", "ARM64", "ARM", "NUMA", "NODES_SHIFT", "NR_CPUS", "SMP",
                        "SPARSEMEM", "SPARSEMEM_VMEMMAP", "FLATMEM", "PGTABLE_LEVELS", "ARM64_PA_BITS", "ARM64_64K_PAGES",
                        "MEMCG", "NUMA_BALANCING", "LRU_GEN", "KASAN_SW_TAGS", "KASAN_HW_TAGS", "ZONE_DMA", "ZONE_DMA32",
                        "ZONE_DEVICE", "HIGHMEM", "MEMORY_FAILURE", "PAGE_IDLE_FLAG", "ARM64_MTE", "X86_PAT", "SLAB_OBJ_EXT",
                        "KMSAN", "MM_ID", "PAGE_MAPCOUNT", "X86_5LEVEL", "HIGHMEM4G", "ARCH_USES_PG_ARCH_2"]
    static let values = ["y", "m", "n", "0", "1", "-1", "2", "3", "5", "6", "10", "11", "31", "32", "33", "48", "52", "63", "64",
                         "4096", "8192", "8193", "9223372036854775807", "-9223372036854775808", "99999999999999999999",
                         "0x7fffffffffffffff", "0xffffffffffffffff", "\"\"", "\"256\"", "abc", "\"a\\\"b\"", "2^70"]

    static func randomText(_ rng: inout SplitMix64) -> String {
        var lines: [String] = []
        if Bool.random(using: &rng), let preset = KernelConfig.presets.randomElement(using: &rng) {
            lines = preset.text.split(separator: "\n").map(String.init).filter { _ in Int.random(in: 0..<8, using: &rng) != 0 }
        }
        for _ in 0..<Int.random(in: 0...12, using: &rng) {
            let name = names.randomElement(using: &rng)!
            switch Int.random(in: 0..<10, using: &rng) {
            case 0: lines.append("# CONFIG_\(name) is not set")
            case 1: lines.append(String(decoding: (0..<Int.random(in: 0...20, using: &rng)).map { _ in UInt8.random(in: 0x20...0x7e, using: &rng) }, as: UTF8.self))
            case 2: lines.append("CONFIG_\(name)=\(Int.random(in: Int.min...Int.max, using: &rng))")
            default: lines.append("CONFIG_\(name)=\(values.randomElement(using: &rng)!)")
            }
        }
        lines.shuffle(using: &rng)
        return lines.joined(separator: Bool.random(using: &rng) ? "\n" : "\r\n")
    }

    @Test func randomConfigurationsParseOrFailCleanly() {
        var rng = SplitMix64(state: 17)
        var parsed = 0
        for index in 0..<Self.cases {
            let text = Self.randomText(&rng)
            let whatIf = Bool.random(using: &rng)
            let config: KernelConfig
            do { config = try KernelConfig(text: text, source: "case \(index)", whatIf: whatIf) } catch { continue }
            parsed += 1
            let budget = FlagsBudget(config: config)
            for field in budget.fields {
                guard let bits = field.bits else { continue }
                #expect(bits.lowerBound >= 0 && bits.upperBound < budget.bitsPerLong, "case \(index): \(field) in \(text.debugDescription)")
            }
            #expect(Layouts.structPage(config.layoutConfig).size > 0)
        }
        // The generator must reach the parser's far side, not only its errors.
        #expect(parsed > Self.cases / 20, "only \(parsed) of \(Self.cases) cases parsed")
    }

    @Test func randomGzipAndBytesLoadOrFailCleanly() throws {
        var rng = SplitMix64(state: 1017)
        let path = try temporaryFile([], name: "config.gz")
        for _ in 0..<200 {
            var bytes = Array(Self.randomText(&rng).utf8)
            if Bool.random(using: &rng) { bytes = Zlib.compress(bytes, format: .gzip) }
            for _ in 0..<Int.random(in: 0...3, using: &rng) where !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng)
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            do { _ = try KernelConfig.load(path: path) } catch { continue }
        }
    }
}
