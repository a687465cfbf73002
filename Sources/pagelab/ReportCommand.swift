// `pagelab report`: the main job.
import ArgumentParser
import Foundation

struct Report: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Everything PageLab knows about this machine, as text and as one HTML report."
    )

    @Option(help: "Directory for index.html and its pictures.")
    var out: String = "pagelab-report"

    func run() throws {
        // Filled in as the modules land: flags budget, layouts, census, compare.
        let url = URL(fileURLWithPath: out, isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        emit("PageLab report written to \(url.path)/index.html\n")
    }
}
