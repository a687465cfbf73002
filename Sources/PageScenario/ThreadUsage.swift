// What the calling thread has used so far: CPU time, minor page faults and context
// switches. The scenario overhead benchmarks record its difference per iteration beside
// the wall time, so that a figure can be split into the thread's own work (user and
// system time, the kernel's page faults included) and the time it waited for a CPU.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct ThreadUsage: Sendable, Equatable {
    /// CLOCK_THREAD_CPUTIME_ID: user and system time of this thread.
    public var cpuNanoseconds: Int
    /// ru_minflt: page faults served without I/O (first touches of fresh heap pages).
    public var minorFaults: Int
    /// ru_nivcsw: times the scheduler took the CPU away (another task ran).
    public var involuntarySwitches: Int
    /// ru_nvcsw: times the thread gave the CPU up (it blocked).
    public var voluntarySwitches: Int

    /// Now, for the calling thread (RUSAGE_THREAD on Linux; the process elsewhere).
    public static var now: ThreadUsage {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        var usage = rusage()
        #if os(Linux)
        // RUSAGE_THREAD (1, <bits/resource.h>) is behind _GNU_SOURCE, which Swift's Glibc
        // module does not define.
        getrusage(__rusage_who_t(1), &usage)
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        return ThreadUsage(cpuNanoseconds: Int(time.tv_sec) * 1_000_000_000 + Int(time.tv_nsec),
                           minorFaults: Int(usage.ru_minflt), involuntarySwitches: Int(usage.ru_nivcsw),
                           voluntarySwitches: Int(usage.ru_nvcsw))
    }

    /// What was used from `earlier` to this one.
    public func since(_ earlier: ThreadUsage) -> ThreadUsage {
        ThreadUsage(cpuNanoseconds: cpuNanoseconds - earlier.cpuNanoseconds, minorFaults: minorFaults - earlier.minorFaults,
                    involuntarySwitches: involuntarySwitches - earlier.involuntarySwitches,
                    voluntarySwitches: voluntarySwitches - earlier.voluntarySwitches)
    }
}
