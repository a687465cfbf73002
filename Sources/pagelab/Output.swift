// Small shared pieces of the commands: formats and writing results.
import ArgumentParser
import Foundation
import PageLayout

/// `--format` values. Each command accepts the subset it documents and rejects the rest
/// with exit status 2.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, svg, png, html, jsonl
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

/// The configuration with its kernel version chosen (`--kernel`, else its header, else
/// the running kernel): one line on standard error when `--kernel` overrides the header.
func chooseKernel(_ requested: String?, for config: KernelConfig) throws -> KernelConfig.VersionChoice {
    let choice = try config.choosingKernel(requested)
    if let warning = choice.warning { FileHandle.standardError.write(Data("pagelab: \(warning)\n".utf8)) }
    return choice
}
