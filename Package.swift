// swift-tools-version: 6.0
import PackageDescription
import Foundation

// Hardware FMA (NUMERICS.md): without a -target-cpu that has FMA, swiftc lowers every
// `addingProduct` to a call to glibc `fmaf` (exact, but ~130x slower). The bits never depend on
// the ISA, only the speed does. RECUR_TARGET_CPU picks the CPU: unset means `native` on an x86-64
// host whose CPU has FMA (aarch64 always has it), `none` turns the flag off, anything else
// (e.g. `haswell`, `x86-64-v3`, `znver4`) is passed to swiftc as is, for portable binaries.
// `-mprefer-vector-width=512` (through clang's options, which Swift's code generation shares): on
// AVX-512 CPUs whose default tuning prefers 256-bit vectors, the portable exp/sigmoid/tanh on
// SIMD16 were split into 4-lane pieces (the LSTM cell ran 1.5–1.8x slower). Vector width never
// changes a lane's arithmetic. `-fno-math-errno`: the standard library's square root is C's
// `sqrtf`, which must set errno for negative inputs, so SIMD16 square roots ran lane by lane with a
// libc call behind each (Adam's update); without errno they are one vsqrtps. The result is the
// same correctly rounded IEEE square root; nothing else changes (no fast-math).
func targetCPU() -> String? {
    let env = ProcessInfo.processInfo.environment["RECUR_TARGET_CPU"]
    if let env, !env.isEmpty { return env == "none" ? nil : env }
    #if arch(x86_64)
    let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
    return info.contains(" fma ") ? "native" : nil
    #else
    return nil
    #endif
}

var fast: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]
if let cpu = targetCPU() {
    fast += [.unsafeFlags(["-target-cpu", cpu, "-Xcc", "-mprefer-vector-width=512", "-Xcc", "-fno-math-errno"]), .define("RECUR_HARDWARE_FMA")]
}
#if arch(arm64)
fast += [.define("RECUR_HARDWARE_FMA")]
#endif

let package = Package(
    name: "Recur",
    products: [
        .library(name: "Recur", targets: ["Recur"]),
        .executable(name: "recur", targets: ["RecurCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenCL", pkgConfig: "OpenCL",
                       providers: [.apt(["ocl-icd-opencl-dev", "opencl-headers"])]),
        // The CPU device's SIMD helpers (a prefetch, a register transpose, the build's vector width).
        .target(name: "CRecurSIMD"),
        .target(name: "Recur", dependencies: ["COpenCL", "CRecurSIMD"], swiftSettings: fast),
        .executableTarget(name: "RecurCLI",
                          dependencies: ["Recur", "COpenCL", .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          swiftSettings: fast),
        .executableTarget(name: "RecurBench", dependencies: ["Recur"], path: "Benchmarks/RecurBench",
                          swiftSettings: fast),
        .executableTarget(name: "CharModelExample", dependencies: ["Recur"], path: "Examples/CharModel", swiftSettings: fast),
        // Fuzz target for the checkpoint reader and data parsers (docs/RELIABILITY.md).
        .executableTarget(name: "recur-fuzz", dependencies: ["Recur"], path: "Tests/Fuzz", exclude: ["corpus"], swiftSettings: fast),
        .testTarget(name: "RecurTests", dependencies: ["Recur"], swiftSettings: fast),
    ],
    swiftLanguageModes: [.v6]
)
