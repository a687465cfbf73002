// The report's scenario section: the bundled scenario library (pagelab run) through
// every design, as the matrix `pagelab run` prints.
import PageLayout
import PageScenario

extension PageLabReport {
    static func scenarioSection() throws -> ReportSection {
        let scenarios = try ScenarioLibrary.all()
        let matrix = ScenarioMatrix.run(scenarios, designs: Design.allCases)
        let runs = matrix.results.flatMap(\.runs)
        let failed = runs.filter { !$0.passed }
        let verdict = failed.isEmpty ? "every expectation held on every design it names"
            : "\(failed.count) runs FAILED: " + failed.map { "\($0.scenario) on \($0.design)" }.joined(separator: ", ")
        return ReportSection(
            id: "scenarios", title: "The scenario library through every design",
            summary: """
                The bundled scenarios of `pagelab run --list` (the seed threads' claims, the \
                kernel's gup_test, gup_longterm and cow.c pin cases, and driver stories: O_DIRECT \
                during fork, an RDMA MR across fork and exit, a GPU userptr munmapped, vmsplice, \
                io_uring fixed buffers), each on a fresh model machine per design: \
                \(scenarios.count) scenarios, \(runs.count) runs; \(verdict). Where designs \
                legitimately differ (mainline's refcount bias, lru-pinned's isolation reference, \
                the proxy catching get_page()), the scenario gives the value per design.
                """,
            text: matrix.text)
    }
}
