/// Device memory of `count` four-byte elements (Float, Int32 or UInt32), owned by one device.
/// Freed when the last reference goes (host memory deallocated, a backend's handle released).
public final class Buffer: @unchecked Sendable {
    /// Four-byte elements.
    public let count: Int
    let storage: Storage
    let owner: ObjectIdentifier

    /// Host memory (the CPU device), or a backend's own handle, which frees its memory when released.
    enum Storage {
        case host(UnsafeMutablePointer<Float>)
        case handle(AnyObject)
    }

    init(count: Int, storage: Storage, owner: ObjectIdentifier) {
        self.count = count
        self.storage = storage
        self.owner = owner
    }

    deinit {
        if case .host(let p) = storage { p.deallocate() }
    }

    /// The whole buffer as a view.
    public var view: View { View(buffer: self, offset: 0, count: count) }
}

/// A contiguous range of a buffer, in elements. Ops take views, so slices cost nothing.
public struct View: Sendable {
    /// The buffer viewed.
    public let buffer: Buffer
    /// First element, in elements from the buffer's start.
    public let offset: Int
    /// Elements in the view.
    public let count: Int

    /// Elements `offset ..< offset + count` of `buffer`; checked when an op uses it.
    public init(buffer: Buffer, offset: Int, count: Int) {
        self.buffer = buffer
        self.offset = offset
        self.count = count
    }

    /// Elements `start ..< start + count` of this view. Bounds are checked when an op uses it.
    public func slice(_ start: Int, _ count: Int) -> View {
        View(buffer: buffer, offset: offset + start, count: count)
    }
}
