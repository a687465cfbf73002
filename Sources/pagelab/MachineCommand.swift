// `pagelab machine`: build a model machine, run the self-check, print what it costs.
import ArgumentParser
import Foundation
import PageLayout
import PageModel
import PageReport

struct MachineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "machine",
        abstract: "Build a model machine, allocate and free a realistic mix, and print its zones, buddyinfo and costs.",
        discussion: """
            The kernel config is the arch's preset (x86_64: x86_64-distro; i386: i386-defconfig; \
            i386-pae; arm: arm-defconfig; arm64: arm64-defconfig). RAM must be whole memory \
            sections (128 MiB on x86_64). Exit status 1 if the self-check fails.
            """
    )

    @Option(parsing: .unconditional, help: "RAM size, e.g. 256M, 64G, 1T.")
    var ram: String

    @Option(parsing: .unconditional, help: "NUMA nodes.")
    var nodes: Int = 1

    @Option(help: "Descriptor design: \(Design.allCases.map(\.rawValue).joined(separator: ", ")).")
    var design: String = Design.mainline.rawValue

    @Option(help: "Architecture: \(Arch.allCases.map(\.rawValue).joined(separator: ", ")).")
    var arch: String = Arch.x86_64.rawValue

    @Option(help: "Kernel version of the model machine: 6.19 (the model's own), 6.18, 6.12, 6.6, 6.1 or 5.15. The memmap gets that version's struct page and folio layout, enum pageflags (flag bits, node and zone fields), page_type encoding (before 6.12: PAGE_TYPE_BASE, PG_slab) and struct slab; 5.15 and 6.1 keep a large folio's order, counts and lists in struct page's compound tail arms, with the mapcounts they lack in page[1].index. The code that runs (allocator, rmap, GUP, the designs) stays v6.19's. 5.15 and 6.1 machines are 64-bit only.")
    var kernel: String?

    @Option(help: "text or json.")
    var format: OutputFormat = .text

    func validate() throws {
        try format.require(oneOf: [.text, .json])
        guard nodes >= 1 else { throw ValidationError("--nodes \(nodes) is out of range: a machine has at least 1 node") }
    }

    func run() throws {
        let arch = try Arch.named(arch)
        var kernelConfig = try KernelConfig.preset(arch.defaultPresetName)
        if let kernel {
            // The memmap in that version's layout and flags; the code stays v6.19's
            // (ModelLayout.modelKernels says which versions the model can hold).
            kernelConfig.kernel = try KernelVersion.named(kernel)
            if let refusal = ModelLayout.refusal(kernelConfig.kernel, bitsPerLong: arch.bitsPerLong) { throw ValidationError(refusal) }
        }
        let config = try MachineConfig(ramBytes: try ByteSize.parse(ram), nodes: nodes,
                                       design: try Design.named(design), arch: arch, kernel: kernelConfig)
        let progress = StageProgress(command: "machine")
        defer { progress.clear() }  // also when building fails: the error line starts clean
        progress.show("building a \(ram) \(design) machine")
        let machine = try Machine(config: config)
        progress.show("self-check")
        let check = machine.selfCheck()
        progress.clear()
        let report = MachineReport(machine: machine, check: check, peakRSSBytes: HostMemory.peakResidentBytes())
        emit(format == .json ? JSONOutput.string(report) : MachineText.render(report))
        if kernelConfig.kernel != KernelVersion.reference, format == .text {
            let folios = kernelConfig.kernel < .v6_6
                ? "compound pages (large folios' mapcounts in page[1].index, a word it leaves free)" : "folio"
            emit("\nkernel \(kernelConfig.kernel): the memmap holds Linux \(kernelConfig.kernel)'s struct page, \(folios) and page flags; the code that ran is v\(KernelVersion.reference)'s\n")
        }
        if !check.passed { throw ExitCode(1) }
    }
}
