// The command line. It holds no logic of its own: it parses, calls a module, prints.
import ArgumentParser
import Foundation

@main
struct PageLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pagelab",
        abstract: "An executable, byte-exact model of Linux's struct page, folios, memdescs and DMA pinning.",
        subcommands: [Report.self, Flags.self, Layout.self, CensusCommand.self, MachineCommand.self, CompareCommand.self, RunCommand.self]
    )

    /// Exit statuses of DESIGN.md: 0 success, 1 a check or expectation failed, 2 bad
    /// usage or bad input. ArgumentParser's own default for usage errors is 64
    /// (EX_USAGE); PageLab maps every parse and input error to 2 and prints one line.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            exit(withStatusFor: error)
        }
    }

    private static func exit(withStatusFor error: Error) -> Never {
        if let status = error as? ExitCode {
            Foundation.exit(status.rawValue)
        }
        if exitCode(for: error) == .success {
            // --help, --version: ArgumentParser's text, on standard output.
            print(fullMessage(for: error))
            Foundation.exit(0)
        }
        // message(for:) gives ArgumentParser's text for usage errors and `description`
        // for PageLab's own typed errors; the first line is the one that names the problem.
        let line = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
        FileHandle.standardError.write(Data("pagelab: error: \(line)\n".utf8))
        Foundation.exit(2)
    }
}
