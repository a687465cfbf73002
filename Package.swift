// swift-tools-version: 6.0
// PageLab: an executable, byte-exact model of the Linux physical-memory descriptor
// subsystem. Module boundaries follow ../shared/DESIGN.md; arrows only point down:
// PageLayout <- PageModel <- PageScenario, PageCensus <- PageReport <- pagelab.
import PackageDescription

let package = Package(
    name: "PageLab",
    products: [
        .library(name: "PageLayout", targets: ["PageLayout"]),
        .library(name: "PageModel", targets: ["PageModel"]),
        .library(name: "PageScenario", targets: ["PageScenario"]),
        .library(name: "PageCensus", targets: ["PageCensus"]),
        .library(name: "PageReport", targets: ["PageReport"]),
        .executable(name: "pagelab", targets: ["pagelab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-atomics", from: "1.2.0"),
    ],
    targets: [
        // zlib, for /proc/config.gz, compressed census snapshots and PNG pictures.
        // Debian's zlib1g-dev is on every machine of this project's kind.
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        // The one wrapper around zlib; nothing else imports CZlib.
        .target(name: "Deflate", dependencies: ["CZlib"]),
        .target(name: "PageLayout", dependencies: ["Deflate"]),
        .target(
            name: "PageModel",
            dependencies: ["PageLayout", .product(name: "Atomics", package: "swift-atomics")]
        ),
        // The scenario language (parser, runner, design matrix) and its bundled library.
        .target(name: "PageScenario", dependencies: ["PageModel", "PageLayout"], resources: [.copy("Resources/scenarios")]),
        .target(name: "PageCensus", dependencies: ["PageLayout", "Deflate"], resources: [.copy("Resources/example-census.pglb")]),
        .target(name: "PageReport", dependencies: ["PageLayout", "PageCensus", "PageModel", "PageScenario", "Deflate"]),
        .executableTarget(
            name: "pagelab",
            dependencies: [
                "PageLayout", "PageModel", "PageScenario", "PageCensus", "PageReport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // What several test targets share (seeded generator, real kernel configurations).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(name: "DeflateTests", dependencies: ["Deflate"]),
        .testTarget(name: "PageLayoutTests", dependencies: ["TestSupport", "PageLayout"]),
        .testTarget(name: "PageModelTests", dependencies: ["TestSupport", "PageModel", "PageLayout"]),
        .testTarget(name: "PageScenarioTests", dependencies: ["TestSupport", "PageScenario", "PageModel", "PageLayout"]),
        .testTarget(name: "PageCensusTests", dependencies: ["TestSupport", "PageCensus", "PageLayout", "Deflate"]),
        .testTarget(name: "PageReportTests", dependencies: ["PageReport", "PageCensus", "PageLayout"]),
        // PageCensus: the fleet test writes its host snapshots with SnapshotWriter.
        .testTarget(name: "PagelabCLITests", dependencies: ["TestSupport", "pagelab", "PageCensus"]),
    ],
    swiftLanguageModes: [.v6]
)
