// Small shared pieces of the commands: formats and writing results.
import ArgumentParser
import Foundation
import PageLayout

/// `--format` values. Each command accepts the subset it documents and rejects the rest
/// with exit status 2.
enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case text, json, svg, png, html, jsonl

    /// Empty, so that `--help` does not list every format under every command: each
    /// command's help text names the formats it accepts (`require(oneOf:)` enforces them).
    static var allValueStrings: [String] { [] }
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

/// One line on standard error naming the step that is running, rewritten in place, on a
/// terminal only (piped output stays quiet). `pagelab machine`, `report` and `compare`.
struct StageProgress {
    let command: String
    let enabled = isatty(STDERR_FILENO) != 0

    func show(_ step: String) {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\(command): \(step)\u{1b}[K".utf8))
    }

    /// Erases the line; called before the output, and again (harmlessly) on the way out
    /// so that an error message starts on a clean line.
    func clear() {
        guard enabled else { return }
        FileHandle.standardError.write(Data("\r\u{1b}[K".utf8))
    }
}

/// The configuration with its kernel version chosen (`--kernel`, else its header, else
/// the running kernel): one line on standard error when `--kernel` overrides the header.
func chooseKernel(_ requested: String?, for config: KernelConfig) throws -> KernelConfig.VersionChoice {
    let choice = try config.choosingKernel(requested)
    if let warning = choice.warning { FileHandle.standardError.write(Data("pagelab: \(warning)\n".utf8)) }
    return choice
}
