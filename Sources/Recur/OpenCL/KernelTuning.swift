import Foundation

/// The kernel variant and tuning constants an OpenCL device runs with (CLBlast style): the
/// constants enter the program as `#define`s, the variant picks which kernel a launch uses.
///
/// Tuning changes speed, never bits: every variant computes each output as the same fma chain
/// (k = 0..K-1 from its start value), and `recur tune` refuses a candidate the op catalogue does
/// not find bit-identical to the CPU.
///
/// Where a device's tuning comes from, first match wins: `RECUR_TUNING` (e.g.
/// `matmul=rb,RB_M=8,RB_V=2,KB=256,cells=v16`), the per-user cache written by `recur tune` (keyed by device name, driver
/// and OpenCL version), the built-in table by device type and vendor.
public struct KernelTuning: Codable, Hashable, Sendable, CustomStringConvertible {
    /// Matmul kernel family.
    public enum Matmul: String, Codable, Sendable, CaseIterable {
        /// One output per work-item (`matmul`): every shape, every device.
        case simple
        /// `RB_M`×`16·RB_V` block of C per work-item in `float16` registers, no local memory
        /// (`matmul_rb`): CPU-type devices (PoCL). A transposed B is copied untransposed first.
        case rb
        /// Work-group tiles of `TILE`×`TILE` outputs through local memory (`matmul_tiled`): GPUs.
        case tiled
    }

    /// Cell kernel family (the fused LSTM/GRU cells, tanh and sigmoid).
    public enum Cells: String, Codable, Sendable, CaseIterable {
        /// One unit per work-item (`lstm_forward`, ...): every device.
        case scalar
        /// 16 units per work-item in `float16`, the portable math's branches as selects
        /// (`lstm_forward16`, ...): CPU-type devices, where the 16 lanes are one vector register.
        /// Used where the hidden size (the element count for tanh and sigmoid) allows; the rest runs scalar.
        case v16
    }

    /// Which matmul kernel launches use.
    public var matmul: Matmul
    /// Which cell kernels launches use; nil: the device type's default (`defaultCells`).
    public var cells: Cells?
    /// Rows of C per work-item in `matmul_rb` (1...16).
    public var rbM: Int
    /// `float16` vectors per row in `matmul_rb` (1...4): the block is `rbM`×`16·rbV`.
    public var rbV: Int
    /// K per launch of `matmul_rb` (0: all of K in one launch); blocks after the first accumulate.
    public var kBlock: Int
    /// Side of the square work-group tile in `matmul_tiled` (4, 8, 16 or 32).
    public var tile: Int

    /// A tuning; constants the variant does not use are ignored.
    public init(matmul: Matmul, rbM: Int = 8, rbV: Int = 2, kBlock: Int = 0, tile: Int = 16, cells: Cells? = nil) {
        self.matmul = matmul
        self.cells = cells
        self.rbM = rbM
        self.rbV = rbV
        self.kBlock = kBlock
        self.tile = tile
    }

    /// The `#define`s prepended to the program.
    public var defines: [(String, Int)] { [("RB_M", rbM), ("RB_V", rbV), ("TILE", tile)] }

    /// The `RECUR_TUNING` form, e.g. `matmul=rb,RB_M=8,RB_V=2,KB=128,cells=v16` (no `cells` when unset).
    public var description: String {
        let m = switch matmul {
        case .simple: "matmul=simple"
        case .rb: "matmul=rb,RB_M=\(rbM),RB_V=\(rbV),KB=\(kBlock)"
        case .tiled: "matmul=tiled,TILE=\(tile)"
        }
        return m + (cells.map { ",cells=\($0.rawValue)" } ?? "")
    }

    /// The cell kernels a device of this type runs when the tuning leaves them unset: `v16` on
    /// CPU-type devices (PoCL runs the LSTM cell faster so; `RecurBench cells opencl` measures it),
    /// `scalar` on GPUs, where a work-item per unit keeps the device full.
    public static func defaultCells(deviceType: String?) -> Cells { deviceType == "cpu" ? .v16 : .scalar }

    /// A field of a tuning, under its `RECUR_TUNING` key and its tuning.json key.
    enum Field: CaseIterable {
        case matmul, cells, rbM, rbV, kBlock, tile

        /// The key in `RECUR_TUNING` (and `recur tune --only`).
        var variableKey: String {
            switch self {
            case .matmul: "matmul"
            case .cells: "cells"
            case .rbM: "RB_M"
            case .rbV: "RB_V"
            case .kBlock: "KB"
            case .tile: "TILE"
            }
        }

        /// The key in tuning.json (the Codable name).
        var fileKey: String {
            switch self {
            case .matmul: "matmul"
            case .cells: "cells"
            case .rbM: "rbM"
            case .rbV: "rbV"
            case .kBlock: "kBlock"
            case .tile: "tile"
            }
        }

        /// Whether the value is a whole number (else a name).
        var isNumber: Bool { ![.matmul, .cells].contains(self) }
    }

    /// Why a field's value cannot be used; the caller adds where the value came from.
    struct Problem: Error, CustomStringConvertible { let description: String }

