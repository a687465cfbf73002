// Issue 17: kconfig values checked against their Kconfig types and ranges.
import Deflate
import Foundation
import Testing
@testable import PageLayout

@Suite struct KernelConfigValidationTests {
    private func reason(_ text: String, whatIf: Bool = false) -> String? {
        do {
            _ = try KernelConfig(text: "CONFIG_X86_64=y\nCONFIG_NUMA=y\nCONFIG_SMP=y\n" + text, source: "t", whatIf: whatIf)
            return nil
        } catch {
            guard case let .malformedFile(_, reason) = error else { return "\(error)" }
            return reason
        }
    }

    @Test func nodesShiftIsInItsKconfigRange() {
        // arch/x86/Kconfig and arch/arm64/Kconfig: config NODES_SHIFT ... range 1 10.
        #expect(reason("CONFIG_NODES_SHIFT=1\n") == nil)
        #expect(reason("CONFIG_NODES_SHIFT=10\n") == nil)
        for bad in ["-1", "0", "11", "63"] {
            let text = reason("CONFIG_NODES_SHIFT=\(bad)\n")
            #expect(text?.contains("CONFIG_NODES_SHIFT=\(bad) is outside its range 1...10") == true, "\(bad): \(text ?? "accepted")")
        }
    }

    @Test func nonIntegersAreErrorsNamingTheOption() {
        // 2^70 does not fit an int symbol; a quoted or bare word is not an int either.
        for bad in ["1180591620717411303424", "abc", "\"256\"", "y"] {
            let text = reason("CONFIG_NODES_SHIFT=\(bad)\n")
            #expect(text?.contains("CONFIG_NODES_SHIFT=") == true && text?.contains("is not an integer") == true, "\(bad): \(text ?? "accepted")")
        }
    }

    @Test func nrCpusIsAtLeastOne() {
        // NR_CPUS_RANGE_BEGIN is 1 without SMP (arch/x86/Kconfig); 0 or less is no kernel.
        #expect(reason("CONFIG_NR_CPUS=1\n") == nil)
        for bad in ["0", "-4"] {
            #expect(reason("CONFIG_NR_CPUS=\(bad)\n")?.contains("CONFIG_NR_CPUS=\(bad) is outside its range 1...512") == true)
        }
    }

    @Test func nrCpusUpperBoundIsTheArchsRangeEnd() {
        // v6.19 arch/x86/Kconfig, config NR_CPUS_RANGE_END: x86_64 "default 8192 if SMP &&
        // CPUMASK_OFFSTACK", "default 512 if SMP && !CPUMASK_OFFSTACK" (MAXSMP selects
        // CPUMASK_OFFSTACK); x86_32 "default 8 if SMP" (64 with X86_BIGSMP before 6.15).
        #expect(reason("CONFIG_NR_CPUS=512\n") == nil)
        #expect(reason("CONFIG_NR_CPUS=513\n")?.contains("outside its range 1...512") == true)
        #expect(reason("CONFIG_CPUMASK_OFFSTACK=y\nCONFIG_NR_CPUS=8192\n") == nil)
        #expect(reason("CONFIG_MAXSMP=y\nCONFIG_NR_CPUS=8192\n") == nil)
        #expect(reason("CONFIG_MAXSMP=y\nCONFIG_NR_CPUS=8193\n")?.contains("outside its range 1...8192") == true)
        // A generated .config records the range itself (this machine's: RANGE_END=512).
        #expect(reason("CONFIG_NR_CPUS_RANGE_END=256\nCONFIG_NR_CPUS=300\n")?.contains("outside its range 1...256") == true)
        func i386(_ text: String) -> String? {
            do { _ = try KernelConfig(text: "CONFIG_X86_32=y\nCONFIG_SMP=y\n" + text, source: "t"); return nil }
            catch { return "\(error)" }
        }
        #expect(i386("CONFIG_NR_CPUS=8\n") == nil)
        #expect(i386("CONFIG_NR_CPUS=9\n")?.contains("outside its range 1...8") == true)
        #expect(i386("CONFIG_X86_BIGSMP=y\nCONFIG_NR_CPUS=64\n") == nil)
        // arch/arm64/Kconfig: range 2 4096; arch/arm/Kconfig: range 2 32.
        func other(_ arch: String, _ cpus: Int) -> Bool {
            (try? KernelConfig(text: "CONFIG_\(arch)=y\nCONFIG_SMP=y\nCONFIG_NR_CPUS=\(cpus)\n", source: "t")) != nil
        }
        #expect(other("ARM64", 4096) && !other("ARM64", 4097) && !other("ARM64", 1))
        #expect(other("ARM", 32) && !other("ARM", 33))
    }

