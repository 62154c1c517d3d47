import Foundation

/// Reads a text file as UTF-8.
func readFile(_ path: String) throws -> String {
    try String(contentsOfFile: path, encoding: .utf8)
}

extension Substring {
    func trimmingCharacters() -> String { String(self).trimmingCharacters(in: .whitespaces) }
}
