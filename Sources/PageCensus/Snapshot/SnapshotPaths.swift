// `census --from` of a whole fleet: a directory stands for every snapshot in it, so that
// a thousand hosts need not be a thousand arguments.
import Foundation

public enum SnapshotPaths {
    /// The file name suffix `census --save` is documented with.
    public static let suffix = ".pglb"

    /// `paths` with each directory replaced by the `.pglb` files in it, sorted by name.
    /// A directory without any is `.unreadable`; files are kept as given (the reader
    /// checks them).
    public static func expand(_ paths: [String]) throws(CensusError) -> [String] {
        var out: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
                out.append(path)
                continue
            }
            let names: [String]
            do { names = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
                throw .unreadable(path: path, reason: "cannot list the directory")
            }
            let snapshots = names.filter { $0.hasSuffix(suffix) }.sorted()
            guard !snapshots.isEmpty else {
                throw .unreadable(path: path, reason: "a directory with no \(suffix) snapshot in it")
            }
            out += snapshots.map { (path as NSString).appendingPathComponent($0) }
        }
        return out
    }
}
