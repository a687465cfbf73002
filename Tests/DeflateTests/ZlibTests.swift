import Deflate
import Testing

@Suite struct ZlibTests {
    let text = Array(String(repeating: "CONFIG_MEMCG=y\n# CONFIG_KMSAN is not set\n", count: 200).utf8)

    @Test(arguments: [DeflateFormat.gzip, .zlib])
    func roundTrip(format: DeflateFormat) throws {
        let packed = Zlib.compress(text, format: format)
        #expect(packed.count < text.count / 10)
        #expect(Zlib.isGzip(packed) == (format == .gzip))
        #expect(try Zlib.decompress(packed) == text)
    }

    @Test func truncatedStreamIsAnError() {
        let packed = Zlib.compress(text, format: .gzip)
        #expect(throws: ZlibError.self) { try Zlib.decompress(Array(packed.prefix(packed.count / 2))) }
    }

    @Test func corruptStreamIsAnError() {
        var packed = Zlib.compress(text, format: .gzip)
        packed[12] ^= 0xff
        packed[13] ^= 0xff
        #expect(throws: ZlibError.self) { try Zlib.decompress(packed) }
    }

    @Test func crc32MatchesTheStandardCheckValue() {
        // The CRC-32 check value of "123456789" (ISO 3309 / ITU-T V.42).
        #expect(Zlib.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
    }
}
