// swift-tools-version:6.0
import PackageDescription

// The element-wise kernels (VectorMath) are written for 256-bit lanes with FMA;
// every x86-64 server since 2013 has them (Haswell: AVX2 + FMA).
#if arch(x86_64)
let vectorFlags: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]
#else
let vectorFlags: [SwiftSetting] = []
#endif

let package = Package(
    name: "DFCSpice",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "dfcspice", targets: ["dfcspice"]),
        .library(name: "LinearAlgebra", targets: ["LinearAlgebra"]),
        .library(name: "NumPyFormat", targets: ["NumPyFormat"]),
        .library(name: "DFC", targets: ["DFC"]),
        .library(name: "Circuit", targets: ["Circuit"]),
        .library(name: "Spice", targets: ["Spice"]),
        .library(name: "NetlistText", targets: ["NetlistText"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "DynamicInversion", targets: ["DynamicInversion"]),
        .library(name: "Sweep", targets: ["Sweep"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // OpenBLAS (cblas) and LAPACKE, found with pkg-config.
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev", "liblapacke-dev"])]
        ),
        .target(
            name: "LinearAlgebra",
            dependencies: ["CBLAS", "CKernels"],
            exclude: ["README.md"],
            swiftSettings: vectorFlags
        ),
        .target(name: "NumPyFormat", dependencies: ["LinearAlgebra", "CGzip"], exclude: ["README.md"]),
        .target(
            name: "DFC",
            dependencies: ["LinearAlgebra", .product(name: "Logging", package: "swift-log")],
            exclude: ["README.md"],
            swiftSettings: vectorFlags
        ),
        .target(name: "DynamicInversion", dependencies: ["DFC", "LinearAlgebra"], exclude: ["README.md"], swiftSettings: vectorFlags),
        .systemLibrary(name: "CMalloc"),
        // Optimized in debug builds too: the tests train networks through it.
        .target(name: "CKernels", cSettings: [.unsafeFlags(["-O2"])]),
        .systemLibrary(name: "CGzip", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CNgspice", pkgConfig: "ngspice", providers: [.apt(["libngspice0-dev"])]),
        // Netlist text both sides need: safe names' rules, SPICE numbers. Writing a netlist
        // (Circuit) needs no engine (Spice); running one needs no mapper.
        .target(name: "NetlistText", exclude: ["README.md"]),
        .target(name: "Spice", dependencies: ["CNgspice", "LinearAlgebra", "NetlistText"], exclude: ["README.md"]),
        .target(name: "Circuit", dependencies: ["DFC", "LinearAlgebra", "NetlistText"], exclude: ["README.md"]),
        .target(name: "Emulation", dependencies: ["DFC", "Circuit", "Spice", "LinearAlgebra", "Training", "NumPyFormat", "DynamicInversion"], exclude: ["README.md"]),
        .target(name: "Reports", dependencies: ["Emulation", "DFC", "LinearAlgebra", "NumPyFormat"], exclude: ["README.md"]),
        .target(name: "Sweep", dependencies: ["Training", "Emulation", "Reports", "LinearAlgebra", "Yams"], exclude: ["README.md"]),
        .target(
            name: "Training",
            dependencies: [
                "DFC", "Circuit", "LinearAlgebra", "NumPyFormat", "Yams", "CGzip", "DynamicInversion",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"]
        ),
        .executableTarget(
            name: "dfcspice",
            dependencies: [
                "DFC", "Circuit", "Spice", "NetlistText", "Emulation", "Reports", "Sweep", "Training", "LinearAlgebra", "NumPyFormat", "CMalloc", "DynamicInversion",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["README.md"]
        ),
        // libFuzzer targets (`make fuzz`); a plain build makes a stub that says so.
        .executableTarget(name: "dfcspice-fuzz", dependencies: ["NumPyFormat", "Spice", "Training"]),
        .testTarget(name: "LinearAlgebraTests", dependencies: ["LinearAlgebra"]),
        .testTarget(name: "NumPyFormatTests", dependencies: ["NumPyFormat", "LinearAlgebra"]),
        .testTarget(name: "DFCTests", dependencies: ["DFC", "LinearAlgebra"]),
        .testTarget(name: "DynamicInversionTests", dependencies: ["DynamicInversion", "DFC", "LinearAlgebra"]),
        .testTarget(name: "CircuitTests", dependencies: ["Circuit", "Spice", "DFC", "LinearAlgebra", "Training", "NumPyFormat"]),
        .testTarget(name: "SpiceTests", dependencies: ["Spice", "NetlistText"]),
        .testTarget(name: "EmulationTests", dependencies: ["Emulation", "Reports", "Circuit", "Spice", "DFC", "LinearAlgebra", "Training", "DynamicInversion"]),
        .testTarget(name: "TrainingTests", dependencies: ["Training", "DFC", "LinearAlgebra", "Circuit"]),
        .testTarget(name: "ReportsTests", dependencies: ["Reports"]),
        .testTarget(name: "SweepTests", dependencies: ["Sweep", "Training", "Emulation"]),
        .testTarget(name: "CLITests", dependencies: ["dfcspice", "NumPyFormat", "LinearAlgebra", "Spice"]),
    ],
    swiftLanguageModes: [.v6]
)
