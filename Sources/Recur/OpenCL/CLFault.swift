import Foundation
import Synchronization

/// Fault injection for testing error paths: `RECUR_CL_FAULT=<call>:<n>:<error>` makes the n-th
/// checked call to the OpenCL function `<call>` (counting from 1, in this process) fail with
/// `<error>` (a name such as `CL_OUT_OF_RESOURCES` or a number), as a driver would on an
/// exhausted or lost device. Unset, it costs one dictionary-free comparison per call.
enum CLFault {
    static let variable = "RECUR_CL_FAULT"

    struct Plan {
        let call: String
        let nth: Int
        let code: Int32
    }

    /// The plan in `RECUR_CL_FAULT`; nil when unset or not of the form (`checkEnvironment` says which).
    static let plan: Plan? = ProcessInfo.processInfo.environment[variable].flatMap(parse)

    static func parse(_ text: String) -> Plan? {
        let parts = text.split(separator: ":").map(String.init)
        guard parts.count == 3, let nth = Int(parts[1]), nth >= 1,
              let code = Int32(parts[2]) ?? CLErrorName.names.first(where: { $0.value == parts[2] })?.key else { return nil }
        return Plan(call: parts[0], nth: nth, code: code)
    }

    /// Throws `DeviceError.setting` when `RECUR_CL_FAULT` is set and not `<call>:<n>:<error>`.
    static func checkEnvironment() throws {
        if let text = ProcessInfo.processInfo.environment[variable], !text.isEmpty, parse(text) == nil {
            throw DeviceError.setting("\(variable)=\(text): expected <call>:<n>:<error> (n ≥ 1; error a CL_ name or a number)")
        }
    }

    static let calls = Mutex(0)

    /// The injected error for this call, or nil.
    static func inject(_ call: String) -> Int32? {
        guard let plan, plan.call == call else { return nil }
        let n = calls.withLock { c in c += 1; return c }
        return n == plan.nth ? plan.code : nil
    }
}
