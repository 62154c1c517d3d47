/// Products and sums of sizes that come from input (flags, files), computed without trapping: nil
/// when the exact result is more than `Int.max`, so the caller can name the inputs in its message.
public enum Sizes {
    /// The product of `factors` (each ≥ 0), or nil when it does not fit an `Int`.
    public static func product(_ factors: Int...) -> Int? {
        var result = 1
        for f in factors {
            let (p, overflow) = result.multipliedReportingOverflow(by: f)
            if overflow { return nil }
            result = p
        }
        return result
    }

    /// The sum of `terms`, or nil when it does not fit an `Int`.
    public static func sum(_ terms: Int...) -> Int? {
        var result = 0
        for t in terms {
            let (s, overflow) = result.addingReportingOverflow(t)
            if overflow { return nil }
            result = s
        }
        return result
    }
}
