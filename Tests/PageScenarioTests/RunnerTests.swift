// The runner and the matrix: fresh machines per design, expected and actual values,
// errors nobody expected, and the three output forms.
import Foundation
import PageLayout
@testable import PageScenario
import Testing

@Suite struct RunnerTests {
    static func run(_ text: String, designs: [Design] = [.mainline, .memdesc32], trace: Bool = false) throws -> ScenarioMatrix {
        ScenarioMatrix.run([try parse(text)], designs: designs, trace: trace)
    }

    /// One mapped anonymous page: refcount 1, mapcount 1 (mm/memory.c do_anonymous_page():
    /// folio_add_new_anon_rmap() + the allocation's reference); a pin adds
    /// GUP_PIN_COUNTING_BIAS on mainline's small folio (include/linux/mm.h) and one
    /// reference under memdesc32 (exact _pincount in the descriptor).
    @Test func expectationsPassAndFailPerDesign() throws {
        let matrix = try Self.run("""
            p = process
            a = mmap p PAGE
            write p a "hi"
            expect refcount(p@a) == 1
            expect mapcount(p@a) == 1
            pins = pin_user_pages p a 1 flags=write
            expect refcount(pins[0]) == mainline:1025 others:2
            expect refcount(pins[0]) == 2
            expect memory(p, a, 2) == "hi"
            unpin_user_pages pins
            """)
        #expect(!matrix.passed)
        let result = try #require(matrix.results.first)
        let mainline = try #require(result.runs.first { $0.design == .mainline })
        let memdesc = try #require(result.runs.first { $0.design == .memdesc32 })
        #expect(mainline.outcomes.map(\.passed) == [true, true, true, false, true])
        #expect(memdesc.outcomes.map(\.passed) == [true, true, true, true, true])
        #expect(mainline.outcomes[3].actual == "1025" && mainline.outcomes[3].expected == "2")
        #expect(matrix.text.contains("✗ 1025"))
    }

    /// `machine use_zero_page=0|1` is /sys/kernel/mm/transparent_hugepage/use_zero_page:
    /// with 1 (the kernel's default) a read fault in a THP range maps the huge zero folio
    /// (mm/huge_memory.c do_huge_pmd_anonymous_page(): no THP_FAULT_ALLOC; an order-9 folio
    /// with no mapcount, set_huge_zero_folio() adding no rmap); with 0 the read allocates
    /// a THP (__do_huge_pmd_anonymous_page(), mapcount 1).
    @Test func useZeroPageChoosesTheHugeZeroFolioOrATHP() throws {
        for (setting, allocs, mapcount) in [("", 0, 0), (" use_zero_page=1", 0, 0), (" use_zero_page=0", 1, 1)] {
            let matrix = try Self.run("""
                machine thp=always\(setting)
                p = process
                h = mmap p HPAGE addr=0x40000000 flags=private|anonymous|fixed
                read p h 8
                expect vmstat(thp_fault_alloc) == \(allocs)
                expect order(p@h) == 9
                expect mapcount(p@h) == \(mapcount)
                """)
            #expect(matrix.passed, "\(setting): \(matrix.text)")
        }
        #expect(parseError("machine use_zero_page=2") == "dir/t.pls:1:9: error: use_zero_page must be 0 or 1")
    }

    /// An operation's errno is what `expect errno` sees; one nobody expects fails the run.
    /// mm/mmap.c do_mmap(): a zero length is -EINVAL; munmap() of an unaligned address
    /// is -EINVAL (mm/vma.c do_vmi_munmap(): offset_in_page(start)).
    @Test func errnosAreExpectedOrReported() throws {
        let matrix = try Self.run("""
            p = process
            a = mmap p 0
            expect errno == EINVAL
            munmap p 1 PAGE
            read p 0x1000 1
            expect errno == SIGSEGV
            """, designs: [.mainline])
        let run = try #require(matrix.results.first?.runs.first)
        #expect(run.outcomes.count == 3)
        #expect(run.outcomes[0].passed && run.outcomes[2].passed)
        #expect(!run.outcomes[1].passed && run.outcomes[1].actual == "EINVAL" && run.outcomes[1].source == "munmap p 1 PAGE")
    }

