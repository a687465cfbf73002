// The queries of `expect` lines: what the model shows of a page, a folio, a mapping, a
// file or the machine, compared with the value the script (or the kernel source) gives.
import PageLayout
import PageModel

/// What a query saw.
enum Observed: Equatable {
    case int(Int64), bool(Bool), word(String), bytes([UInt8]), flags([String])
    /// Nothing to look at ("unmapped", "no page", "none" for a folio without _pincount).
    case missing(String)

    var text: String {
        switch self {
        case .int(let v): "\(v)"
        case .bool(let b): b ? "true" : "false"
        case .word(let w): w
        case .bytes(let b): Observed.hex(b)
        case .flags(let f): f.isEmpty ? "(none)" : f.joined(separator: "|")
        case .missing(let why): why
        }
    }

    static func hex(_ bytes: [UInt8]) -> String {
        if bytes.count > 1, bytes.allSatisfy({ $0 == bytes[0] }) { return "fill(0x\(String(bytes[0], radix: 16)))x\(bytes.count)" }
        let shown = bytes.prefix(16).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        return "x\"\(shown)\"" + (bytes.count > 16 ? "…(\(bytes.count) bytes)" : "")
    }
}

extension ScenarioRunner {
    /// Checks one expectation on this design; nil when it gives no value for the design.
    func check(_ e: Expectation) throws(RunError) -> ExpectationOutcome? {
        guard let expectedExpr = e.expected(for: design) else { return nil }
        let actual = try observe(e)
        let passed: Bool
        var expected: String
        switch e.result {
        case .int:
            let want = try int(expectedExpr)
            expected = "\(want)"
            passed = actual == .int(want)
        case .bool, .word:
            let want = Self.words(expectedExpr).first ?? ""
            expected = want
            passed = actual == (e.result == .bool ? .bool(want == "true") : .word(want))
        case .bytes:
            if case .fill(let byteExpr, _) = expectedExpr {
                let byte = UInt8(truncatingIfNeeded: try int(byteExpr))
                expected = "fill(0x\(String(byte, radix: 16)))"
                if case .bytes(let got) = actual { passed = got.allSatisfy { $0 == byte } } else { passed = false }
            } else {
                let want = Self.bytes(expectedExpr)
                expected = Observed.hex(want)
                passed = actual == .bytes(want)
            }
        case .flags:
            let want = Self.words(expectedExpr)
            expected = want.joined(separator: "|")
            if case .flags(let got) = actual {
                passed = e.comparison == .has ? want.allSatisfy(got.contains) : !want.contains(where: got.contains)
            } else {
                passed = false
            }
        }
        var holds = passed
        if e.comparison == .notEqual {
            if case .missing = actual {} else { holds = !passed }
        }
        if e.comparison != .equal { expected = "\(e.comparison.rawValue) \(expected)" }
        return ExpectationOutcome(position: e.position, source: e.source, expected: expected, actual: actual.text, passed: holds)
    }

    static func words(_ expr: Expr) -> [String] {
        expr.wordList ?? []
    }

    static func bytes(_ expr: Expr) -> [UInt8] {
        if case .bytes(let b, _) = expr { return b }
        return []
    }