    @Test func oneArchAndOneMemoryModel() {
        #expect(reason("CONFIG_ARM64=y\n")?.contains("2 architectures at once") == true)
        #expect(reason("CONFIG_FLATMEM=y\nCONFIG_SPARSEMEM=y\n")?.contains("CONFIG_FLATMEM and CONFIG_SPARSEMEM") == true)
        // Two arches stay an error with --what-if: it only widens ranges.
        #expect(reason("CONFIG_ARM64=y\n", whatIf: true) != nil)
    }

    @Test func whatIfWidensRangesButNotBeyondWhatIsComputable() throws {
        #expect(reason("CONFIG_NODES_SHIFT=11\n")?.contains("--what-if") == true)
        #expect(reason("CONFIG_NODES_SHIFT=11\n", whatIf: true) == nil)
        #expect(reason("CONFIG_NODES_SHIFT=-1\n", whatIf: true) != nil)
        #expect(reason("CONFIG_NODES_SHIFT=33\n", whatIf: true) != nil)
        let config = try KernelConfig(text: "CONFIG_X86_64=y\nCONFIG_NUMA=y\nCONFIG_NODES_SHIFT=20\n", source: "t", whatIf: true)
        let budget = FlagsBudget(config: config)
        #expect(budget.nodesShift == 20)
        // Every field lies inside the 64 bits of page->flags, whatever the what-if.
        for field in budget.fields { if let bits = field.bits { #expect(bits.lowerBound >= 0 && bits.upperBound < 64, "\(field)") } }
    }

    @Test func everyPresetIsValid() throws {
        for name in KernelConfig.presetNames { #expect(throws: Never.self) { try KernelConfig.preset(name).validate(whatIf: false) } }
    }

    @Test func fifoAndDevicesAreRefusedNotRead() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("pagelab-fifo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let fifo = directory.appendingPathComponent("config").path
        #expect(mkfifo(fifo, 0o600) == 0)
        // No writer: a blocking open would never return.
        #expect(throws: LayoutError.unreadableFile(path: fifo, reason: "it is a FIFO, not a regular file")) { try KernelConfig.load(path: fifo) }
        #expect(throws: LayoutError.unreadableFile(path: "/dev/zero", reason: "it is a character device, not a regular file")) {
            try KernelConfig.load(path: "/dev/zero")
        }
    }

    @Test func aGzipBombIsStoppedWhileInflating() throws {
        // 65 MiB of zeros, about 64 KiB compressed: over the 64 MiB limit once inflated.
        let bomb = Zlib.compress([UInt8](repeating: 0x41, count: 65 << 20), format: .gzip)
        let path = try temporaryFile(bomb, name: "config.gz")
        #expect(throws: LayoutError.self) { try KernelConfig.load(path: path) }
        do { _ = try KernelConfig.load(path: path) } catch {
            #expect("\(error)".contains("gzip data that inflates to more than 64 MiB"), "\(error)")
        }
    }

    @Test func aMultiMemberGzipIsOneConfiguration() throws {
        let bytes = Zlib.compress(Array("CONFIG_X86_64=y\n".utf8), format: .gzip)
            + Zlib.compress(Array("CONFIG_NUMA=y\nCONFIG_NODES_SHIFT=6\n".utf8), format: .gzip)
        let config = try KernelConfig.load(path: try temporaryFile(bytes, name: "config.gz"))
        #expect(config.number("NODES_SHIFT") == 6)
        #expect(config.arch == .x86_64)
    }
}