    /// Sets `field` from `value`: the one check of each field's values, shared by `RECUR_TUNING`,
    /// `recur tune --only` and tuning.json. `name` is the key the message names.
    mutating func set(_ field: Field, _ value: String, name: String) throws {
        func number(_ allowed: (Int) -> Bool, _ expected: String) throws -> Int {
            guard let v = Int(value), allowed(v) else { throw Problem(description: "\(name) must be \(expected), got \(value)") }
            return v
        }
        switch field {
        case .matmul:
            guard let m = Matmul(rawValue: value) else {
                throw Problem(description: "\(name) must be one of \(Matmul.allCases.map(\.rawValue).joined(separator: ", ")), got \(value)")
            }
            matmul = m
        case .cells:
            guard let c = Cells(rawValue: value) else {
                throw Problem(description: "\(name) must be one of \(Cells.allCases.map(\.rawValue).joined(separator: ", ")), got \(value)")
            }
            cells = c
        case .rbM: rbM = try number({ (1...16).contains($0) }, "1...16")
        case .rbV: rbV = try number({ (1...4).contains($0) }, "1...4")
        case .kBlock: kBlock = try number({ $0 >= 0 }, "≥ 0 (0: no k-blocks)")
        case .tile: tile = try number({ [4, 8, 16, 32].contains($0) }, "4, 8, 16 or 32")
        }
    }

    /// Parses `matmul=rb,RB_M=8,TILE=16` (any subset; the rest from `base`). Errors are
    /// `DeviceError.setting` naming the text and the field.
    public static func parse(_ text: String, base: KernelTuning) throws -> KernelTuning {
        try parse(text, base: base, source: "tuning '\(text)'")
    }

    /// `parse`, with messages that begin with `source` (e.g. `RECUR_TUNING=...`).
    static func parse(_ text: String, base: KernelTuning, source: String) throws -> KernelTuning {
        var t = base
        var given: Set<String> = []
        for item in text.split(separator: ",") {
            let kv = item.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2 else { throw DeviceError.setting("\(source): '\(item)' is not key=value") }
            guard let field = Field.allCases.first(where: { $0.variableKey == kv[0] }) else {
                throw DeviceError.setting("\(source): unknown key '\(kv[0])' (\(Field.allCases.map(\.variableKey).joined(separator: ", ")))")
            }
            // a repeated key is refused: which of the two values was meant cannot be known
            guard given.insert(kv[0]).inserted else { throw DeviceError.setting("\(source): key '\(kv[0])' given twice") }
            do { try t.set(field, kv[1], name: kv[0]) } catch let p as Problem { throw DeviceError.setting("\(source): \(p)") }
        }
        return t
    }

    /// The built-in table: register blocks and float16 cells for CPU-type devices (8 × 32 where the
    /// device prefers 16-float vectors, AVX-512's 32 registers; 6 × 16 elsewhere, AVX2's 16), local-memory
    /// tiles (16×16 everywhere until a device is tuned) and a unit per work-item for GPUs, the simple
    /// kernels for anything else.
    public static func builtIn(for info: DeviceInfo) -> KernelTuning {
        switch info.deviceType {
        // PoCL's register block follows its preferred vector width: 8 × 32 spills on AVX2 (`recur tune` measures)
        case "cpu" where (info.preferredFloatVector ?? 16) >= 16: KernelTuning(matmul: .rb, rbM: 8, rbV: 2, kBlock: 128, cells: .v16)
        case "cpu": KernelTuning(matmul: .rb, rbM: 6, rbV: 1, kBlock: 128, cells: .v16)
        case "gpu" where info.vendor.lowercased().contains("oclgrind"): KernelTuning(matmul: .simple, cells: .scalar)
        case "gpu" where (info.maxWorkGroupSize ?? 256) >= 256: KernelTuning(matmul: .tiled, tile: 16, cells: .scalar)
        case "gpu": KernelTuning(matmul: .tiled, tile: 8, cells: .scalar)
        default: KernelTuning(matmul: .simple, cells: .scalar)
        }
    }

    /// Environment variable that overrides the tuning of every OpenCL device in the process.
    public static let environmentVariable = "RECUR_TUNING"

    /// The tuning device `info` gets, and where it came from (`RECUR_TUNING`, `tuned`, `built-in`).
    /// A `RECUR_TUNING` or a tuning.json entry for this device that cannot be used is an error
    /// (`DeviceError.setting`) naming the variable, or the file, the entry and the field.
    public static func resolve(for info: DeviceInfo) throws -> (tuning: KernelTuning, source: String) {
        let builtIn = builtIn(for: info)
        if let text = ProcessInfo.processInfo.environment[environmentVariable], !text.isEmpty {
            return (try parse(text, base: builtIn, source: "\(environmentVariable)=\(text)"), environmentVariable)
        }
        if let tuned = try TuningCache.entry(for: info) { return (tuned, "tuned") }
        return (builtIn, "built-in")
    }

    /// Throws when `RECUR_TUNING` is set to something `resolve` would refuse (checked against the
    /// simple kernel's defaults: the ranges do not depend on the device).
    static func checkEnvironment() throws {
        if let text = ProcessInfo.processInfo.environment[environmentVariable], !text.isEmpty {
            _ = try parse(text, base: KernelTuning(matmul: .simple), source: "\(environmentVariable)=\(text)")
        }
    }
}
