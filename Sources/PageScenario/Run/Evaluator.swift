// Integer expressions, with every operation checked: a script's numbers never trap.
import PageModel

/// A failure while running a scenario that is not the kernel's answer (an overflow, a
/// negative length, a step budget exhausted). It ends that design's run as a failure.
public struct RunError: Error, Sendable, CustomStringConvertible {
    public let position: SourcePosition
    public let message: String
    public var description: String { "\(position): \(message)" }
}

enum Evaluator {
    /// An integer expression; `lookup` gives loop variables and bound addresses.
    static func int(_ expr: Expr, _ lookup: (Ref) -> Int64?) -> Result<Int64, RunError> {
        switch expr {
        case .int(let v, _): return .success(v)
        case .name(let name, let p):
            guard let v = lookup(name) else { return .failure(RunError(position: p, message: "'\(name.name)' has no value here")) }
            return .success(v)
        case .binary(let op, let a, let b, let p):
            let left: Int64, right: Int64
            switch int(a, lookup) { case .success(let v): left = v; case .failure(let e): return .failure(e) }
            switch int(b, lookup) { case .success(let v): right = v; case .failure(let e): return .failure(e) }
            guard let value = apply(op, left, right) else { return .failure(RunError(position: p, message: Self.overflow)) }
            return .success(value)
        case .offset(let name, let at):
            guard let left = lookup(name) else { return .failure(RunError(position: at.namePosition, message: "'\(name.name)' has no value here")) }
            guard let value = apply(at.op, left, at.value) else { return .failure(RunError(position: at.position, message: Self.overflow)) }
            return .success(value)
        default:
            return .failure(RunError(position: expr.position, message: "expected an integer"))
        }
    }

    static let overflow = "arithmetic overflow"

    /// `left op right` (op `+`, `-` or `*`), nil on overflow.
    static func apply(_ op: String, _ left: Int64, _ right: Int64) -> Int64? {
        let (value, overflow) = switch op {
        case "+": left.addingReportingOverflow(right)
        case "-": left.subtractingReportingOverflow(right)
        default: left.multipliedReportingOverflow(by: right)
        }
        return overflow ? nil : value
    }

    /// A constant expression, at parse time: an overflow is a bad script.
    static func constant(_ expr: Expr) -> Result<Int64, ScriptError> {
        int(expr) { _ in nil }.mapError { ScriptError($0.position, $0.message) }
    }

    /// Errno names, and the signals a CPU access can end in.
    static func isErrnoWord(_ word: String) -> Bool {
        word == "ok" || word == "SIGSEGV" || word == "SIGBUS" || errnoByName[word] != nil
    }

    static let errnoByName: [String: Errno] = {
        var table: [String: Errno] = [:]
        for raw in Int32(1)...Int32(600) {
            let e = Errno(rawValue: raw)
            if e.name != "E\(raw)" { table[e.name] = e }
        }
        return table
    }()

    /// The page flags `flags(PAGE)` decodes, by their kernel names without `PG_`.
    static let pageFlagNames = [
        "locked", "writeback", "referenced", "uptodate", "dirty", "lru", "head", "waiters", "active", "workingset",
        "owner_priv_1", "owner_2", "reserved", "private", "private_2", "reclaim", "swapbacked", "unevictable", "mlocked", "hwpoison",
    ]

    /// The bit of each decodable flag on this machine's config (-1: not in the config).
    static func flagBits(_ bits: PageFlagBits) -> [(String, Int)] {
        [("locked", bits.locked), ("writeback", bits.writeback), ("referenced", bits.referenced), ("uptodate", bits.uptodate),
         ("dirty", bits.dirty), ("lru", bits.lru), ("head", bits.head), ("waiters", bits.waiters), ("active", bits.active),
         ("workingset", bits.workingset), ("owner_priv_1", bits.ownerPriv1), ("owner_2", bits.owner2), ("reserved", bits.reserved),
         ("private", bits.private1), ("private_2", bits.private2), ("reclaim", bits.reclaim), ("swapbacked", bits.swapbacked),
         ("unevictable", bits.unevictable), ("mlocked", bits.mlocked), ("hwpoison", bits.hwpoison)]
    }
}
