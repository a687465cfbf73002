// `pagelab report`: the main job.
import ArgumentParser
import Foundation
import PageCensus
import PageReport

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Everything PageLab knows about this machine, as text and as one HTML report."
    )

    @Option(help: "Directory for index.html and its pictures.")
    var out: String = "pagelab-report"

    @Option(help: "A kernel .config (plain or gzip; - reads standard input) instead of the running kernel's.")
    var kconfig: String?

    @Option(help: "A named kernel configuration preset (see `pagelab flags --help`).")
    var preset: String?

    func validate() throws {
        if kconfig != nil && preset != nil { throw ValidationError("give --kconfig or --preset, not both") }
    }

    func run() throws {
        // Before the work: a directory that cannot be made fails at once.
        try OutputFile.makeDirectory(out)
        let progress = StageProgress(command: "report")
        defer { progress.clear() }
        let report = try PageLabReport.make(kconfig: kconfig, preset: preset, progress: progress.show)
        progress.clear()
        let directory = URL(fileURLWithPath: out, isDirectory: true)
        // Each file as `--output` writes one: a symlink followed, mode and owner kept.
        try OutputFile.write(Array(report.html.utf8), to: directory.appendingPathComponent("index.html").path)
        for (name, bytes) in report.files {
            try OutputFile.write(bytes, to: directory.appendingPathComponent(name).path)
        }
        emit(report.text)
        emit("\nPageLab report written to \(directory.path)/index.html\n")
    }
}
