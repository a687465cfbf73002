// Issue 17, item 5: the command line's small edges, each a usage error (exit status 2,
// one line naming the problem) or honoured, never silently ignored.
import Foundation
import Testing

@Suite struct CommandLineEdgeTests {
    static let example = CensusCommandTests.example

    private func error(_ arguments: [String], stdin: Data? = nil) throws -> String {
        let result = try CLI.run(arguments, stdin: stdin)
        #expect(result.status == 2, "\(arguments): \(result.stdout.prefix(200))")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
        return result.stderr
    }

    @Test func helpListsOnlyTheFormatsACommandAccepts() throws {
        let machine = try CLI.run(["machine", "--help"]).stdout
        #expect(machine.contains("text or json"))
        for format in ["svg", "png", "html"] { #expect(!machine.contains(format), "\(format)") }
        #expect(!(try CLI.run(["compare", "--help"]).stdout.contains("png")))
        #expect(try CLI.run(["census", "--help"]).stdout.contains("png"))
    }

    @Test func negativeAndHugeSizesAreOutOfRange() throws {
        #expect(try error(["machine", "--ram", "-1"]).contains("out of range"))
        #expect(try error(["machine", "--ram", "256M", "--nodes", "-1"]).contains("--nodes -1 is out of range"))
        #expect(try error(["compare", "--ram", "-256M"]).contains("out of range"))
        #expect(try error(["machine", "--ram", "99999999T"]).contains("too large"))
        #expect(try error(["machine", "--ram", "lots"]).contains("is not a size"))
    }

    @Test func helpForAnUnknownCommandIsAnError() throws {
        #expect(try error(["help", "nope"]).contains("unknown subcommand 'nope'"))
        #expect(try CLI.run(["help", "census"]).status == 0)
    }

    @Test func aRepeatedSingleValuedOptionIsAnError() throws {
        #expect(try error(["machine", "--ram", "256M", "--ram", "512M"]).contains("--ram is given more than once"))
        #expect(try error(["layout", "--format", "json", "--format=svg"]).contains("--format is given more than once"))
        // Options that collect a list may repeat.
        #expect(try CLI.run(["flags", "--preset", "x86_64-defconfig", "--add-flag", "PG_a", "--add-flag", "PG_b"]).status == 0)
    }

    @Test func pageTypesIsTextOnly() throws {
        #expect(try error(["census", "--from", Self.example, "--page-types", "--format", "json"]).contains("--page-types"))
    }

    @Test func layoutRefusesMemdescOn32BitAsMachineDoes() throws {
        let layout = try error(["layout", "--arch", "i386", "--design", "memdesc8"])
        let machine = try error(["machine", "--ram", "256M", "--arch", "i386", "--design", "memdesc8"])
        #expect(layout.contains("design 'memdesc8' does not fit arch 'i386'"))
        #expect(machine.contains("design 'memdesc8' does not fit arch 'i386'"))
        #expect(try CLI.run(["layout", "--arch", "i386", "--design", "mainline"]).status == 0)
    }

    @Test func flagsJSONChangesListTheStructPageSizeTheTextShows() throws {
        let arguments = ["flags", "--preset", "x86_64-distro", "--add-flag", "PG_dma_pinned"]
        let text = try CLI.run(arguments).stdout
        let object = try #require(try JSONSerialization.jsonObject(with: Data(try CLI.run(arguments + ["--format", "json"]).stdout.utf8)) as? [String: Any])
        let changes = try #require(object["changes"] as? [String])
        let sizeLine = try #require(changes.first { $0.hasPrefix("sizeof(struct page)") })
        #expect(text.contains("  - \(sizeLine)\n"))
        for line in changes { #expect(text.contains("  - \(line)\n"), "\(line)") }
    }

    @Test func theSameSnapshotTwiceIsRefusedInAFleet() throws {
        #expect(try error(["census", "--from", Self.example, "--from", Self.example]).contains("same snapshot"))
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let link = dir.appendingPathComponent("link.pglb").path, copy = dir.appendingPathComponent("copy.pglb").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: Self.example)
        try FileManager.default.copyItem(atPath: Self.example, toPath: copy)
        #expect(try error(["census", "--from", Self.example, "--from", link]).contains("same snapshot"))
        #expect(try error(["census", "--from", Self.example, "--from", copy]).contains("same census"))
    }

    @Test func kconfigFromStandardInput() throws {
        let text = Data("CONFIG_X86_64=y\nCONFIG_NUMA=y\nCONFIG_NODES_SHIFT=4\n".utf8)
        let result = try CLI.run(["flags", "--kconfig", "-"], stdin: text)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.hasPrefix("Kernel configuration: standard input"))
        #expect(result.stdout.contains("MAX_NUMNODES 16"))
    }

    @Test func kconfigOutOfRangeNeedsWhatIf() throws {
        let path = try temporaryConfig("CONFIG_X86_64=y\nCONFIG_NUMA=y\nCONFIG_NODES_SHIFT=12\n")
        #expect(try error(["flags", "--kconfig", path]).contains("CONFIG_NODES_SHIFT=12 is outside its range 1...10"))
        let whatIf = try CLI.run(["flags", "--kconfig", path, "--what-if"])
        #expect(whatIf.status == 0)
        #expect(whatIf.stdout.contains("MAX_NUMNODES 4096"))
        #expect(try CLI.run(["layout", "--kconfig", path, "--what-if"]).status == 0)
    }

    @Test func aFifoAsKconfigIsRefusedNotWaitedOn() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("config").path
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(try error(["flags", "--kconfig", fifo]) == "pagelab: error: cannot read '\(fifo)': it is a FIFO, not a regular file\n")
    }

    @Test func aReportDirectoryThatCannotBeMadeFailsFirst() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("file").path
        try Data("x".utf8).write(to: URL(fileURLWithPath: file))
        #expect(try error(["report", "--out", file]) == "pagelab: error: cannot write \(file): it is not a directory\n")
        #expect(try error(["report", "--out", file + "/sub"]) == "pagelab: error: cannot write \(file)/sub: Not a directory\n")
    }

    @Test(.enabled(if: Terminal.available, "needs script(1) from util-linux for a terminal"))
    func progressOnATerminal() throws {
        let machine = try Terminal.run(["machine", "--ram", "256M"], stdoutToNull: true)
        #expect(machine.status == 0)
        #expect(machine.shown.contains("machine: building a 256M mainline machine"))
        #expect(machine.shown.contains("machine: self-check"))
        let compare = try Terminal.run(["compare", "--ram", "256M", "--designs", "mainline,memdesc8"], stdoutToNull: true)
        #expect(compare.shown.contains("compare: memdesc8 (2 of 2)"))
    }

    private func temporaryConfig(_ text: String) throws -> String {
        let dir = try CLI.temporaryDirectory()
        let url = dir.appendingPathComponent("config")
        try Data(text.utf8).write(to: url)
        return url.path
    }
}
