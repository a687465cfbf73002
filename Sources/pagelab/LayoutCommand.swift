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

    @Option(help: "A kernel .config, plain or gzip-compressed (e.g. /proc/config.gz).")
    var kconfig: String?

    @Option(help: "A named configuration: \(KernelConfig.presetNames.joined(separator: ", ")).")
    var preset: String?

    @Option(help: "Design: \(Design.allCases.map(\.rawValue).joined(separator: ", ")).")
    var design: String = Design.mainline.rawValue

    @Option(help: "Kernel version whose descriptors to lay out: \(KernelVersion.known.map(\.description).joined(separator: ", ")). The default is the version the configuration's header names, else the running kernel's; with --arch, \(KernelVersion.reference).")
    var kernel: String?

    @Option(help: "Output format: text, json or svg.")
    var format: OutputFormat = .text

    func validate() throws {
        if [arch, kconfig, preset].compactMap({ $0 }).count > 1 {
            throw ValidationError("give one of --arch, --kconfig or --preset")
        }
        try format.require(oneOf: [.text, .json, .svg])
    }

    /// The layout inputs and where they came from: a kconfig file or preset (through
    /// KernelConfig, whose flags budget decides LAST_CPUPID_NOT_IN_PAGE_FLAGS), or an
    /// arch with its defaults (x86_64 when nothing is named).
    func chosenConfig() throws -> (LayoutConfig, String, KernelVersion) {
        if kconfig != nil || preset != nil {
            let (chosen, source) = try KernelConfig.chosen(kconfig: kconfig, preset: preset)
            let config = try chooseKernel(kernel, for: chosen)
            return (config.layoutConfig, source, config.kernel)
        }
        let arch = try Arch.named(arch ?? Arch.x86_64.rawValue)
        let version = try kernel.map { try KernelVersion.named($0) } ?? .reference
        return (LayoutConfig(arch: arch), "--arch \(arch) defaults", version)
    }

    func run() throws {
        let (config, source, version) = try chosenConfig()
        let design = try Design.named(design)
        let (layouts, omitted) = try Layouts.all(config, design: design, kernel: version)
        if let omitted { FileHandle.standardError.write(Data("pagelab: \(omitted)\n".utf8)) }
        switch format {
        case .json:
            emit(JSONOutput.string(LayoutDocument(arch: config.arch.rawValue, design: design.rawValue,
                                                  source: source, structs: layouts,
                                                  kernel: version.description)))
        case .svg:
            emit(LayoutSVG.render(layouts, wordSize: config.wordSize,
                                  title: "pagelab layout: \(design) on \(config.arch)"))
        default:
            emit("design \(design), arch \(config.arch), Linux \(version), from \(source): \(Self.describe(config))\n\n")
            emit(LayoutTable.render(layouts))
        }
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
