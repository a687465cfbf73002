// Issue 17, item 1: pagelab writes into what the user named, as the shell's `>` would:
// a symlink followed, a device or FIFO written in place, a regular file's mode kept,
// and never a device, FIFO or symlink replaced by a regular file.
import Foundation
import Testing

@Suite struct OutputFileTests {
    static let example = CensusCommandTests.example

    private func kind(_ path: String, followingLinks: Bool = false) -> mode_t {
        var status = stat()
        guard (followingLinks ? stat(path, &status) : lstat(path, &status)) == 0 else { return 0 }
        return status.st_mode & S_IFMT
    }

    private func mode(_ path: String) -> mode_t {
        var status = stat()
        stat(path, &status)
        return status.st_mode & 0o7777
    }

    @Test func aSymlinkIsFollowedAndKept() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("target.json").path, link = dir.appendingPathComponent("link.json").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: target))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        let result = try CLI.run(["census", "--from", Self.example, "--format", "json", "--output", link])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(kind(link) == S_IFLNK)
        #expect(try String(contentsOfFile: target, encoding: .utf8).hasPrefix("{"))
        // A dangling link: the file it names is created, the link stays.
        let dangling = dir.appendingPathComponent("dangling.json").path, missing = dir.appendingPathComponent("new.json").path
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: missing)
        #expect(try CLI.run(["census", "--from", Self.example, "--format", "json", "--output", dangling]).status == 0)
        #expect(kind(dangling) == S_IFLNK && kind(missing) == S_IFREG)
    }

    @Test func aRegularFileKeepsItsMode() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("private.txt").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o600)
        #expect(try CLI.run(["census", "--from", Self.example, "--output", path]).status == 0)
        #expect(mode(path) == 0o600)
        #expect(try String(contentsOfFile: path, encoding: .utf8).contains("Pages by kind"))
        // No temporary file is left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["private.txt"])
    }

    @Test func aFileWithTwoNamesKeepsBoth() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = dir.appendingPathComponent("a.txt").path, second = dir.appendingPathComponent("b.txt").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: first))
        #expect(link(first, second) == 0)
        #expect(try CLI.run(["census", "--from", Self.example, "--output", first]).status == 0)
        // Written in place, as `>` would: the other name sees the census.
        #expect(try String(contentsOfFile: second, encoding: .utf8).hasPrefix("Census of"))
    }

    @Test func aFifoIsWrittenInPlace() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fifo = dir.appendingPathComponent("out.fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        // The reader the shell's `>` would wait for.
        let received = ReceivedData()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            received.data = FileHandle(forReadingAtPath: fifo)?.readDataToEndOfFile() ?? Data()
            done.signal()
        }
        let result = try CLI.run(["census", "--from", Self.example, "--format", "json", "--output", fifo])
        done.wait()
        #expect(result.status == 0, "\(result.stderr)")
        #expect(kind(fifo) == S_IFIFO)
        #expect(received.data.first == UInt8(ascii: "{"))
    }

    @Test func devicesAreWrittenInPlaceNeverReplaced() throws {
        let null = try CLI.run(["census", "--from", Self.example, "--output", "/dev/null"])
        #expect(null.status == 0)
        #expect(kind("/dev/null") == S_IFCHR)
        // /dev/full: every write fails with ENOSPC; as root the old rename replaced it.
        let full = try CLI.run(["census", "--from", Self.example, "--output", "/dev/full"])
        #expect(full.status == 2)
        #expect(full.stderr.hasPrefix("pagelab: error: cannot write /dev/full: No space left on device"), "\(full.stderr)")
        #expect(kind("/dev/full") == S_IFCHR)
    }

    @Test func directoriesAndMissingDirectoriesAreOneLineErrors() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let intoDirectory = try CLI.run(["census", "--from", Self.example, "--output", dir.path])
        #expect(intoDirectory.status == 2)
        #expect(intoDirectory.stderr == "pagelab: error: cannot write \(dir.path): it is a directory\n")
        let missing = try CLI.run(["census", "--from", Self.example, "--output", "/nonexistent-pagelab/out.txt"])
        #expect(missing.status == 2)
        #expect(missing.stderr == "pagelab: error: cannot write /nonexistent-pagelab/out.txt: no such file\n")
        #expect(!missing.stderr.contains("Domain"))
    }

    @Test func saveIntoA0600FileAndDevFull() throws {
        let proc = try CLI.oneSectionProc()
        defer { try? FileManager.default.removeItem(at: proc) }
        let snapshot = proc.appendingPathComponent("private.pglb").path
        try Data("old".utf8).write(to: URL(fileURLWithPath: snapshot))
        chmod(snapshot, 0o600)
        #expect(try CLI.run(["census", "--proc", proc.path, "--save", snapshot]).status == 0)
        #expect(mode(snapshot) == 0o600 && kind(snapshot) == S_IFREG)
        #expect(try CLI.run(["census", "--from", snapshot]).status == 0)
        let full = try CLI.run(["census", "--proc", proc.path, "--save", "/dev/full"])
        #expect(full.status == 2 && kind("/dev/full") == S_IFCHR)
    }

    @Test(.enabled(if: Terminal.available, "needs script(1) from util-linux for a terminal"))
    func pngIsNotWrittenToATerminal() throws {
        let refused = try Terminal.run(["census", "--from", Self.example, "--format", "png"])
        #expect(refused.status == 2)
        #expect(refused.shown.contains("binary data to the terminal"))
        #expect(!refused.shown.contains("PNG"))
    }
}

/// Filled by the FIFO's reader thread, read after it signals.
final class ReceivedData: @unchecked Sendable {
    var data = Data()
}
