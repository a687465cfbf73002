// Runs one scenario on one design: a fresh machine, the statements in order, every
// expectation's expected and actual value recorded. Operations call PageModel's public
// API only; the kernel's errno or signal of a failing operation is what `expect errno`
// sees, and an error nobody expects is itself a failed expectation.
import PageLayout
import PageModel

/// One expectation's outcome on one design (loops: one per iteration).
public struct ExpectationOutcome: Sendable, Equatable {
    public let position: SourcePosition
    public let source: String
    public let expected: String
    public let actual: String
    public let passed: Bool
}

/// A scenario's run on one design.
public struct DesignRun: Sendable {
    public let scenario: String
    public let design: Design
    public var outcomes: [ExpectationOutcome] = []
    /// Why the run stopped early (a machine that cannot be built, an overflow), if it did.
    public var error: String?
    /// `--trace`: the state after each line.
    public var trace: [String] = []
    public var passed: Bool { error == nil && outcomes.allSatisfy(\.passed) }
}

/// The result of a GUP call: the pages, and whether they were pinned (FOLL_PIN).
final class PinSet {
    let pages: [Page]
    let pinned: Bool
    init(pages: [Page], pinned: Bool) {
        self.pages = pages
        self.pinned = pinned
    }
}

enum Value {
    case int(Int64), process(Process), file(OpenFile), pins(PinSet), mirror(DeviceMirror), migration(MigrateVMAResult)
}

/// The state of one run.
public final class ScenarioRunner {
    /// Operations run (loop iterations included) before a run is stopped, by default.
    public static let defaultStepBudget = 1_000_000
    /// The most bytes one write/fill/read/pread moves, and pages one GUP call asks for.
    static let maxBytes: Int64 = 64 << 20
    static let maxPages: Int64 = 1 << 16

    let scenario: Scenario
    let design: Design
    let machine: Machine
    let tracing: Bool
    let stepBudget: Int
    // The state each line reads and writes. A runner is used by one thread: the dynamic
    // exclusivity checks of a class's properties (a profile showed them per line) are not
    // needed.
    /// The run-time names' values, by `Ref` slot.
    @exclusivity(unchecked) var values: [Value?]
    @exclusivity(unchecked) var run: DesignRun
    @exclusivity(unchecked) var steps = 0
    /// The previous operation's error: nil (ok), an errno name, SIGSEGV or SIGBUS.
    @exclusivity(unchecked) var lastError: String?
    /// An error no `expect errno` has looked at yet: the operation's position and source.
    /// Not the whole Operation: copying an optional one per line went through the
    /// runtime's generic Optional value witness.
    @exclusivity(unchecked) var unchecked: (position: SourcePosition, line: SourceLine, error: String)?
    var shmem: Filesystem?
    var disk: Filesystem?
    var pagemaps: [DevPagemap] = []
    /// The HMM test devices opened so far, by minor number.
    var devices: [Int: DeviceMirrorDevice] = [:]
    /// The vmalloc space, made by the first vmalloc operation.
    var vmalloc: VmallocSpace?
    @exclusivity(unchecked) var touched: [Page] = []
    /// For the trace: the PTEs of the span an operation worked on.
    @exclusivity(unchecked) var touchedPTEs: [(UInt64, String)] = []

    init(scenario: Scenario, design: Design, tracing: Bool, stepBudget: Int) throws(MachineError) {
        self.scenario = scenario
        self.design = design
        self.tracing = tracing
        self.stepBudget = stepBudget
        values = Array(repeating: nil, count: scenario.slotCount)
        let spec = scenario.machine
        var kernel: KernelConfig? = nil
        if spec.devicePrivate {
            do {
                kernel = try KernelConfig.preset(spec.arch.defaultPresetName).setting(["DEVICE_PRIVATE": .yes])
            } catch {
                throw .layout(error.description)
            }
        }
        machine = try Machine(config: MachineConfig(ramBytes: spec.ramBytes, nodes: spec.nodes, design: design, arch: spec.arch, kernel: kernel))
        machine.thp.mode = spec.thp
        machine.thp.useZeroPage = spec.useZeroPage
        run = DesignRun(scenario: scenario.name, design: design)
    }

