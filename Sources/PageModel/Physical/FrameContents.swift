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
///
/// ZONE_DEVICE memory the CPU can address (pmem behind device-dax and fsdax, P2PDMA BARs,
/// coherent device memory) has bytes too: one sparse reservation per pagemap, attached
/// by memremap_pages() and detached by memunmap_pages() once no page is in use.
/// DEVICE_PRIVATE memory has none: the CPU cannot reach it (its PTEs are never present).
public final class FrameContents: Sendable {
    public static let frameSize = MachineConfig.pageSize
    public let frameCount: Int
    private let region: RawRegion
    private let device = ModelMutex<[DeviceFrames]>([])
    /// The host address of frame 0 (the model's direct map).
    var base: UnsafeMutableRawPointer { region.base }

    private struct DeviceFrames {
        let start: Int
        let count: Int
        let region: RawRegion
    }

    public init(frameCount: Int) throws(MachineError) {
        self.frameCount = frameCount
        region = try RawRegion(byteCount: frameCount * Self.frameSize, noReserve: true, what: "frame contents")
    }

    /// Bytes of RAM frames the host holds now (frames the model has touched).
    public var residentBytes: Int { region.residentBytes }

    /// The host address of a frame's first byte, or nil for a pfn with no bytes (outside
    /// RAM and every CPU-addressable pagemap). Linux: `page_address()` / `kmap_local_page()`.
    @inline(__always)
    public func pointer(pfn: Int) -> UnsafeMutableRawPointer? {
        if pfn >= 0, pfn < frameCount { return region.base + pfn * Self.frameSize }
        return devicePointer(pfn: pfn)
    }

    @inline(never)
    private func devicePointer(pfn: Int) -> UnsafeMutableRawPointer? {
        device.withLock { regions in
            regions.first { pfn >= $0.start && pfn - $0.start < $0.count }.map { $0.region.base + (pfn - $0.start) * Self.frameSize }
        }
    }

    /// Gives device pfns `[start, start + count)` bytes (memremap_pages() of memory the
    /// CPU can address). They start zeroed.
    func attachDevice(start: Int, count: Int) throws(MachineError) {
        let region = try RawRegion(byteCount: count * Self.frameSize, noReserve: true, what: "device memory")
        device.withLock { $0.append(DeviceFrames(start: start, count: count, region: region)) }
    }

    /// Drops the bytes of the device range starting at `start` (memunmap_pages()).
    func detachDevice(start: Int) {
        device.withLock { $0.removeAll { $0.start == start } }
    }

    /// Zeroes `count` frames from `pfn`, all or none. Linux: `clear_page()` / `clear_highpage()`.
    @discardableResult
    public func clear(pfn: Int, count: Int = 1) -> Bool {
        guard count >= 0 else { return false }
        if pfn >= 0, pfn + count <= frameCount {
            memset(region.base + pfn * Self.frameSize, 0, count * Self.frameSize)
            return true
        }
        let frames = (0..<count).compactMap { pointer(pfn: pfn + $0) }
        guard frames.count == count else { return false }
        for frame in frames { memset(frame, 0, Self.frameSize) }
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
