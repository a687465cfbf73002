// Hot paths of PageLab, measured with package-benchmark. Each suite lives in its own
// file beside this one and registers itself from `benchmarks`.
import Benchmark

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput, .peakMemoryResident],
                                           maxDuration: .seconds(2), maxIterations: 1_000_000)
    registerModelBenchmarks()
    registerCensusBenchmarks()
    registerVirtualMemoryBenchmarks()
    registerPinBenchmarks()
    registerScenarioBenchmarks()
    registerDeviceBenchmarks()
    registerVmallocBenchmarks()
}
