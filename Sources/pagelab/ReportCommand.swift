// `pagelab report`: the main job.
import ArgumentParser
import Foundation
import PageReport

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Everything PageLab knows about this machine, as text and as one HTML report."
    )

    @Option(help: "Directory for index.html and its pictures.")
    var out: String = "pagelab-report"

    @Option(help: "A kernel .config (plain or gzip) instead of the running kernel's.")
    var kconfig: String?

    @Option(help: "A named kernel configuration preset (see `pagelab flags --help`).")
    var preset: String?

    func validate() throws {
        if kconfig != nil && preset != nil { throw ValidationError("give --kconfig or --preset, not both") }
    }

    func run() throws {
        let report = try PageLabReport.make(kconfig: kconfig, preset: preset)
        let directory = URL(fileURLWithPath: out, isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(report.html.utf8).write(to: directory.appendingPathComponent("index.html"))
            for (name, bytes) in report.files {
                try Data(bytes).write(to: directory.appendingPathComponent(name))
            }
        } catch {
            throw ValidationError("cannot write the report to '\(out)': \(error.localizedDescription)")
        }
        emit(report.text)
        emit("\nPageLab report written to \(directory.path)/index.html\n")
    }
}