    /// Runs `scenario` on a fresh machine of `design`.
    public static func run(_ scenario: Scenario, design: Design, trace: Bool = false, stepBudget: Int = defaultStepBudget) -> DesignRun {
        let runner: ScenarioRunner
        do {
            runner = try ScenarioRunner(scenario: scenario, design: design, tracing: trace, stepBudget: stepBudget)
        } catch {
            var failed = DesignRun(scenario: scenario.name, design: design)
            failed.error = "machine: \(error.description)"
            return failed
        }
        do {
            if scenario.machine.swapSlots > 0 { _ = try runner.machine.swap.swapon(slots: scenario.machine.swapSlots) }
            try runner.execute(scenario.statements)
            runner.flushUnchecked()
        } catch let error as RunError {
            runner.run.error = error.description
        } catch let error as Errno {
            runner.run.error = "swapon: \(error.name)"
        } catch {
            runner.run.error = "\(error)"
        }
        return runner.run
    }

    func execute(_ statements: [Statement]) throws {
        for statement in statements {
            switch statement {
            case .operation(let op):
                flushUnchecked()
                steps += 1
                guard steps <= stepBudget else { throw RunError(position: op.position, message: "more than \(stepBudget) operations run") }
                if !touched.isEmpty { touched = [] }
                if !touchedPTEs.isEmpty { touchedPTEs = [] }
                lastError = try perform(op)
                if let lastError { unchecked = (op.position, op.line, lastError) }
                if tracing { traceLine(op) }
            case .expectation(let e):
                if e.kind == .errno { unchecked = nil } else { flushUnchecked() }
                if let outcome = try check(e) { run.outcomes.append(outcome) }
            case .loop(let variable, let fromExpr, let toExpr, let body, _):
                flushUnchecked()
                let from = try int(fromExpr), to = try int(toExpr)
                let saved = self[variable]
                var i = from
                while i < to {
                    self[variable] = .int(i)
                    try execute(body)
                    i += 1
                    steps += 1
                    guard steps <= stepBudget else { throw RunError(position: fromExpr.position, message: "more than \(stepBudget) operations run") }
                }
                self[variable] = saved
            }
        }
    }

    /// An operation's error that the next line did not `expect`: a failed expectation.
    func flushUnchecked() {
        guard let (position, line, error) = unchecked else { return }
        unchecked = nil
        run.outcomes.append(ExpectationOutcome(position: position, source: line.text, expected: "ok", actual: error, passed: false))
    }

    // MARK: Argument values

    /// The value a name holds (nil: not bound, or its operation failed).
    subscript(_ ref: Ref) -> Value? {
        get { values.indices.contains(ref.slot) ? values[ref.slot] : nil }
        set { if values.indices.contains(ref.slot) { values[ref.slot] = newValue } }
    }

    func int(_ expr: Expr) throws(RunError) -> Int64 {
        // A number, a bound integer or `a+N*PAGE` directly (most arguments are one of
        // them: the evaluator's closure and Result cost ~200 instructions a line);
        // anything else, and every error, through the evaluator.
        switch expr {
        case .int(let v, _): return v
        case .name(let name, _): if case .int(let v)? = self[name] { return v }
        case .offset(let name, let at):
            if case .int(let left)? = self[name] {
                let (value, overflow) = at.subtract ? left.subtractingReportingOverflow(at.value) : left.addingReportingOverflow(at.value)
                if !overflow { return value }
            }
        case .binary(let op, .name(let name, _), .int(let right, _), _):
            if case .int(let left)? = self[name], let value = Evaluator.apply(op, left, right) { return value }
        default: break
        }
        return try Evaluator.int(expr) { name in
            if case .int(let v) = self[name] { return v }
            return nil
        }.get()
    }

    @inline(__always)  // a literal key's bytes then fold into constants (`Arguments.slot`)
    func int(_ op: Operation, _ key: StaticString, default fallback: Int64? = nil) throws(RunError) -> Int64 {
        guard let expr = op.arguments.stored(key) else {
            guard let fallback else { throw RunError(position: op.position, message: "missing \(key)") }
            return fallback
        }
        return try int(expr)
    }

