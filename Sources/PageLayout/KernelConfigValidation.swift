// Checking a kernel configuration against the Kconfig rules that the options PageLab
// reads must obey, so that a typo or a hand-edited .config is an error naming the option
// instead of a silent default or a page->flags budget that cannot exist.

extension KernelConfig {
    /// An integer option PageLab computes with, and the values Kconfig allows for it.
    struct IntegerRule {
        let name: String
        /// The Kconfig `range` on this arch.
        let kconfig: ClosedRange<Int>
        /// What `--what-if` still accepts: values the model can compute a budget for.
        let whatIf: ClosedRange<Int>
        let citation: String
    }

    /// The integer options of the page->flags budget and the layouts, with their ranges:
    /// NODES_SHIFT `range 1 10` (arch/x86/Kconfig, arch/arm64/Kconfig); NR_CPUS in
    /// `range NR_CPUS_RANGE_BEGIN NR_CPUS_RANGE_END` on x86, which a generated .config
    /// records itself (Debian 12: `CONFIG_NR_CPUS_RANGE_END=8192`) and which is used when
    /// present; otherwise v6.19's arch/x86/Kconfig defaults: on x86_64 8192 with
    /// CPUMASK_OFFSTACK (which MAXSMP selects) and 512 without, on x86_32 8 (64 with
    /// X86_BIGSMP, which kernels before 6.15 had); `range 2 4096` on arm64
    /// (arch/arm64/Kconfig), `range 2 32` on arm (arch/arm/Kconfig). The lower bound is
    /// NR_CPUS_RANGE_BEGIN's `1 if !SMP`, whatever SMP says, so a snippet without
    /// CONFIG_SMP stays valid;
    /// PGTABLE_LEVELS 2 to 5 (arch/x86/Kconfig, arch/arm64/Kconfig); ARM64_PA_BITS 48 or
    /// 52 (the ARM64_PA_BITS_48/_52 choice of arch/arm64/Kconfig).
    func integerRules() -> [IntegerRule] {
        let x86End = if case .number(let end)? = options["NR_CPUS_RANGE_END"] { end } else {
            arch == .x86_64 ? (isEnabled("CPUMASK_OFFSTACK") || isEnabled("MAXSMP") ? 8192 : 512)
                            : (isEnabled("X86_BIGSMP") ? 64 : 8)
        }
        let cpus: ClosedRange<Int> = switch arch {
        case .x86_64, .i386, .i386PAE: 1...max(1, x86End)
        case .arm64: 2...4096
        case .arm: 2...32
        }
        return [
            IntegerRule(name: "NODES_SHIFT", kconfig: 1...10, whatIf: 0...(bitsPerLong / 2),
                        citation: "arch/x86/Kconfig, arch/arm64/Kconfig"),
            IntegerRule(name: "NR_CPUS", kconfig: cpus, whatIf: 1...(1 << 30),
                        citation: "NR_CPUS_RANGE_BEGIN/END, arch/*/Kconfig"),
            IntegerRule(name: "PGTABLE_LEVELS", kconfig: 2...5, whatIf: 2...5, citation: "arch/x86/Kconfig, arch/arm64/Kconfig"),
            IntegerRule(name: "ARM64_PA_BITS", kconfig: 48...52, whatIf: 48...52, citation: "arch/arm64/Kconfig"),
        ]
    }

    /// Throws `.malformedFile` naming the option when: more than one architecture is set
    /// (X86_64, X86_32, ARM64, ARM are exclusive: each arch/*/Kconfig is its own tree);
    /// more than one memory model is (mm/Kconfig's "Memory model" choice: FLATMEM or
    /// SPARSEMEM); an integer option PageLab reads is not an integer; or it lies outside
    /// its Kconfig range. With `whatIf`, a value outside the Kconfig range but inside
    /// what the model can compute is accepted (`pagelab flags --what-if`).
    public func validate(whatIf: Bool) throws(LayoutError) {
        func bad(_ reason: String) -> LayoutError { .malformedFile(path: source, reason: reason) }
        let arches = ["X86_64", "X86_32", "ARM64", "ARM"].filter { isEnabled($0) }
        guard arches.count <= 1 else {
            throw bad("it sets \(arches.count) architectures at once (\(arches.map { "CONFIG_\($0)" }.joined(separator: ", "))); a kernel is built for one")
        }
        if isEnabled("FLATMEM"), isEnabled("SPARSEMEM") || isEnabled("SPARSEMEM_VMEMMAP") {
            throw bad("it sets CONFIG_FLATMEM and CONFIG_SPARSEMEM at once; mm/Kconfig's memory model is one choice")
        }
        for rule in integerRules() {
            guard let value = options[rule.name], value != .no else { continue }
            guard case .number(let number) = value else {
                throw bad("CONFIG_\(rule.name)=\(value) is not an integer (an int option, \(rule.citation))")
            }
            let allowed = whatIf ? rule.whatIf : rule.kconfig
            guard allowed.contains(number) else {
                let hint = whatIf || rule.whatIf == rule.kconfig ? "" : "; pass --what-if to ask what a value up to \(rule.whatIf.upperBound) would do"
                throw bad("CONFIG_\(rule.name)=\(number) is outside its range \(allowed.lowerBound)...\(allowed.upperBound) (\(whatIf ? "what the model can compute" : rule.citation))\(hint)")
            }
        }
    }
}
