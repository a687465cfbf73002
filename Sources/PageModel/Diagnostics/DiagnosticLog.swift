// The record of kernel-style diagnostics of one machine (WARN, BUG, bad_page), kept
// for tests and scenarios to query; the model keeps running after each.
import Synchronization

/// A thread-safe, append-only log of `Diagnostic`s.
public final class DiagnosticLog: Sendable {
    private let entries = ModelMutex<[Diagnostic]>([])
    /// How often each `WARN_ON_ONCE()` site was hit, by site name.
    private let onceSites = ModelMutex<[String: Int]>([:])

    public init() {}

    public func record(_ diagnostic: Diagnostic) {
        entries.withLock { $0.append(diagnostic) }
    }

    /// Linux: `WARN_ON_ONCE()`: the first hit of `site` (one per machine, as the kernel's
    /// static `__already_done` is one per boot) records `diagnostic`; later hits are
    /// only counted (`hits(of:)`). The caller's error path runs every time.
    public func recordOnce(site: String, _ diagnostic: @autoclosure () -> Diagnostic) {
        let first = onceSites.withLock { sites -> Bool in
            sites[site, default: 0] += 1
            return sites[site] == 1
        }
        if first { record(diagnostic()) }
    }

    /// How often the `WARN_ON_ONCE()` site `site` was hit (recorded or not).
    public func hits(of site: String) -> Int { onceSites.withLock { $0[site] ?? 0 } }

    /// Every diagnostic recorded so far, oldest first.
    public var all: [Diagnostic] { entries.withLock { $0 } }

    /// The diagnostics of one kind.
    public func of(kind: Diagnostic.Kind) -> [Diagnostic] { entries.withLock { $0.filter { $0.kind == kind } } }

    public var count: Int { entries.withLock { $0.count } }

    /// Forgets what was recorded (between the steps of a scenario). The once-sites stay
    /// spent, as a kernel's do until reboot.
    public func clear() { entries.withLock { $0.removeAll() } }
}