    /// A non-negative integer argument (addresses, lengths, offsets).
    @inline(__always)  // a literal key's bytes then fold into constants (`Arguments.slot`)
    func unsigned(_ op: Operation, _ key: StaticString, default fallback: Int64? = nil, max: Int64 = .max) throws(RunError) -> UInt64 {
        let value = try int(op, key, default: fallback)
        guard value >= 0 else { throw RunError(position: op.arguments.stored(key)?.position ?? op.position, message: "\(key) must not be negative (\(value))") }
        guard value <= max else { throw RunError(position: op.arguments.stored(key)?.position ?? op.position, message: "\(key) \(value) is over the scenario limit \(max)") }
        return UInt64(value)
    }

    func process(_ expr: Expr?) throws(RunError) -> Process {
        guard case .name(let name, let p)? = expr else { throw RunError(position: expr?.position ?? SourcePosition(file: "", line: 0, column: 0), message: "expected a process") }
        guard case .process(let process)? = self[name] else { throw RunError(position: p, message: "'\(name.name)' was not created (its operation failed)") }
        return process
    }

    func file(_ expr: Expr?) throws(RunError) -> OpenFile {
        guard case .name(let name, let p)? = expr else { throw RunError(position: expr?.position ?? SourcePosition(file: "", line: 0, column: 0), message: "expected a file") }
        guard case .file(let file)? = self[name] else { throw RunError(position: p, message: "'\(name.name)' was not created (its operation failed)") }
        return file
    }

    func pins(_ expr: Expr?) throws(RunError) -> PinSet {
        let name: Ref
        switch expr {
        case .name(let n, _)?, .index(let n, _, _)?: name = n
        default: throw RunError(position: expr?.position ?? SourcePosition(file: "", line: 0, column: 0), message: "expected a GUP result")
        }
        guard case .pins(let set)? = self[name] else { return PinSet(pages: [], pinned: false) }
        return set
    }

    /// The page an argument names, as GUP returned it (a proxy under `proxy`): nil when
    /// nothing is there (an index past the GUP result, an address nothing maps).
    func gupPage(_ expr: Expr?) throws(RunError) -> Page? {
        switch expr {
        case .index(_, let indexExpr, _)?:
            let set = try pins(expr)
            let i = try int(indexExpr)
            return i >= 0 && i < Int64(set.pages.count) ? set.pages[Int(i)] : nil
        case .at(_, let addrExpr, _)?:
            guard case .at(let name, _, let p)? = expr else { return nil }
            let process = try self.process(.name(name, p))
            let addr = try int(addrExpr)
            guard addr >= 0 else { return nil }
            return mappedPage(process, UInt64(addr))
        default:
            return nil
        }
    }

    /// The struct page itself (a proxy's target).
    func page(_ expr: Expr?) throws(RunError) -> Page? {
        try gupPage(expr).map { machine.pageBehind($0) }
    }

    /// The page mapped at `addr` (a huge PMD's subpage included), if present.
    func mappedPage(_ process: Process, _ addr: UInt64) -> Page? {
        let (pte, huge) = process.tables.entry(at: addr)
        // A device-private entry names the device page holding the data.
        if !pte.isPresent, pte.isDevicePrivate, let pfn = pte.devicePfn { return machine.page(pfn) }
        guard pte.isPresent else { return nil }
        let pfn = huge ? pte.pfn + Int((addr & (Paging.pmdSize - 1)) >> 12) : pte.pfn
        return machine.page(pfn)
    }

    @inline(__always)  // a literal key's bytes then fold into constants (`Arguments.slot`)
    func words(_ op: Operation, _ key: StaticString) -> [String] {
        op.arguments.stored(key)?.wordList ?? []
    }

    /// A flags argument's bits (bit i: its set's word i; `Expr.flagWords`), 0 when absent.
    @inline(__always)  // a literal key's bytes then fold into constants (`Arguments.slot`)
    func mask(_ op: Operation, _ key: StaticString) -> UInt64 {
        if case .flagWords(_, let mask, _)? = op.arguments.stored(key) { return mask }
        return 0
    }

    @inline(__always)  // a literal key's bytes then fold into constants (`Arguments.slot`)
    func bytes(_ op: Operation, _ key: StaticString) -> [UInt8] {
        if case .bytes(let b, _)? = op.arguments.stored(key) { return b }
        return []
    }

    @inline(__always)  // a literal key's bytes then fold into constants (`Arguments.slot`)
    func text(_ op: Operation, _ key: StaticString) -> String {
        if case .string(let s, _)? = op.arguments.stored(key) { return s }
        return ""
    }
}
