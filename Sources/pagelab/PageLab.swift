// The command line. It holds no logic of its own: it parses, calls a module, prints.
import ArgumentParser
import Foundation

@main
struct PageLab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pagelab",
        abstract: "An executable, byte-exact model of Linux's struct page, folios, memdescs and DMA pinning.",
        subcommands: [Report.self, Flags.self, Layout.self, CensusCommand.self, MachineCommand.self, CompareCommand.self, RunCommand.self, BenchCommand.self]
    )

    /// Exit statuses of DESIGN.md: 0 success, 1 a check or expectation failed, 2 bad
    /// usage or bad input. ArgumentParser's own default for usage errors is 64
    /// (EX_USAGE); PageLab maps every parse and input error to 2 and prints one line.
    static func main() {
        do {
            let arguments = Layout.expandingBareBTF(Array(CommandLine.arguments.dropFirst()))
            try checkHelpTopic(arguments)
            try checkRepeatedOptions(arguments)
            var command = try parseAsRoot(arguments)
            try command.run()
        } catch {
            exit(withStatusFor: error)
        }
    }

    /// Options that may be given more than once (each adds to a list). Every other
    /// option takes one value: ArgumentParser would silently keep the last of several,
    /// so a repeated one is refused (`checkRepeatedOptions`).
    static let repeatableOptions: Set<String> = ["--from", "--add-flag", "--descriptor-size"]

    /// `--ram 1G --ram 2G` is a usage error, not "the last one wins".
    static func checkRepeatedOptions(_ arguments: [String]) throws {
        var seen: Set<String> = []
        for argument in arguments {
            if argument == "--" { break }
            guard argument.hasPrefix("--"), argument.count > 2 else { continue }
            let name = String(argument.prefix { $0 != "=" })
            guard !repeatableOptions.contains(name) else { continue }
            guard seen.insert(name).inserted else { throw ValidationError("\(name) is given more than once") }
        }
    }

    /// `pagelab help NAME` with a NAME that is not a subcommand is a usage error (exit
    /// status 2), not the top-level help.
    static func checkHelpTopic(_ arguments: [String]) throws {
        guard arguments.first == "help" else { return }
        let names = configuration.subcommands.map { $0._commandName }
        for topic in arguments.dropFirst() where !topic.hasPrefix("-") && !names.contains(topic) {
            throw ValidationError("help: unknown subcommand '\(topic)' (known: \(names.joined(separator: ", ")))")
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
        var line = message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
        // A Foundation error that reached here: its POSIX reason, not "NSCocoaErrorDomain".
        if let cocoa = error as NSError?, cocoa.domain == NSCocoaErrorDomain {
            let posix = (cocoa.userInfo[NSUnderlyingErrorKey] as? NSError).map { String(cString: strerror(Int32($0.code))) }
            line = "cannot access \(cocoa.userInfo[NSFilePathErrorKey] as? String ?? "a file"): \(posix ?? "I/O error")"
        }
        FileHandle.standardError.write(Data("pagelab: error: \(line)\n".utf8))
        Foundation.exit(2)
    }
}
