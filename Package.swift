// swift-tools-version:6.0
// relayd — a WebRTC (Cloudflare Calls) → RTMP (MediaMTX) relay for remote guests.
import PackageDescription

/// One systemLibrary target per C library, found through pkg-config (see Sources/C*/module.modulemap).
func cLibrary(_ name: String, _ pkgConfig: String, _ apt: String) -> Target {
    .systemLibrary(name: name, path: "Sources/\(name)", pkgConfig: pkgConfig, providers: [.apt([apt])])
}

let cLibraries: [Target] = [
    cLibrary("CCurl", "libcurl", "libcurl4-openssl-dev"),
    cLibrary("CMicroHTTPD", "libmicrohttpd", "libmicrohttpd-dev"),
    cLibrary("COpenSSL", "openssl", "libssl-dev"),
    cLibrary("CSRTP", "libsrtp2", "libsrtp2-dev"),
    cLibrary("CX264", "x264", "libx264-dev"),
    cLibrary("COpus", "opus", "libopus-dev"),
    cLibrary("CAVCodec", "libavcodec", "libavcodec-dev"),
    cLibrary("CAVUtil", "libavutil", "libavutil-dev"),
    cLibrary("CSwScale", "libswscale", "libswscale-dev"),
]
let cLibraryDependencies: [Target.Dependency] = cLibraries.map { .target(name: $0.name) }

let package = Package(
    name: "relayd",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "relayd", targets: ["relayd"]),
        .executable(name: "relayd-bench", targets: ["RelayBench"]),
        .executable(name: "relayd-fuzz", targets: ["RelayFuzz"]),
        .library(name: "Relay", targets: ["Relay"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // Latency percentiles in `make bench` only (RelayBench), not linked into relayd.
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: cLibraries + [
        // Typed wrappers for the variadic functions and macros Swift cannot call
        // (curl_easy_setopt, MHD_start_daemon, opus_*_ctl, x264_encoder_open, …): one file per library.
        .target(name: "CRelayShim", dependencies: cLibraryDependencies, path: "Sources/CRelayShim"),
        .target(
            name: "Relay",
            dependencies: cLibraryDependencies + [
                "CRelayShim",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .target(name: "FakeCalls", dependencies: ["Relay", .product(name: "Logging", package: "swift-log")]),
        .target(name: "FakeMediaMTX", dependencies: ["Relay", .product(name: "Logging", package: "swift-log")]),
        .executableTarget(
            name: "relayd",
            dependencies: [
                "Relay", "FakeCalls", "FakeMediaMTX",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // `make bench`: figures measured in CPU time, printed and written to bench/results.json.
        .executableTarget(
            name: "RelayBench",
            dependencies: [
                "Relay", "FakeCalls", "FakeMediaMTX",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            path: "Benchmarks/RelayBench"),
        // `make fuzz`: libFuzzer targets for the parsers of outside input (Fuzz/README.md). The
        // targets live in a library so `make test` replays seeds and Fuzz/regressions/ through them.
        .target(name: "CFuzzerDriver", path: "Fuzz/CFuzzerDriver"),
        .target(name: "RelayFuzzTargets", dependencies: ["Relay"], path: "Fuzz/RelayFuzzTargets"),
        .executableTarget(name: "RelayFuzz", dependencies: ["RelayFuzzTargets", "CFuzzerDriver"], path: "Fuzz/RelayFuzz"),
        .testTarget(
            name: "RelayTests",
            dependencies: ["Relay", "FakeCalls", "FakeMediaMTX", "CRelayShim", "RelayFuzzTargets"] + cLibraryDependencies,
            path: "Tests/RelayTests",
            resources: []
        ),
    ]
)
