// Typed errors of the PageLayout module: bad user input, never a trap.

/// What went wrong while reading a kernel configuration or naming a layout input.
/// `description` is the one line the command line prints before exiting with status 2.
public enum LayoutError: Error, Equatable, CustomStringConvertible {
    /// An unknown preset, arch, design or flag name.
    case unknownName(kind: String, name: String, known: [String])
    /// A file that could not be read (missing, unreadable, a directory).
    case unreadableFile(path: String, reason: String)
    /// A file that was read but is not what it should be (not a kconfig, bad gzip).
    case malformedFile(path: String, reason: String)
    /// A name that is not acceptable as given (a malformed or already defined page flag).
    case invalidName(kind: String, name: String, reason: String)
    /// BTF cannot be read at all here: libbpf is missing (BTFReader.swift).
    case btfUnavailable(reason: String)
    /// A configuration option the kernel version does not have (CONFIG_SLOB on 6.6).
    case optionNotInVersion(option: String, version: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownName(kind, name, known):
            "unknown \(kind) '\(name)' (known: \(known.joined(separator: ", ")))"
        case let .unreadableFile(path, reason):
            "cannot read '\(path)': \(reason)"
        case let .malformedFile(path, reason):
            "'\(path)' is not usable: \(reason)"
        case let .invalidName(kind, name, reason):
            "bad \(kind) name '\(name)': \(reason)"
        case let .btfUnavailable(reason):
            "--btf is not available: \(reason)"
        case let .optionNotInVersion(option, version, reason):
            "\(option)=y is not an option of Linux \(version): \(reason)"
        }
    }
}
