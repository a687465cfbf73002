// `pagelab layout`: every descriptor of a design, byte by byte.
import ArgumentParser
import Foundation
import PageLayout
import PageReport

struct Layout: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Every descriptor of a design (struct page, folio, ptdesc, slab, ...) with offsets, sizes and union arms."
    )

    @Option(help: "Architecture: \(Arch.allCases.map(\.rawValue).joined(separator: ", ")).")
    var arch: String = Arch.x86_64.rawValue

    @Option(help: "Design: \(Design.allCases.map(\.rawValue).joined(separator: ", ")).")
    var design: String = Design.mainline.rawValue

    @Option(help: "Output format: text, json or svg.")
    var format: OutputFormat = .text

    func run() throws {
        try format.require(oneOf: [.text, .json, .svg])
        let config = LayoutConfig(arch: try Arch.named(arch))
        let design = try Design.named(design)
        let layouts = Layouts.all(config, design: design)
        switch format {
        case .json:
            emit(JSONOutput.string(LayoutDocument(arch: config.arch.rawValue, design: design.rawValue, structs: layouts)))
        case .svg:
            emit(LayoutSVG.render(layouts, wordSize: config.wordSize,
                                  title: "pagelab layout: \(design) on \(config.arch)"))
        default:
            emit("design \(design), arch \(config.arch): \(Self.describe(config))\n\n")
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
