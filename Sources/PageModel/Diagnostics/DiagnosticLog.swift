// The record of kernel-style diagnostics of one machine (WARN, BUG, bad_page), kept
// for tests and scenarios to query; the model keeps running after each.
import Synchronization

/// A thread-safe, append-only log of `Diagnostic`s.
public final class DiagnosticLog: Sendable {
    private let entries = ModelMutex<[Diagnostic]>([])

    public init() {}

    public func record(_ diagnostic: Diagnostic) {
        entries.withLock { $0.append(diagnostic) }
    }

    /// Every diagnostic recorded so far, oldest first.
    public var all: [Diagnostic] { entries.withLock { $0 } }

    /// The diagnostics of one kind.
    public func of(kind: Diagnostic.Kind) -> [Diagnostic] { entries.withLock { $0.filter { $0.kind == kind } } }

    public var count: Int { entries.withLock { $0.count } }

    /// Forgets what was recorded (between the steps of a scenario).
    public func clear() { entries.withLock { $0.removeAll() } }
}
