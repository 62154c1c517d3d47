import Foundation

/// The per-user table of tuned values (`tuning.json` in the program cache folder), keyed by
/// device name, driver version and OpenCL version, so a driver update asks for a new tune.
///
/// An entry is an object of the `KernelTuning` fields under their Codable names (`matmul`, `cells`,
/// `rbM`, `rbV`, `kBlock`, `tile`), each checked as `RECUR_TUNING` checks it; fields left out take
/// the device's built-in values. An entry that cannot be read is an error naming the file, the
/// entry and the field when its device is opened, and `store` keeps it as it is.
public enum TuningCache {
    /// The table key: device name, driver and OpenCL version.
    public static func key(_ info: DeviceInfo) -> String { "\(info.name) | \(info.driver) | \(info.version)" }

    static var file: String? { ProgramCache.cacheDirectory().map { $0 + "/tuning.json" } }

    /// The stored tuning for the device, nil when there is none; throws `DeviceError.setting` when
    /// the file or the device's entry cannot be read.
    public static func entry(for info: DeviceInfo) throws -> KernelTuning? {
        guard let file else { return nil }
        return try entry(for: info, in: file)
    }

    static func entry(for info: DeviceInfo, in file: String) throws -> KernelTuning? {
        guard let table = try read(file), let fields = table[key(info)] else { return nil }
        return try tuning(fields, base: KernelTuning.builtIn(for: info), file: file, key: key(info))
    }

    /// Every entry of the table that cannot be read, with one line naming the file, the entry and
    /// the field; `entry` is nil when the file as a whole is not a JSON object of entries.
    public static func problems() -> [(entry: String?, message: String)] {
        guard let file else { return [] }
        return problems(in: file)
    }

    static func problems(in file: String) -> [(entry: String?, message: String)] {
        do {
            guard let table = try read(file) else { return [] }
            return table.keys.sorted().compactMap { key in
                do { _ = try tuning(table[key]!, base: KernelTuning(matmul: .simple), file: file, key: key); return nil } catch {
                    return (key, "\(error)")
                }
            }
        } catch {
            return [(nil, "\(error)")]
        }
    }

    /// Stores `tuning` for the device and returns the file written. Every other entry stays as it
    /// was, readable or not; a file that is not a JSON object of entries is refused, not replaced.
    /// Atomic (write then rename).
    @discardableResult
    public static func store(_ tuning: KernelTuning, for info: DeviceInfo) throws -> String {
        guard let file else { throw DeviceError.unavailable("no cache folder (RECUR_NO_CACHE set, or no HOME/XDG_CACHE_HOME)") }
        try store(tuning, for: info, in: file)
        return file
    }

    static func store(_ tuning: KernelTuning, for info: DeviceInfo, in file: String) throws {
        var raw: [String: Any] = [:]
        if let data = FileManager.default.contents(atPath: file) {
            guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw DeviceError.setting("\(file): not a JSON object of tuning entries; nothing stored (fix or remove the file)")
            }
            raw = object
        }
        raw[key(info)] = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(tuning))
        do {
            try JSONSerialization.data(withJSONObject: raw, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: file), options: .atomic)
        } catch {
            throw DeviceError.unavailable("\(file): cannot write the tuning table (\(systemReason(error)))")
        }
    }

    /// A value in an entry, as the JSON has it.
    enum Value: Decodable {
        case number(Int), name(String), other(String)

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let n = try? c.decode(Int.self) { self = .number(n) }
            else if let s = try? c.decode(String.self) { self = .name(s) }
            else if let d = try? c.decode(Double.self) { self = .other(String(d)) }
            else if let b = try? c.decode(Bool.self) { self = .other(String(b)) }
            else if c.decodeNil() { self = .other("null") }
            else { self = .other("a list or an object") }
        }
    }

    /// An entry: its fields, or what it is instead of an object.
    enum Entry: Decodable {
        case fields([String: Value]), notAnObject

        init(from decoder: any Decoder) throws {
            self = (try? decoder.singleValueContainer().decode([String: Value].self)).map { .fields($0) } ?? .notAnObject
        }
    }

    /// The table in `file`; nil when there is no file. Throws when it is not a JSON object.
    static func read(_ file: String) throws -> [String: Entry]? {
        guard let data = FileManager.default.contents(atPath: file) else { return nil }
        do { return try JSONDecoder().decode([String: Entry].self, from: data) } catch {
            throw DeviceError.setting("\(file): not a JSON object of tuning entries (fix or remove the file)")
        }
    }

    /// The entry's tuning, each field checked as `RECUR_TUNING` checks it; the rest from `base`.
    static func tuning(_ entry: Entry, base: KernelTuning, file: String, key: String) throws -> KernelTuning {
        let source = "\(file): entry '\(key)'"
        guard case .fields(let fields) = entry else { throw DeviceError.setting("\(source) is not an object of fields") }
        var t = base
        for (name, value) in fields.sorted(by: { $0.key < $1.key }) {
            guard let field = KernelTuning.Field.allCases.first(where: { $0.fileKey == name }) else {
                throw DeviceError.setting("\(source): unknown field '\(name)' (\(KernelTuning.Field.allCases.map(\.fileKey).joined(separator: ", ")))")
            }
            let text: String
            switch (value, field.isNumber) {
            case (.number(let n), true): text = String(n)
            case (.name(let s), false): text = s
            case (.number(let n), false): throw DeviceError.setting("\(source): \(name) must be a name, got \(n)")
            case (.name(let s), true): throw DeviceError.setting("\(source): \(name) must be a whole number, got \"\(s)\"")
            case (.other(let o), _): throw DeviceError.setting("\(source): \(name) must be \(field.isNumber ? "a whole number" : "a name"), got \(o)")
            }
            do { try t.set(field, text, name: name) } catch let p as KernelTuning.Problem { throw DeviceError.setting("\(source): \(p)") }
        }
        return t
    }
}
