// The language's one table of operations and queries: every kind has one signature under
// its own name, a line resolves to its kind when parsed (a misspelt one is a positioned
// parse error), and the README's language reference names every operation and query.
import Foundation
@testable import PageScenario
import Testing

@Suite struct VocabularyTests {
    @Test func everyKindHasOneSignatureUnderItsName() {
        #expect(Scenarios.operationList.map(\.kind) == OperationKind.allCases)
        #expect(Scenarios.operationList.allSatisfy { $0.signature.name == $0.kind.rawValue })
        #expect(Scenarios.operations.count == OperationKind.allCases.count)
        #expect(Scenarios.queryList.map(\.kind) == QueryKind.allCases)
        #expect(Scenarios.queryList.allSatisfy { $0.signature.name == $0.kind.rawValue })
        // The aliases resolve to their operation.
        #expect(ScenarioParser.operationTable["truncate"]?.kind == .ftruncate)
        #expect(ScenarioParser.operationTable["unpin"]?.kind == .unpinUserPages)
    }

    @Test func linesResolveToTheirKindWhenParsed() throws {
        let scenario = try parse("""
            machine device_private=true
            p = process
            a = mmap p 4*PAGE
            d = dmirror_open p 0
            m = migrate_vma d a 4 flags=MIGRATE_VMA_SELECT_SYSTEM|device_private
            expect cpages(m) == 4
            """)
        guard case .operation(let migrate) = scenario.statements[3] else {
            Issue.record("line 5 is not an operation")
            return
        }
        #expect(migrate.kind == .migrateVma)
        guard case .words(let select, _)? = migrate.arguments["flags"] else {
            Issue.record("flags= is not words")
            return
        }
        #expect(select == ["system", "device_private"])
        #expect(scenario.expectations.map(\.kind) == [.cpages])
        // A misspelt operation, flag or argument kind is a positioned parse error.
        #expect(parseError("p = process\nd = dmirror_open p 0\nm = migrate_vmaa d 0 1")?.hasPrefix("dir/t.pls:3:5: error: unknown operation 'migrate_vmaa'") == true)
        #expect(parseError("p = process\nd = dmirror_open p 0\nm = migrate_vma d 0 1 flags=select_ram")
                == "dir/t.pls:3:29: error: unknown migrate_vma select 'select_ram' (known: system, device_private, device_coherent)")
        #expect(parseError("p = process\nexpect cpages(p) == 0") == "dir/t.pls:2:15: error: 'p' is a process, expected a migration (migrate_vma's result)")
    }

    /// The README's language reference has a row for every operation and query.
    @Test func theReadmeNamesEveryOperationAndQuery() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        for kind in OperationKind.allCases where !text.contains("| `\(kind.rawValue) ") && !text.contains("| `\(kind.rawValue)` ") {
            Issue.record("README: no row for the operation \(kind.rawValue)")
        }
        for kind in QueryKind.allCases where !text.contains("`\(kind.rawValue)(") && !text.contains("| `\(kind.rawValue)` ") {
            Issue.record("README: no row for the query \(kind.rawValue)")
        }
    }
}
