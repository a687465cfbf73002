// Small shared pieces of the commands: formats and writing results.
import ArgumentParser
import Foundation

/// `--format` values. Each command accepts the subset it documents and rejects the rest
/// with exit status 2.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, jsonl, svg, png, html
}

extension OutputFormat {
    /// Rejects a format the command does not produce, as a usage error (exit status 2).
    func require(oneOf allowed: [OutputFormat]) throws {
        guard allowed.contains(self) else {
            throw ValidationError("--format \(rawValue) is not available here (use one of: \(allowed.map(\.rawValue).joined(separator: ", ")))")
        }
    }
}

/// Writes text to standard output without the extra newline `print` would add.
func emit(_ text: String) {
    FileHandle.standardOutput.write(Data(text.utf8))
}
