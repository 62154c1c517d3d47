import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// `path` for a one-line message: as it is, or quoted with each control character, separator,
/// quote and backslash escaped (`"a\nb"`) when it holds a character that would break the line.
public func shownPath(_ path: String) -> String {
    guard path.unicodeScalars.contains(where: { $0.properties.generalCategory.isControlOrSeparator }) else { return path }
    let escaped = path.unicodeScalars.map { s in
        s.properties.generalCategory.isControlOrSeparator || s == "\"" || s == "\\" ? s.escaped(asASCII: true) : String(s)
    }
    return "\"" + escaped.joined() + "\""
}

/// The reason an error gives, in the system's words where there are some: a POSIX error (or a
/// Foundation error built on one) is its `strerror` text ("File too large"), not "NSCocoaErrorDomain
/// error 512"; another Foundation error its localized description; Recur's own errors their
/// description.
public func systemReason(_ error: any Error) -> String {
    var next: NSError? = error as NSError
    while let e = next {
        if e.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(e.code))) }
        next = e.userInfo[NSUnderlyingErrorKey] as? NSError
    }
    guard let cocoa = error as? CocoaError else { return "\(error)" }
    // Foundation on Linux often drops the POSIX error it started from; its code says which it was
    let posix: [CocoaError.Code: Int32] = [
        .fileNoSuchFile: ENOENT, .fileReadNoSuchFile: ENOENT, .fileReadNoPermission: EACCES, .fileWriteNoPermission: EACCES,
        .fileWriteOutOfSpace: ENOSPC, .fileWriteVolumeReadOnly: EROFS, .fileWriteFileExists: EEXIST, .fileReadTooLarge: EFBIG,
    ]
    return posix[cocoa.code].map { String(cString: strerror($0)) } ?? error.localizedDescription
}
