/// Each entry's position in a vocabulary or label list. A list naming an entry twice is refused:
/// a token id must decode to one string and the string to one id.
func tokenIndex(_ list: [String], _ what: String) throws -> [String: Int32] {
    var index: [String: Int32] = [:]
    for (i, s) in list.enumerated() where index.updateValue(Int32(i), forKey: s) != nil {
        throw DataError("\(what) has '\(s)' twice")
    }
    return index
}
