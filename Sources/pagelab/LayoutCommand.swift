// `pagelab layout`: every descriptor of a design, byte by byte.
import ArgumentParser
import Foundation
import PageLayout
import PageReport

struct Layout: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every descriptor of a design (struct page, folio, ptdesc, slab, ...) with offsets, sizes and union arms."
    )

    @Option(help: "Architecture, with defconfig-like defaults (MEMCG on): \(Arch.allCases.map(\.rawValue).joined(separator: ", ")). The default is x86_64.")
    var arch: String?

    @Option(help: "A kernel .config, plain or gzip-compressed (e.g. /proc/config.gz); - reads standard input.")
    var kconfig: String?

    @Option(help: "A named configuration: \(KernelConfig.presetNames.joined(separator: ", ")).")
    var preset: String?

    @Option(help: "Design: \(Design.allCases.map(\.rawValue).joined(separator: ", ")).")
    var design: String = Design.mainline.rawValue

    @Option(help: "Kernel version whose descriptors to lay out: \(KernelVersion.known.map(\.description).joined(separator: ", ")). The default is the version the configuration's header names, else the running kernel's; with --arch, \(KernelVersion.reference).")
    var kernel: String?

    @Option(help: ArgumentHelp("Read the descriptors from a kernel's BTF with libbpf: FILE is raw BTF or a vmlinux ELF with .BTF; a bare --btf reads \(KernelBTF.runningKernelPath).", valueName: "file"))
    var btf: String?

    @Flag(help: "Set the computed layout of the configuration and kernel version beside the kernel's BTF and list every difference (exit status 1 if any).")
    var check = false

    @Option(help: "Output format: text, json or svg.")
    var format: OutputFormat = .text

    @Flag(name: .customLong("what-if"), help: "Accept --kconfig values outside their Kconfig ranges (e.g. NODES_SHIFT above 10) to see what they would do.")
    var whatIf = false

    func validate() throws {
        if [arch, kconfig, preset].compactMap({ $0 }).count > 1 {
            throw ValidationError("give one of --arch, --kconfig or --preset")
        }
        try format.require(oneOf: [.text, .json, .svg])
        if btf != nil, !check, [arch, kconfig, preset, kernel].contains(where: { $0 != nil }) || design != Design.mainline.rawValue {
            throw ValidationError("--btf shows the kernel's own layout; --arch, --kconfig, --preset, --kernel and --design are for a computed one (with --check, the one set beside it)")
        }
    }

    /// The layout inputs and where they came from: a kconfig file or preset (through
    /// KernelConfig, whose flags budget decides LAST_CPUPID_NOT_IN_PAGE_FLAGS), or an
    /// arch with its defaults (x86_64 when nothing is named).
    func chosenConfig() throws -> (LayoutConfig, String, KernelVersion, String) {
        if kconfig != nil || preset != nil {
            let (chosen, source) = try KernelConfig.chosen(kconfig: kconfig, preset: preset, whatIf: whatIf)
            let choice = try chooseKernel(kernel, for: chosen)
            return (choice.config.layoutConfig, source, choice.config.kernel, choice.description)
        }
        let arch = try Arch.named(arch ?? Arch.x86_64.rawValue)
        let version = try kernel.map { try KernelVersion.named($0) } ?? .reference
        return (LayoutConfig(arch: arch), "--arch \(arch) defaults", version,
                "kernel \(version)\(kernel == nil ? "" : " (--kernel)")")
    }

    /// Where `--btf` reads from when it is given without a file: the running kernel's.
    static func expandingBareBTF(_ arguments: [String]) -> [String] {
        guard arguments.first == "layout" else { return arguments }
        var out: [String] = []
        for (index, argument) in arguments.enumerated() {
            out.append(argument)
            let next = index + 1 < arguments.count ? arguments[index + 1] : nil
            if argument == "--btf", next == nil || next!.hasPrefix("-") { out.append(KernelBTF.runningKernelPath) }
        }
        return out
    }

    func run() throws {
        if check { return try runCheck() }
        if let btf { return try show(try KernelBTF(path: btf).layouts(), source: "BTF of \(btf)", arch: .x86_64, kernel: nil) }
        let (config, source, version, versionNote) = try chosenConfig()
        let design = try Design.named(design)
        if let reason = design.unfitReason(on: config.arch) {
            throw ValidationError("design '\(design)' does not fit arch '\(config.arch)': \(reason)")
        }
        let (layouts, omitted) = try Layouts.all(config, design: design, kernel: version)
        if let omitted { FileHandle.standardError.write(Data("pagelab: \(omitted)\n".utf8)) }
        try show(layouts, source: source, arch: config.arch, kernel: version,
                 heading: "design \(design), arch \(config.arch), from \(source), \(versionNote): \(Self.describe(config))", design: design)
    }

    /// Prints layouts (computed or read from BTF) in the chosen format.
    func show(_ layouts: [StructLayout], source: String, arch: Arch, kernel: KernelVersion?,
              heading: String? = nil, design: Design = .mainline) throws {
        switch format {
        case .json:
            emit(JSONOutput.string(LayoutDocument(arch: arch.rawValue, design: design.rawValue,
                                                  source: source, structs: layouts,
                                                  kernel: kernel?.description)))
        case .svg:
            emit(LayoutSVG.render(layouts, wordSize: arch.bitsPerLong / 8,
                                  title: "pagelab layout: \(kernel == nil ? source : "\(design) on \(arch)")"))
        default:
            emit("\(heading ?? "struct page, folio, ptdesc and slab from the \(source)")\n\n")
            emit(LayoutTable.render(layouts))
        }
    }

    /// `--check`: the computed layouts of the configuration (default /proc/config.gz) and
    /// its kernel version beside the BTF (default the running kernel's); exit 1 on any
    /// difference.
    func runCheck() throws {
        guard arch == nil, design == Design.mainline.rawValue else {
            throw ValidationError("--check compares a kernel configuration's mainline layout (give --kconfig, --preset or neither)")
        }
        try format.require(oneOf: [.text, .json])
        let path = btf ?? KernelBTF.runningKernelPath
        let real = try KernelBTF(path: path).layouts()
        let (chosen, source) = try KernelConfig.chosen(kconfig: kconfig, preset: preset)
        let config = try chooseKernel(kernel, for: chosen).config
        let (computed, _) = try Layouts.all(config.layoutConfig, design: .mainline, kernel: config.kernel)
        let report = LayoutCheckReport(computed: computed, btf: real, configSource: source,
                                       kernel: config.kernel.description, btfPath: path)
        emit(format == .json ? JSONOutput.string(report) : report.text)
        if !report.differences.isEmpty { throw ExitCode(1) }
    }

    /// The configuration inputs the layouts were computed from, in kconfig terms.
    static func describe(_ config: LayoutConfig) -> String {
        let options: [(String, Bool)] = [
            ("MEMCG", config.memcg), ("SLAB_OBJ_EXT", config.slabObjExt), ("WANT_PAGE_VIRTUAL", config.wantPageVirtual),
            ("LAST_CPUPID_NOT_IN_PAGE_FLAGS", config.lastCpupidNotInPageFlags), ("KMSAN", config.kmsan),
        ]
        return "BITS_PER_LONG=\(config.arch.bitsPerLong) HAVE_ALIGNED_STRUCT_PAGE=\(config.arch.haveAlignedStructPage ? "y" : "n") "
            + options.map { "\($0.0)=\($0.1 ? "y" : "n")" }.joined(separator: " ")
    }
}
