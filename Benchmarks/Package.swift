// swift-tools-version: 6.1
// PageLab's package-benchmark suites, a package of their own so that `swift test` in the
// main package never builds them. Run from this directory:
//   swift package --disable-sandbox benchmark
import PackageDescription

let package = Package(
    name: "PageLabBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        // Named explicitly: a path dependency is otherwise identified by its directory name,
        // which is not "PageLab" in a clone or worktree of another name.
        .package(name: "PageLab", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.2.0"),
    ],
    targets: [
        .executableTarget(
            name: "PageLabBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "PageLayout", package: "PageLab"),
                .product(name: "PageModel", package: "PageLab"),
                .product(name: "PageCensus", package: "PageLab"),
                .product(name: "PageScenario", package: "PageLab"),
                .product(name: "Atomics", package: "swift-atomics"),
            ],
            path: "Benchmarks/PageLabBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
