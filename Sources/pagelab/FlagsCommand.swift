// `pagelab flags`: the page->flags bit budget of a kernel configuration.
import ArgumentParser
import Foundation
import PageLayout
import PageReport

struct Flags: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The page->flags bit budget of a kernel configuration (include/linux/page-flags-layout.h).",
        discussion: """
            Without --kconfig or --preset, reads /proc/config.gz when it is readable and \
            falls back to the x86_64-defconfig preset otherwise; the first line says which. \
            Presets: \(KernelConfig.presetNames.joined(separator: ", ")).
            """
    )

    @Option(help: "A kernel .config, plain or gzip-compressed (e.g. /proc/config.gz); - reads standard input.")
    var kconfig: String?

    @Option(help: "A named configuration: \(KernelConfig.presetNames.joined(separator: ", ")).")
    var preset: String?

    @Option(name: .customLong("add-flag"),
            help: "What if this page flag (PG_name) were added to enum pageflags? Repeatable.")
    var addFlag: [String] = []

    @Option(help: "Kernel version whose enum pageflags and page-flags-layout.h apply: \(KernelVersion.known.map(\.description).joined(separator: ", ")). The default is the version the configuration's header names, else the running kernel's.")
    var kernel: String?

    @Option(help: "text or json.")
    var format: OutputFormat = .text

    @Flag(name: .customLong("what-if"), help: "Accept --kconfig values outside their Kconfig ranges (e.g. NODES_SHIFT above 10, NR_CPUS above the arch's maximum) to see what they would do; non-integers, two arches or two memory models stay errors.")
    var whatIf = false

    func validate() throws {
        if kconfig != nil && preset != nil {
            throw ValidationError("give --kconfig or --preset, not both")
        }
        try format.require(oneOf: [.text, .json])
    }

    func run() throws {
        let (chosen, source) = try KernelConfig.chosen(kconfig: kconfig, preset: preset, whatIf: whatIf)
        let choice = try chooseKernel(kernel, for: chosen)
        let config = choice.config
        let budget = try FlagsBudget(config: config, addedFlags: addFlag)
        let baseline = addFlag.isEmpty ? nil : FlagsBudget(config: config)
        // sizeof(struct page) of each "what if" world: LAST_CPUPID_NOT_IN_PAGE_FLAGS adds
        // `int _last_cpupid` to the mainline layout.
        let structPageSize = { (budget: FlagsBudget) in
            Layouts.structPageSize(budget.layoutConfig, kernel: budget.config.kernel)
        }
        switch format {
        case .json:
            emit(JSONOutput.string(FlagsJSON(budget, source: source, baseline: baseline,
                                             structPageSize: structPageSize)))
        default:
            emit(FlagsText.render(budget, baseline: baseline, source: source, structPageSize: structPageSize,
                                  kernel: choice.description))
        }
    }
}
