import Foundation
import Recur
import Testing

/// A bad value in a `RECUR_*` environment variable is an error naming the variable (never a flag
/// the run did not pass), found before any work, and never a reason for `--device auto` to take
/// the CPU instead.
@Suite struct SettingSourceTests {
    typealias Case = BadInputTests.Case
    static let verify = ["verify", "--cases", "0"]

    static let cases: [Case] = [
        Case(name: "RECUR_DEVICE unknown", args: verify, expect: "RECUR_DEVICE: unknown device 'gpu9'", env: ["RECUR_DEVICE": "gpu9"], absent: "--device"),
        Case(name: "RECUR_DEVICE past the devices", args: verify, expect: "RECUR_DEVICE=opencl:99: no OpenCL device 99",
             env: ["RECUR_DEVICE": "opencl:99"], absent: "--device"),
        Case(name: "RECUR_DEVICE opencl without a device", args: verify, expect: "RECUR_DEVICE=opencl: no OpenCL device found",
             env: ["RECUR_DEVICE": "opencl", "OCL_ICD_VENDORS": CommandLineTests.emptyVendors], absent: "--device"),
        Case(name: "RECUR_DEVICE for tune", args: ["tune"], expect: "RECUR_DEVICE=cpu: tuning is for OpenCL devices", env: ["RECUR_DEVICE": "cpu"], absent: "--device"),
        Case(name: "RECUR_TUNING out of range, --device auto", args: verify + ["--device", "auto"], expect: "RECUR_TUNING=matmul=rb,RB_M=99: RB_M must be 1...16, got 99",
             env: ["RECUR_TUNING": "matmul=rb,RB_M=99"]),
        Case(name: "RECUR_DEVICE index with a sign", args: verify, expect: "RECUR_DEVICE: unknown device 'opencl:+0'", env: ["RECUR_DEVICE": "opencl:+0"], absent: "--device"),
        Case(name: "RECUR_TUNING with a repeated key", args: verify, expect: "RECUR_TUNING=matmul=rb,matmul=simple: key 'matmul' given twice",
             env: ["RECUR_TUNING": "matmul=rb,matmul=simple"]),
        Case(name: "RECUR_TUNING unknown key on the CPU", args: verify, expect: "RECUR_TUNING=speed=11: unknown key 'speed'", env: ["RECUR_TUNING": "speed=11"]),
        Case(name: "RECUR_CL_FAULT malformed", args: ["devices"], expect: "RECUR_CL_FAULT=clFinish:zero:-5: expected <call>:<n>:<error>",
             env: ["RECUR_CL_FAULT": "clFinish:zero:-5"]),
        Case(name: "RECUR_DW_BLOCK zero", args: verify + ["--device", "opencl:0"], expect: "RECUR_DW_BLOCK=0: must be a positive whole number", env: ["RECUR_DW_BLOCK": "0"]),
        Case(name: "RECUR_CL_KEEP_BUFFERS yes", args: verify, expect: "RECUR_CL_KEEP_BUFFERS=yes: must be 0 or 1", env: ["RECUR_CL_KEEP_BUFFERS": "yes"]),
        Case(name: "RECUR_CL_OPTIONS relaxing", args: verify, expect: "RECUR_CL_OPTIONS: option '-cl-fast-relaxed-math' is not allowed",
             env: ["RECUR_CL_OPTIONS": "-cl-fast-relaxed-math"]),
        Case(name: "RECUR_KERNELS_DIR missing", args: verify, expect: "RECUR_KERNELS_DIR=/nonexistent-kernels: cannot list the folder",
             env: ["RECUR_KERNELS_DIR": "/nonexistent-kernels"]),
        Case(name: "RECUR_PYTHON that cannot start", args: ["bench", "--suite", "train", "--workload", "lstm-small", "--seq", "5", "--batch", "3",
                                                           "--repeats", "1", "--peer", "pytorch",
                                                           "--peer-script", Repo.root.appendingPathComponent("Benchmarks/pytorch_peer.py").path],
             expect: "PyTorch lstm-small (RECUR_PYTHON=/nonexistent/python3)", env: ["RECUR_PYTHON": "/nonexistent/python3"], absent: "--python"),
    ]

    @Test(arguments: cases)
    func rejected(_ c: Case) throws { try BadInputTests.expectRejected(c) }

    @Test("A flag wins over RECUR_DEVICE and is the one named")
    func flagNamed() throws {
        let r = try RecurProcess.run(["verify", "--cases", "0", "--device", "opencl:99"], environment: ["RECUR_DEVICE": "cpu"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("--device opencl:99: no OpenCL device 99") && !r.stderr.contains("RECUR_DEVICE"), "\(r.stderr)")
    }
}
