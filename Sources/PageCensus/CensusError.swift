// Typed errors of the census: bad input, never a trap.

/// What went wrong while reading a machine or a snapshot. `description` is the one line
/// the command line prints before exiting with status 2.
public enum CensusError: Error, Equatable, CustomStringConvertible {
    /// A /proc file that cannot be opened or read (not root, no CONFIG_PROC_PAGE_MONITOR).
    case unreadable(path: String, reason: String)
    /// A snapshot file that is not a valid snapshot; `offset` is the byte where it goes wrong.
    case badSnapshot(path: String, offset: Int, reason: String)
    /// A file that cannot be written.
    case unwritable(path: String, reason: String)
    /// A bad `--descriptor-size` or similar argument.
    case badArgument(String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): "cannot read \(path): \(reason)"
        case let .badSnapshot(path, offset, reason): "\(path): not a usable census snapshot at byte offset \(offset): \(reason)"
        case let .unwritable(path, reason): "cannot write \(path): \(reason)"
        case let .badArgument(text): text
        }
    }
}
