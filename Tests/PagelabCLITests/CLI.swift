// Runs the built `pagelab` executable as a user would and captures what it prints.
import Foundation
import Testing

struct CLIResult {
    let status: Int32
    let stdout: String
    let stderr: String
}

enum CLI {
    /// The `pagelab` binary SwiftPM built beside this test bundle.
    static let executable: URL = {
        var directory = Bundle.main.bundleURL
        for _ in 0..<3 {
            let candidate = directory.appendingPathComponent("pagelab")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return Bundle.main.bundleURL.deletingLastPathComponent().appendingPathComponent("pagelab")
    }()

    static func run(_ arguments: [String], stdin: Data? = nil) throws -> CLIResult {
        try runProgram(executable.path, arguments, stdin: stdin)
    }

    /// Runs `arguments` expecting them refused as bad input: exit status 2, nothing on
    /// standard output, one line on standard error that starts "pagelab: error:".
    /// Returns standard error, for what a test checks further.
    @discardableResult
    static func runBadInput(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
        let result = try run(arguments)
        #expect(result.status == 2, sourceLocation: sourceLocation)
        #expect(result.stdout.isEmpty, sourceLocation: sourceLocation)
        #expect(result.stderr.hasPrefix("pagelab: error:"), sourceLocation: sourceLocation)
        #expect(result.stderr.split(separator: "\n").count == 1, sourceLocation: sourceLocation)
        return result.stderr
    }

    /// Runs any program the same way (the terminal tests run pagelab under script(1)).
    static func runProgram(_ path: String, _ arguments: [String], stdin: Data? = nil) throws -> CLIResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        if let stdin {
            let input = Pipe()
            process.standardInput = input
            try process.run()
            input.fileHandleForWriting.write(stdin)
            try input.fileHandleForWriting.close()
        } else {
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }
        // Read both pipes to the end before waiting, so a large output cannot block.
        let stdoutData = out.fileHandleForReading.readDataToEndOfFile()
        let stderrData = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLIResult(status: process.terminationStatus,
                         stdout: String(decoding: stdoutData, as: UTF8.self),
                         stderr: String(decoding: stderrData, as: UTF8.self))
    }

    /// A fresh temporary directory for a test's files.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("pagelab-test-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// A fresh fake /proc for `census --proc`: one 128 MiB section of System RAM whose
    /// 32768 pfns read as zero flags (no kpagecount or kpagecgroup).
    static func oneSectionProc() throws -> URL {
        let dir = try temporaryDirectory()
        try Data([UInt8](repeating: 0, count: 8 * 32768)).write(to: dir.appendingPathComponent("kpageflags"))
        try Data("00000000-07ffffff : System RAM\n".utf8).write(to: dir.appendingPathComponent("iomem"))
        return dir
    }
}
