import Foundation
import Testing

/// Pages whose content is generated stay what their generator prints.
@Suite struct DocsTests {
    @Test("docs/PERFORMANCE.md's tables are what Scripts/perf-tables.py prints from Benchmarks/results")
    func performanceTables() throws {
        let r = try RecurProcess.tool("/usr/bin/env", ["python3", Repo.root.appendingPathComponent("Scripts/perf-tables.py").path, "--check",
                                                       Repo.root.appendingPathComponent("docs/PERFORMANCE.md").path])
        #expect(r.exited && r.status == 0, "\(r.output)")
    }
}
