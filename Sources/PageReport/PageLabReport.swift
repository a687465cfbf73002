// `pagelab report`: every module's findings for one machine, as text and as HTML.
import Foundation
import PageCensus
import PageLayout
import PageModel

/// The main job's result: the text printed on standard output, the HTML page, and the
/// files that go beside it.
public struct PageLabReport: Sendable {
    public let text: String
    public let html: String
    /// File name → bytes, written beside index.html.
    public let files: [String: [UInt8]]

    /// Builds the report. `kconfig`/`preset` choose the kernel configuration as
    /// `pagelab flags` does (default: /proc/config.gz, else x86_64-defconfig); the census
    /// is of this machine when /proc/kpageflags can be read, else of the bundled example;
    /// `machineRAM` sizes the model machine built once per design; `compareRAM` the
    /// machines the basic, pins and device workloads run on, one per design (nil: none of those sections).
    /// `progress` is told each step as it starts ("census", "machine mainline", ...), for
    /// the command line to show on a terminal.
    public static func make(kconfig: String? = nil, preset: String? = nil,
                            machineRAM: UInt64 = 4 << 30, compareRAM: UInt64? = 256 << 20,
                            progress: (String) -> Void = { _ in }) throws -> PageLabReport {
        let (config, source) = try KernelConfig.chosen(kconfig: kconfig, preset: preset)
        var files: [String: [UInt8]] = [:]
        progress("flags and layouts")
        var sections = [flagsSection(config, source: source), layoutSection(config, source: source)]
        progress("census")
        let (census, note) = try CensusSource.liveOrExample(picture: true)
        if let png = MemmapPicture.png(census) { files["memmap.png"] = png }
        sections.append(censusSection(census, note: note, picture: files["memmap.png"] != nil))
        sections.append(try machineSection(ram: machineRAM, progress: progress))
        if let compareRAM {
            sections.append(try compareSection(ram: compareRAM, progress: progress))
            sections.append(try pinsSection(ram: compareRAM, progress: progress))
            sections.append(try deviceSection(ram: compareRAM, progress: progress))
            sections.append(try vmallocSection(ram: compareRAM, progress: progress))
        }
        sections.append(try scenarioSection())
        let intro = "Kernel configuration: \(source). Memory: \(note)."
        let text = "PageLab report\n\(intro)\n\n" + sections.map { "== \($0.title)\n\n\($0.text)" }.joined(separator: "\n")
        let html = HTMLReport.render(title: "PageLab report", intro: intro, sections: sections)
        return PageLabReport(text: text, html: html, files: files)
    }

    static func flagsSection(_ config: KernelConfig, source: String) -> ReportSection {
        let budget = FlagsBudget(config: config)
        let structPageSize = { (budget: FlagsBudget) in Layouts.structPage(budget.layoutConfig).size }
        return ReportSection(
            id: "flags", title: "The page->flags bit budget",
            summary: """
                Where the bits of page->flags go for this configuration, computed as \
                include/linux/page-flags-layout.h and kernel/bounds.c compute them: \
                \(budget.nrPageflags) page flags, \(budget.unusedBits) unused bits \
                (NR_UNUSED_PAGEFLAG_BITS), struct page \(structPageSize(budget)) bytes.
                """,
            text: FlagsText.render(budget, source: source, structPageSize: structPageSize),
            svgs: [FlagsSVG.render(budget)])
    }

    static func layoutSection(_ config: KernelConfig, source: String) -> ReportSection {
        let layoutConfig = config.layoutConfig
        let mainline = Layouts.all(layoutConfig, design: .mainline)
        var table = TextTable(["design", "struct page", "page_ext/page", "descriptors", "per pin"])
        for design in Design.allCases {
            let costs = design.costs(layoutConfig)
            let descriptors = costs.descriptorSizes.sorted { $0.key.rawValue < $1.key.rawValue }
                .map { "\($0.key.rawValue) \($0.value)" }.joined(separator: ", ")
            table.append([design.rawValue, "\(costs.structPageSize) B", "\(costs.pageExtBytesPerPage) B",
                          descriptors.isEmpty ? "-" : descriptors, "\(costs.bytesPerPin) B"])
        }
        return ReportSection(
            id: "layout", title: "Descriptor layouts",
            summary: """
                Every descriptor of the mainline design, byte by byte, with its union arms side by \
                side, and what each pin-tracking design costs per page, per descriptor and per pin.
                """,
            text: table.render() + "\n" + LayoutTable.render(mainline),
            svgs: [LayoutSVG.render(mainline, wordSize: layoutConfig.wordSize,
                                    title: "mainline descriptors (\(layoutConfig.arch))", standalone: false)])
    }