    func observe(_ e: Expectation) throws(RunError) -> Observed {
        let a = e.arguments
        switch e.kind {
        case .errno:
            return .word(lastError ?? "ok")
        case .vmstat:
            let name = Self.words(a.stored("counter") ?? .words([], e.position)).first ?? ""
            return .int(Int64(counter(name)))
        case .diagnostics, .diagnostic:
            let kind = Self.words(a.stored("kind") ?? .words([], e.position)).first ?? "all"
            let records = kind == "all" ? machine.diagnostics.all : machine.diagnostics.all.filter { $0.kind.rawValue == kind }
            guard e.kind == .diagnostic else { return .int(Int64(records.count)) }
            guard case .string(let text, _)? = a.stored("text") else { return .bool(false) }
            return .bool(records.contains { $0.reason.contains(text) })
        case .count:
            return .int(Int64(try pins(a.stored("pins")).pages.count))
        case .mapped, .writable:
            let p = try process(a.stored("p"))
            let addr = try int(a.stored("addr")!)
            guard addr >= 0 else { return .bool(false) }
            let pte = p.tables.entry(at: UInt64(addr)).pte
            return .bool(pte.isPresent && (e.kind == .mapped || pte.isWritable))
        case .memory:
            let p = try process(a.stored("p"))
            let addr = try int(a.stored("addr")!), length = try int(a.stored("len")!)
            guard addr >= 0, (0...Self.maxBytes).contains(length) else { throw RunError(position: e.position, message: "memory(): address or length out of range") }
            do throws(AccessError) {
                return .bytes(try p.read(UInt64(addr), count: Int(length)))
            } catch {
                return .word(Self.signal(error))
            }
        case .file:
            let f = try file(a.stored("f"))
            let offset = try int(a.stored("offset")!), length = try int(a.stored("len")!)
            guard offset >= 0, (0...Self.maxBytes).contains(length) else { throw RunError(position: e.position, message: "file(): offset or length out of range") }
            do throws(Errno) {
                return .bytes(try f.pread(count: Int(length), offset: offset))
            } catch {
                return .word(error.name)
            }
        case .size:
            return .int(try file(a.stored("f")).inode.size)
        case .sizeofPage:
            return .int(Int64(machine.layout.pageSize))
        case .lockedVm:
            return .int(Int64(try process(a.stored("p")).mm.lockedVM))
        case .dmirrorSnapshot:
            return try snapshot(e)
        case .cpages, .migrated:
            return try migration(e)
        case .vmallocArea:
            return .bool(vmallocArea(try int(a.stored("kaddr")!)))
        case .samePage:
            guard let x = try page(a.stored("a")), let y = try page(a.stored("b")) else { return .missing("no page") }
            return .bool(x.pfn == y.pfn)
        default:
            return try observePage(e)
        }
    }

    /// Queries of one page or its folio.
    func observePage(_ e: Expectation) throws(RunError) -> Observed {
        guard let page = try page(e.arguments.stored("page")) else { return .missing("no page") }
        let folio = machine.pageFolio(page)
        switch e.kind {
        case .refcount: return .int(Int64(folio?.refcount ?? page.refcount))
        case .mapcount: return folio.map { .int(Int64(machine.folioMapcount($0))) } ?? .missing("no folio")
        case .pincount: return folio?.pincount.map { .int(Int64($0)) } ?? .missing("none")
        case .pins: return folio.map { .int(Int64(machine.exactPins($0))) } ?? .missing("no folio")
        case .maybeDmaPinned: return folio.map { .bool(machine.folioMaybeDMAPinned($0)) } ?? .missing("no folio")
        case .flags: return .flags(decodeFlags(page, folio))
        case .node: return .int(Int64(page.nid))
        case .order: return folio.map { .int(Int64($0.order)) } ?? .missing("no folio")
        case .zone:
            let zones = machine.config.zones
            return page.zoneIndex >= 0 && page.zoneIndex < zones.count ? .word(zones[page.zoneIndex].rawValue) : .missing("no zone")
        case .scamemRefcount: return scamemRefcount(page)
        case .isDevicePrivate, .pgmapOwner: return devicePage(e, page)
        case .hasPgmap:
            let pgmap = machine.pagePgmap(page)
            return .bool(pagemaps.contains { $0 === pgmap })
        case .bytes:
            let offset = try int(e.arguments.stored("offset")!), length = try int(e.arguments.stored("len")!)
            guard (0...4096).contains(offset), (0...(4096 - offset)).contains(length) else {
                throw RunError(position: e.position, message: "bytes(): offset + len must lie within the page (4096)")
            }
            return machine.frames.read(pfn: page.pfn, offset: Int(offset), count: Int(length)).map { .bytes($0) } ?? .missing("no frame")
        default:
            throw RunError(position: e.position, message: "query '\(e.query.name)' is not implemented")
        }
    }

    /// The flags set, by name: the folio's (its descriptor's under the memdesc designs,
    /// where page->flags holds no folio state) or, for a page outside any folio, the page's.
    func decodeFlags(_ page: Page, _ folio: Folio?) -> [String] {
        Evaluator.flagBits(machine.flagBits).filter { $0.1 >= 0 && (folio?.testFlag($0.1) ?? page.testFlag($0.1)) }.map(\.0)
    }
}
