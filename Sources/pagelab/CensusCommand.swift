// `pagelab census`: classify every pfn of this machine (or of saved snapshots) and cost
// every descriptor design on it.
import ArgumentParser
import Foundation
import PageCensus
import PageLayout
import PageReport

struct CensusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "census",
        abstract: "Classify every pfn of this machine (/proc/kpageflags, root) or of saved snapshots, and cost each descriptor design on it."
    )

    @Option(help: ArgumentHelp("Write a compressed, checksummed snapshot of the live census to FILE.", valueName: "file"))
    var save: String?

    @Option(help: ArgumentHelp("Analyse a saved snapshot instead of the live machine (repeat for a fleet; a directory stands for every .pglb file in it).", valueName: "file"))
    var from: [String] = []

    @Option(help: "text, json, jsonl (flat rows per host for DuckDB, Spark or Trino), svg (bar chart of bytes per design) or png (picture of the physical address space; to a file or a pipe, not a terminal).")
    var format: OutputFormat = .text

    @Option(help: "Kernel version the census is read as (\(KernelVersion.known.map(\.description).joined(separator: ", "))); the default is each snapshot's own release.")
    var kernel: String?

    @Option(help: ArgumentHelp("Write the output to FILE instead of standard output.", valueName: "file"))
    var output: String?

    @Flag(name: .customLong("page-types"), help: "Print the flag-combination table of the kernel's tools/mm/page-types.")
    var pageTypes = false

    @Flag(help: "With --page-types: raw mode (page-types -r): kernel-hacker bits and expanded overloaded flags.")
    var raw = false

    @Option(name: .customLong("descriptor-size"), help: ArgumentHelp("Override a memdesc descriptor size: folio|folio-large|slab|ptdesc|zpdesc=BYTES.", valueName: "kind=bytes"))
    var descriptorSize: [String] = []

    @Option(help: ArgumentHelp("Read the live census from DIR (kpageflags, kpagecount, kpagecgroup, iomem, ...) instead of /proc.", valueName: "dir"))
    var proc: String = "/proc"

    func run() throws {
        try format.require(oneOf: [.text, .json, .jsonl, .svg, .png])
        let version = try kernel.map { try KernelVersion.named($0) }
        if raw && !pageTypes { throw ValidationError("--raw is a mode of --page-types") }
        if pageTypes && format != .text {
            throw ValidationError("--page-types prints the text table of tools/mm/page-types; --format \(format.rawValue) is not available with it")
        }
        if format == .png && output == nil && isatty(STDOUT_FILENO) != 0 {
            throw ValidationError("--format png would write binary data to the terminal; use --output FILE or redirect standard output")
        }
        let paths = try SnapshotPaths.expand(from)
        try Self.refuseRepeatedSnapshots(paths)
        // Each machine's bytes fit 2^52 (SnapshotInfo.maxPhysmemBits): 1024 of them fit a
        // 64-bit sum. Rows (jsonl) add nothing up: any number of hosts.
        if format != .jsonl, paths.count > Self.maxFleet {
            throw ValidationError("a fleet of \(paths.count) snapshots is more than the \(Self.maxFleet) one census adds up (--format jsonl writes rows for any number)")
        }
        if save != nil && !from.isEmpty { throw ValidationError("--save writes a live census; it cannot be combined with --from") }
        let overrides = try DescriptorSizes.parseOverrides(descriptorSize)
        let started = Date()
        let picture = format == .png
        var machines: [Census] = []
        if from.isEmpty {
            let progress = Progress(enabled: isatty(STDERR_FILENO) != 0)
            let (census, writer) = try LiveCensus.run(procRoot: proc, picture: picture, save: save != nil, flagsOnly: pageTypes && save == nil) { progress.show(done: $0, of: $1) }
            progress.clear()
            if let save, let writer { try writer.write(to: save) }
            machines = [census]
        } else {
            for path in paths { machines.append(try SnapshotReader.census(path: path, picture: picture && paths.count == 1)) }
            try Self.refuseRepeatedCensuses(machines, paths: paths)
        }
        if format == .jsonl {
            let sources = from.isEmpty ? ["live"] : paths
            var rows = ""
            for (machine, source) in zip(machines, sources) {
                let release = KernelVersion(release: machine.info.kernelRelease).flatMap { KernelVersion.known.contains($0) ? $0 : nil }
                let costs = CensusCosts.compute(machine, config: LayoutConfig(arch: machine.info.layoutArch ?? .x86_64), overrides: overrides,
                                                kernel: version ?? release ?? .reference)
                rows += CensusJSONL.rows(machine, costs: costs, source: source, kernelVersion: (version ?? release)?.description)
            }
            return try write(rows)
        }
        if let other = machines.first(where: { $0.pageSize != machines[0].pageSize }) {
            throw ValidationError("a fleet adds pages up: \(other.info.machine.isEmpty ? "a machine" : other.info.machine) has \(other.pageSize)-byte pages, \(paths[0]) \(machines[0].pageSize)-byte ones")
        }
        let census = Census.fleet(machines)
        let seconds = Date().timeIntervalSince(started)
        if pageTypes {
            return try write(PageTypesTable.render(census, raw: raw))
        }
        // The version /proc/kpageflags is read as: --kernel, else one machine's own release.
        let release = machines.count == 1 ? KernelVersion(release: census.info.kernelRelease).flatMap { KernelVersion.known.contains($0) ? $0 : nil } : nil
        let kpageflags = (version ?? release).map(KernelPageFlags.Semantics.init)
        let structPage = CensusStructPage.size(for: machines.count == 1 ? census : Census(info: SnapshotInfo(kernelRelease: "")), kernel: version)
        let costKernel = version ?? release ?? .reference
        let costs = CensusCosts.compute(census, config: LayoutConfig(arch: census.info.layoutArch ?? .x86_64), overrides: overrides,
                                        structPageSize: structPage?.size, kernel: costKernel)
        switch format {
        case .json: try write(JSONOutput.string(CensusJSON(census, costs: costs, machines: machines.count > 1 ? machines : [], seconds: seconds,
                                                           kpageflags: kpageflags, costedOn: costKernel)))
        case .svg: try write(CensusSVG.render(census, costs: costs))
        case .png:
            guard let png = MemmapPicture.png(census) else {
                throw ValidationError("--format png needs one machine's census (not a fleet of \(machines.count))")
            }
            try write(bytes: png)
        default: try write(CensusText.render(census, costs: costs, machines: machines, seconds: seconds, kpageflags: kpageflags)
                           + (structPage.map { "\nsizeof(struct page): \($0.note)\n" } ?? "")
                           + (costKernel == .reference ? "" : "designs: each costed on Linux \(costKernel)'s struct page (the memdesc designs as proposed)\n"))
        }
    }

    static let maxFleet = 1024

    /// A fleet adds machines up: the same snapshot file named twice (under any path)
    /// would count one machine twice.
    static func refuseRepeatedSnapshots(_ paths: [String]) throws {
        var seen: [String: String] = [:]
        for path in paths {
            var status = stat()
            guard stat(path, &status) == 0 else { continue }  // the reader says why
            let identity = "\(status.st_dev):\(status.st_ino)"
            if let first = seen[identity] { throw ValidationError("'\(path)' is the same snapshot as '\(first)'; a fleet counts each machine once") }
            seen[identity] = path
        }
    }

    /// The same census under two file names (a copy): same machine, kernel, time and pfns.
    static func refuseRepeatedCensuses(_ machines: [Census], paths: [String]) throws {
        for i in machines.indices {
            for j in machines.indices where j < i {
                let (a, b) = (machines[j].info, machines[i].info)
                if a.machine == b.machine, a.kernelRelease == b.kernelRelease, a.createdAt == b.createdAt, machines[i].pfns == machines[j].pfns {
                    throw ValidationError("'\(paths[i])' holds the same census as '\(paths[j])' (machine \(a.machine.isEmpty ? "unnamed" : a.machine), taken at \(a.createdAt)); a fleet counts each machine once")
                }
            }
        }
    }

    private func write(_ text: String) throws { try write(bytes: Array(text.utf8)) }

    private func write(bytes: [UInt8]) throws {
        guard let output else { return FileHandle.standardOutput.write(Data(bytes)) }
        try OutputFile.write(bytes, to: output)
    }
}

/// Progress on a terminal only: one line on standard error, rewritten in place.
final class Progress {
    let enabled: Bool
    private var lastPercent = -1
    init(enabled: Bool) { self.enabled = enabled }

    func show(done: Int, of total: Int) {
        guard enabled, total > 0 else { return }
        let percent = done * 100 / total
        guard percent != lastPercent else { return }
        lastPercent = percent
        FileHandle.standardError.write(Data("\rcensus: \(done) of \(total) pfns (\(percent) %)".utf8))
    }

    func clear() {
        guard enabled, lastPercent >= 0 else { return }
        FileHandle.standardError.write(Data("\r\u{1b}[K".utf8))
    }
}
