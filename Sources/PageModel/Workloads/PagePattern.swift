// The bytes a workload writes: one 64-bit seed per 4 KiB page, from which every byte of
// the page follows, so verification recomputes what was written instead of keeping it.

/// A page's worth of deterministic bytes from a seed. Seed 0 is the all-zero page (what
/// an untouched anonymous page or a file hole reads as).
public enum PagePattern {
    public static let pageSize = 4096

    /// Word `index` (0..<512) of the page for `seed`: distinct for every seed and every
    /// offset, so a page copied from the wrong place, a stale copy, or a word moved within
    /// the page all read back wrong.
    @inline(__always)
    static func word(_ seed: UInt64, _ index: Int) -> UInt64 {
        guard seed != 0 else { return 0 }
        var z = seed &+ UInt64(index) &* 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        return z ^ (z >> 27)
    }

    /// Fills `buffer` (a whole page) with the pattern of `seed`.
    static func fill(_ buffer: UnsafeMutableRawBufferPointer, seed: UInt64) {
        for index in 0..<(pageSize / 8) {
            buffer.storeBytes(of: word(seed, index).littleEndian, toByteOffset: index * 8, as: UInt64.self)
        }
    }

    /// The page's bytes for `seed`.
    public static func bytes(_ seed: UInt64) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: pageSize)
        out.withUnsafeMutableBytes { fill($0, seed: seed) }
        return out
    }

    /// How many bytes of `bytes` (a page read back) differ from the page of `seed`;
    /// bytes missing from a short read count as differing.
    public static func mismatches(_ bytes: [UInt8], seed: UInt64) -> Int {
        var wrong = max(0, pageSize - bytes.count)
        bytes.withUnsafeBytes { raw in
            let words = min(raw.count, pageSize) / 8
            for index in 0..<words {
                let got = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self))
                let diff = got ^ word(seed, index)
                guard diff != 0 else { continue }
                for byte in 0..<8 where (diff >> (byte * 8)) & 0xff != 0 { wrong += 1 }
            }
        }
        return wrong
    }
}
