// The bundled scenario library (Resources/scenarios/*.pls; shared setup in include/),
// and reading scenarios from files.
import Foundation

public enum ScenarioLibrary {
    /// The extension of scenario files.
    public static let fileExtension = "pls"
    /// The largest script read (bytes).
    public static let maxFileBytes = 4 << 20

    /// The library's directory, if the resource bundle is present. SwiftPM's generated
    /// `Bundle.module` traps when the bundle was not copied along with a relocated
    /// binary, so this looks for it: beside the executable, then in the source tree.
    public static var directory: String? {
        let bundle = "PageLab_PageScenario.resources/scenarios"
        var candidates = [Bundle.main.bundleURL.appendingPathComponent(bundle).path]
        if let executable = Bundle.main.executableURL {
            candidates.append(executable.deletingLastPathComponent().appendingPathComponent(bundle).path)
        }
        candidates.append(URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources/scenarios").path)
        return candidates.first { FileManager.default.fileExists(atPath: $0 + "/include") }
    }

    /// The bundled scenarios' names, sorted.
    public static var names: [String] {
        guard let directory, let files = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return files.filter { $0.hasSuffix("." + fileExtension) }.map { String($0.dropLast(fileExtension.count + 1)) }.sorted()
    }

    /// Reads a script file (nil if it cannot be read or is too large).
    public static let read: ScenarioParser.Loader = { path in
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
              let size = attributes[.size] as? Int, size <= maxFileBytes,
              let data = FileManager.default.contents(atPath: path) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// A scenario by bundled name or by path: a path is anything with a `/` or the
    /// `.pls` extension, or a name the library does not have.
    public static func load(_ nameOrPath: String) throws(ScriptError) -> Scenario {
        var path = nameOrPath
        if !nameOrPath.contains("/"), !nameOrPath.hasSuffix("." + fileExtension), let directory, names.contains(nameOrPath) {
            path = directory + "/" + nameOrPath + "." + fileExtension
        }
        guard let text = read(path) else { throw ScriptError(SourcePosition(file: nameOrPath, line: 0, column: 0), "cannot read the scenario (not a file, too large, or not a bundled name; see pagelab run --list)") }
        var name = URL(fileURLWithPath: path).lastPathComponent
        if name.hasSuffix("." + fileExtension) { name.removeLast(fileExtension.count + 1) }
        return try ScenarioParser.parse(text, name: name, path: path, load: read)
    }

    /// Every bundled scenario, parsed.
    public static func all() throws(ScriptError) -> [Scenario] {
        var list: [Scenario] = []
        for name in names { list.append(try load(name)) }
        return list
    }
}
