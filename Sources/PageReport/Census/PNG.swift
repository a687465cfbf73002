// A small PNG encoder (ISO/IEC 15948): 8-bit palette images, one IDAT chunk compressed
// with zlib, CRC-32 per chunk.
import Deflate

public enum PNG {
    /// Encodes a palette image: `pixels` holds one palette index per pixel, row by row.
    public static func encode(width: Int, height: Int, palette: [(UInt8, UInt8, UInt8)], pixels: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
        var header: [UInt8] = []
        header += be32(UInt32(width)) + be32(UInt32(height))
        header += [8, 3, 0, 0, 0]  // bit depth 8, colour type 3 (palette), deflate, filter 0, no interlace
        chunk("IHDR", header, into: &out)
        chunk("PLTE", palette.flatMap { [$0.0, $0.1, $0.2] }, into: &out)
        var raw: [UInt8] = []
        raw.reserveCapacity((width + 1) * height)
        for row in 0..<height {
            raw.append(0)  // filter type None
            let start = row * width
            let end = min(start + width, pixels.count)
            if start < end { raw += pixels[start..<end] }
            if end - start < width { raw += [UInt8](repeating: 0, count: width - max(0, end - start)) }
        }
        chunk("IDAT", Zlib.compress(raw, format: .zlib, level: 9), into: &out)
        chunk("IEND", [], into: &out)
        return out
    }

    static func chunk(_ type: String, _ data: [UInt8], into out: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        out += be32(UInt32(data.count))
        out += typeBytes
        out += data
        out += be32(Zlib.crc32(typeBytes + data))
    }

    static func be32(_ v: UInt32) -> [UInt8] {
        [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
    }
}
