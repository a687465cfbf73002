// A terminal for the tests that need standard output or error to be one (progress
// lines, refusing binary output): util-linux's script(1) runs pagelab on a pseudo-terminal
// (bsdutils, essential in Debian). Tests using it skip where it is missing.
import Foundation

enum Terminal {
    static let script = "/usr/bin/script"
    static let available = FileManager.default.isExecutableFile(atPath: script)

    /// Runs `pagelab ARGUMENTS` on a pseudo-terminal (standard output and error both;
    /// `stdoutToNull` sends standard output to /dev/null, leaving standard error on the
    /// terminal). Returns pagelab's exit status (`script -e`) and what the terminal showed.
    static func run(_ arguments: [String], stdoutToNull: Bool = false) throws -> (status: Int32, shown: String) {
        let quoted = ([CLI.executable.path] + arguments).map { "'" + $0.replacingOccurrences(of: "'", with: "'\\''") + "'" }
        let result = try CLI.runProgram(script, ["-qec", quoted.joined(separator: " ") + (stdoutToNull ? " >/dev/null" : ""), "/dev/null"])
        return (result.status, result.stdout)
    }
}
