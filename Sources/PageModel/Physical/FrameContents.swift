// The bytes of physical memory: every model frame has 4 KiB of real content
// (the kernel's view through the direct map, page_address()).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The contents of all frames, backed by one sparse reservation (`MAP_NORESERVE`) as large
/// as the physical address space: a 1 TiB machine costs the host only the frames that are
/// touched. Clearing and copying are real `memset`/`memcpy`.
public final class FrameContents: Sendable {
    public static let frameSize = MachineConfig.pageSize
    public let frameCount: Int
    private let region: RawRegion
    /// The host address of frame 0 (the model's direct map).
    var base: UnsafeMutableRawPointer { region.base }

    public init(frameCount: Int) throws(MachineError) {
        self.frameCount = frameCount
        region = try RawRegion(byteCount: frameCount * Self.frameSize, noReserve: true, what: "frame contents")
    }

    /// The host address of a frame's first byte, or nil for a pfn outside the machine.
    /// Linux: `page_address()` / `kmap_local_page()`.
    @inline(__always)
    public func pointer(pfn: Int) -> UnsafeMutableRawPointer? {
        guard pfn >= 0, pfn < frameCount else { return nil }
        return region.base + pfn * Self.frameSize
    }

    /// Zeroes `count` frames from `pfn`. Linux: `clear_page()` / `clear_highpage()`.
    @discardableResult
    public func clear(pfn: Int, count: Int = 1) -> Bool {
        guard count >= 0, pfn >= 0, pfn + count <= frameCount, let start = pointer(pfn: pfn) else { return false }
        memset(start, 0, count * Self.frameSize)
        return true
    }

    /// Copies one frame's 4 KiB. Linux: `copy_page()` / `copy_highpage()`.
    @discardableResult
    public func copy(from source: Int, to destination: Int) -> Bool {
        guard let from = pointer(pfn: source), let to = pointer(pfn: destination) else { return false }
        memcpy(to, from, Self.frameSize)
        return true
    }

    /// Writes bytes into a frame at an offset; false if they do not fit.
    @discardableResult
    public func write(_ bytes: some Collection<UInt8>, pfn: Int, offset: Int = 0) -> Bool {
        guard offset >= 0, offset + bytes.count <= Self.frameSize, let frame = pointer(pfn: pfn) else { return false }
        var position = frame + offset
        for byte in bytes {
            position.storeBytes(of: byte, as: UInt8.self)
            position += 1
        }
        return true
    }

    /// Reads `count` bytes of a frame from an offset; nil if they do not fit.
    public func read(pfn: Int, offset: Int = 0, count: Int) -> [UInt8]? {
        guard offset >= 0, count >= 0, offset + count <= Self.frameSize, let frame = pointer(pfn: pfn) else { return nil }
        return Array(UnsafeRawBufferPointer(start: frame + offset, count: count))
    }

    /// Gives a frame's host memory back (it reads as zeroes afterwards).
    public func discard(pfn: Int, count: Int = 1) {
        guard pfn >= 0, count > 0, pfn + count <= frameCount else { return }
        region.discard(offset: pfn * Self.frameSize, length: count * Self.frameSize)
    }
}
