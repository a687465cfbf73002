// The overhead measurement's plumbing (issue 16's speed figures): the thread usage the
// benchmarks record per iteration, and the parts `pagelab run --overhead-part` repeats.
import Foundation
@testable import PageScenario
import Testing

@Suite struct OverheadTests {
    /// First touches of fresh anonymous memory are minor faults of the touching thread
    /// (mm/memory.c: do_anonymous_page() from handle_mm_fault(), counted in the task's
    /// min_flt by mm_account_fault(), which getrusage(RUSAGE_THREAD) reports as
    /// ru_minflt). Sixteen 4 KiB pages fault at least once and, with mTHP folios of up
    /// to 64 KiB, at most sixteen times; the thread's CPU clock moves forward.
    @Test func threadUsageCountsTheFirstTouchesOfFreshPages() throws {
        let pages = 16
        let length = pages * 4096
        let memory = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        try #require(memory != nil && memory != MAP_FAILED)
        defer { munmap(memory, length) }
        let bytes = memory!.assumingMemoryBound(to: UInt8.self)
        let start = ThreadUsage.now
        for page in 0..<pages { bytes[page * 4096] = 1 }
        let used = ThreadUsage.now.since(start)
        #expect((1...pages).contains(used.minorFaults))
        #expect(used.cpuNanoseconds > 0)
        #expect(used.voluntarySwitches >= 0 && used.involuntarySwitches >= 0)
    }

    /// `--overhead-part` names one of five parts; any other is refused, not run.
    @Test func onlyTheNamedPartsRun() throws {
        #expect(try ScenarioOverhead.runPart("boot"))
        #expect(try !ScenarioOverhead.runPart("everything"))
    }
}
