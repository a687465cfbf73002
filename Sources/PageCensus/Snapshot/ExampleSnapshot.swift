// The census snapshot bundled with PageLab, for machines where /proc/kpageflags cannot
// be read (not root, or not Linux): `pagelab report` falls back to it and says so.
import Foundation

public enum ExampleSnapshot {
    /// A real census of a 24 GiB, 2-vCPU x86-64 Firecracker guest running Linux
    /// 6.18.44 (the kind of machine real-machine-census.md describes), taken with
    /// `pagelab census --save`: 6,553,600 pfns in about 420 KB.
    public static let name = "example-census.pglb"

    /// The bundled file's path, if the resource bundle is present. SwiftPM's generated
    /// `Bundle.module` traps when the bundle has not been copied along with a relocated
    /// binary, so this looks for the bundle itself: beside the executable (as SwiftPM
    /// lays it out), then in the source tree this was built from.
    public static var path: String? {
        let bundle = "PageLab_PageCensus.resources/" + name
        var candidates = [Bundle.main.bundleURL.appendingPathComponent(bundle).path]
        if let executable = Bundle.main.executableURL {
            candidates.append(executable.deletingLastPathComponent().appendingPathComponent(bundle).path)
        }
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Resources/" + name).path)
        return candidates.first { FileManager.default.isReadableFile(atPath: $0) }
    }

    /// Reads and analyses the bundled snapshot.
    public static func census(picture: Bool = false) throws(CensusError) -> Census {
        guard let path else { throw .unreadable(path: name, reason: "the PageCensus resource bundle is missing") }
        return try SnapshotReader.census(path: path, picture: picture)
    }
}

/// Where a census for the report comes from: the running machine when /proc/kpageflags
/// can be read, otherwise the bundled example, with a sentence saying which.
public enum CensusSource {
    /// The live census, or the bundled example when the live one fails (not root, not
    /// Linux); `note` says which was used and why, for the report to print.
    public static func liveOrExample(picture: Bool = false) throws(CensusError) -> (census: Census, note: String) {
        do {
            let (census, _) = try LiveCensus.run(picture: picture)
            return (census, "census of this machine (Linux \(census.info.kernelRelease))")
        } catch {
            let census = try ExampleSnapshot.census(picture: picture)
            return (census, "this machine's /proc/kpageflags cannot be read (\(error)); using the bundled example census of a 24 GiB x86-64 machine (Linux \(census.info.kernelRelease))")
        }
    }
}
