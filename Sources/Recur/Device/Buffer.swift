import COpenCL

/// Device memory of `count` four-byte elements (Float, Int32 or UInt32), owned by one device.
/// Freed when the last reference goes (the OpenCL object is released, host memory deallocated).
public final class Buffer: @unchecked Sendable {
    public let count: Int
    let storage: Storage
    let owner: ObjectIdentifier

    enum Storage {
        case host(UnsafeMutablePointer<Float>)
        case opencl(cl_mem)
    }

    init(count: Int, storage: Storage, owner: ObjectIdentifier) {
        self.count = count
        self.storage = storage
        self.owner = owner
    }

    deinit {
        switch storage {
        case .host(let p): p.deallocate()
        case .opencl(let mem): clReleaseMemObject(mem)
        }
    }

    /// The whole buffer as a view.
    public var view: View { View(buffer: self, offset: 0, count: count) }
}

/// A contiguous range of a buffer, in elements. Ops take views, so slices cost nothing.
public struct View: Sendable {
    public let buffer: Buffer
    public let offset: Int
    public let count: Int

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
