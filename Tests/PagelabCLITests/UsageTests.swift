import Testing

@Suite struct UsageTests {
    @Test func helpExitsZero() throws {
        let result = try CLI.run(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("USAGE: pagelab"))
    }

    @Test func unknownSubcommandIsBadUsage() throws {
        let result = try CLI.run(["frobnicate"])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("pagelab: error:"))
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test func unknownOptionIsBadUsage() throws {
        let result = try CLI.run(["report", "--no-such-option"])
        #expect(result.status == 2)
        #expect(result.stderr.contains("--no-such-option"))
    }
}