    /// A loop runs its body per value; a run that overflows stops with a message instead.
    @Test func loopsAndOverflow() throws {
        let matrix = try Self.run("""
            const N = 3
            p = process
            a = mmap p N*PAGE
            for i in 0..<N
              fill p a+i*PAGE PAGE i+1
              expect memory(p, a+i*PAGE, 1) == fill(i+1)
            end
            for i in 0x7ffffffffffffffe..<0x7fffffffffffffff
              fill p a i+i 1
            end
            """, designs: [.mainline])
        let run = try #require(matrix.results.first?.runs.first)
        #expect(run.outcomes.count == 3 && run.outcomes.allSatisfy(\.passed))
        #expect(run.error?.hasSuffix("arithmetic overflow") == true)
    }

    /// Out-of-range offsets and lengths in queries stop the run with a message, never trap.
    @Test func outOfRangeQueriesStopTheRun() throws {
        let matrix = try Self.run("""
            p = process
            a = mmap p PAGE
            write p a "x"
            expect bytes(p@a, 0x7fffffffffffffff, 1) == "x"
            """, designs: [.mainline])
        let run = try #require(matrix.results.first?.runs.first)
        #expect(run.error?.hasSuffix("bytes(): offset + len must lie within the page (4096)") == true)
    }

    @Test func jsonAndJsonLinesCarryExpectedAndActual() throws {
        let matrix = try Self.run("""
            p = process
            expect vmstat(nr_foll_pin_acquired) == 0
            expect vmstat(pins_outstanding) == 1
            """)
        // Two designs × two expectations: four rows.
        let lines = matrix.jsonLines.split(separator: "\n")
        #expect(lines.count == 4)
        let row = try JSONSerialization.jsonObject(with: Data(lines[1].utf8)) as? [String: Any]
        #expect(row?["design"] as? String == "mainline")
        #expect(row?["expected"] as? String == "1")
        #expect(row?["actual"] as? String == "0")
        #expect(row?["passed"] as? Bool == false)
        #expect(row?["line"] as? Int == 3)
        let document = try JSONSerialization.jsonObject(with: Data(matrix.json.utf8)) as? [String: Any]
        #expect(document?["passed"] as? Bool == false)
        #expect((document?["designs"] as? [String]) == ["mainline", "memdesc32"])
    }

    @Test func traceShowsTheTouchedPages() throws {
        let matrix = try Self.run("""
            p = process
            a = mmap p PAGE
            write p a "x"
            pins = pin_user_pages p a 1 flags=write
            """, designs: [.mainline], trace: true)
        let trace = matrix.trace
        #expect(trace.contains("pin_user_pages p a 1 flags=write"))
        #expect(trace.contains("refcount 1025"))
        #expect(trace.contains("pins outstanding 1"))
        #expect(trace.contains("pte 0x"))
    }

    /// Every bundled scenario holds on every design it names: its expected values come
    /// from the kernel source and the seeds (each file cites where).
    @Test func theBundledLibraryHolds() throws {
        let matrix = ScenarioMatrix.run(try ScenarioLibrary.all(), designs: Design.allCases)
        for result in matrix.results {
            for run in result.runs {
                #expect(run.error == nil, "\(result.scenario.name) \(run.design): \(run.error ?? "")")
                for outcome in run.outcomes where !outcome.passed {
                    Issue.record("\(outcome.position) \(run.design): expected \(outcome.expected), got \(outcome.actual)")
                }
            }
        }
    }

    /// The overhead benchmark's scenario (issue 16: "a 10,000-line generated scenario"):
    /// exactly 10,000 lines, as many statements, a quarter of its steps (the pins) two
    /// lines each, and it runs without error, so a figure per line is per line of it.
    @Test func theOverheadScenarioHasTenThousandLinesAndRuns() throws {
        let text = ScenarioOverhead.text
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 10_000)
        #expect(lines.filter { $0.hasPrefix("pins = ") }.count == lines.filter { $0 == "unpin_user_pages pins" }.count)
        let scenario = try ScenarioOverhead.parse(text)
        #expect(scenario.statements.count == 10_000)
        let run = ScenarioRunner.run(scenario, design: .mainline)
        #expect(run.error == nil && run.passed)
    }
}