    static func censusSection(_ census: Census, note: String, picture: Bool) -> ReportSection {
        let structPage = CensusStructPage.size(for: census)
        let costs = CensusCosts.compute(census, config: LayoutConfig(arch: census.info.layoutArch ?? .x86_64),
                                        structPageSize: structPage?.size)
        return ReportSection(
            id: "census", title: "Census of physical memory",
            summary: """
                The \(note): every pfn classified from /proc/kpageflags, kpagecount and \
                kpagecgroup, and what each descriptor design would cost on exactly this memory.
                """,
            text: CensusText.render(census, costs: costs, seconds: 0)
                + (structPage.map { "\nsizeof(struct page): \($0.note)\n" } ?? ""),
            svgs: [CensusSVG.render(census, costs: costs)],
            images: picture ? [(file: "memmap.png", caption: "The physical address space, coloured by page kind")] : [])
    }

    static func machineSection(ram: UInt64, progress: (String) -> Void = { _ in }) throws -> ReportSection {
        var table = TextTable(["design", "struct page", "memmap", "descriptors", "page_ext", "build", "self-check"])
        for design in Design.allCases {
            progress("machine \(design)")
            let machine = try Machine(config: try MachineConfig(ramBytes: ram, nodes: 1, design: design, arch: .x86_64))
            let check = machine.selfCheck()
            let report = MachineReport(machine: machine, check: check, peakRSSBytes: HostMemory.peakResidentBytes())
            table.append([design.rawValue, "\(report.structPageSize) B", Units.bytes(report.memmapBytes),
                          Units.bytes(report.descriptorBytes), Units.bytes(report.pageExtBytes),
                          Units.duration(seconds: report.initSeconds), check.passed ? "passed" : "FAILED"])
        }
        return ReportSection(
            id: "machine", title: "The model machine, per design",
            summary: """
                A \(Units.bytes(Int64(ram))) x86_64 model machine built once per design, its memmap in \
                real bytes, with the self-check's mix of folios, slabs and page tables allocated \
                and freed. Every figure is counted by the model.
                """,
            text: table.render())
    }

    /// `pagelab compare --workload kind` over every design.
    static func everyDesign(_ kind: WorkloadKind, ram: UInt64, progress: (String) -> Void) throws -> CompareReport {
        let results = try Design.allCases.flatMap { design throws -> [WorkloadResult] in
            progress("compare --workload \(kind.rawValue): \(design)")
            return try kind.runRows(design: design, ramBytes: ram)
        }
        return CompareReport(workload: kind, ramBytes: ram, results: results)
    }

    static func compareSection(ram: UInt64, progress: (String) -> Void = { _ in }) throws -> ReportSection {
        let report = try everyDesign(.basic, ram: ram, progress: progress)
        return ReportSection(
            id: "compare", title: "One workload through every design",
            summary: """
                The basic workload of `pagelab compare` (anonymous, THP, shmem and file memory, \
                fork with COW on both sides, swap, migration to node 1, munmap) on a \
                \(Units.bytes(Int64(ram))) two-node model machine per design, with every byte it \
                wrote read back: \(report.passed ? "no data errors on any design" : "DATA ERRORS, see the table").
                """,
            text: CompareText.render(report))
    }

    static func pinsSection(ram: UInt64, progress: (String) -> Void = { _ in }) throws -> ReportSection {
        let report = try everyDesign(.pins, ram: ram, progress: progress)
        let falseNegatives = report.designs.reduce(0) { $0 + ($1.pins?.falseNegatives ?? 0) }
        let corrupting = report.designs.filter { ($0.pins?.corruptions ?? 0) > 0 }.map(\.design)
        let losing = report.designs.filter { ($0.pins?.falseNegatives ?? 0) > 0 }.map(\.design)
        let verdict = losing.isEmpty ? "no design said \"not pinned\" of a pinned folio"
            : "\(losing.joined(separator: ", ")) said \"not pinned\" of a pinned folio (\(falseNegatives) false negatives, see the table)"
        let damage = corrupting.isEmpty ? "" : "; \(corrupting.joined(separator: ", ")) overwrote another arm of struct page on device pages"
        let released = report.designs.allSatisfy { $0.pins.map { $0.pinsAcquired == $0.pinsReleased } ?? true }
        let data = report.designs.allSatisfy { $0.dataErrors == 0 } ? "every byte read back as written" : "DATA ERRORS, see the table"
        return ReportSection(
            id: "pins", title: "Pinning pages for DMA through every design",
            summary: """
                The pins workload of `pagelab compare --workload pins` (short- and long-term \
                pins of anonymous, THP, memfd, disk-file and ZONE_DEVICE memory; fork, migration \
                and reclaim over pinned ranges; a timed GUP-fast loop) on a \
                \(Units.bytes(Int64(ram))) two-node model machine per design: what tracking pins \
                costs each design in memory and time, and where it breaks. \
                `folio_maybe_dma_pinned()` is checked against the exact pin count: \
                \(verdict)\(damage); \(data), \(released ? "every pin released" : "PINS LEFT OUTSTANDING").
                """,
            text: CompareText.render(report))
    }
}
