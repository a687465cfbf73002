// The census hot paths: classifying a saved snapshot (the bundled example, a real
// 24 GiB machine) and, where /proc/kpageflags is readable, a live census.
import Benchmark
import Foundation
import PageCensus

func registerCensusBenchmarks() {
    Benchmark("census: analyse the bundled 24 GiB snapshot", configuration: .init(maxIterations: 20)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try? ExampleSnapshot.census())
        }
    }
    if access("/proc/kpageflags", R_OK) == 0 {
        Benchmark("census: live (kpageflags, kpagecount, kpagecgroup)", configuration: .init(maxIterations: 10)) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try? LiveCensus.run())
            }
        }
        Benchmark("census: live flags only (the page-types table)", configuration: .init(maxIterations: 10)) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try? LiveCensus.run(flagsOnly: true))
            }
        }
    }
}
