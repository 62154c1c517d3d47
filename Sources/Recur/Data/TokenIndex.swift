/// Each entry's position in a vocabulary or label list. A list naming an entry twice is refused:
/// a token id must decode to one string and the string to one id.
func tokenIndex(_ list: [String], _ what: String) throws -> [String: Int32] {
    var index: [String: Int32] = [:]
    for (i, s) in list.enumerated() where index.updateValue(Int32(i), forKey: s) != nil {
        throw DataError("\(what) has \(shown(s)) twice")
    }
    return index
}

/// `s` for a one-line message: quoted as it is when printable, else each scalar as U+XXXX (a newline
/// or control character would break the line).
func shown(_ s: String) -> String {
    let printable = s.unicodeScalars.allSatisfy { !$0.properties.generalCategory.isControlOrSeparator }
    return printable ? "'\(s)'" : s.unicodeScalars.map { "U+" + String($0.value, radix: 16, uppercase: true) }.joined(separator: " ")
}

extension Unicode.GeneralCategory {
    /// Control, format, line and paragraph separators: characters that do not print in one line.
    var isControlOrSeparator: Bool {
        switch self {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned: true
        default: false
        }
    }
}
