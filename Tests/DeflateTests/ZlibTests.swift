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

/// Issue 17: a bomb stops while inflating; a multi-member gzip is one file.
@Suite struct ZlibLimitTests {
    @Test func inflatingStopsAtTheLimit() {
        // 32 MiB of zeros compress to about 32 KiB (deflate's longest match is 258
        // bytes, RFC 1951 3.2.5): a small input that would balloon.
        let bomb = Zlib.compress([UInt8](repeating: 0, count: 32 << 20), format: .gzip)
        #expect(bomb.count < 64 << 10)
        #expect(throws: ZlibError.self) { try Zlib.decompress(bomb, limit: 1 << 20) }
        do {
            _ = try Zlib.decompress(bomb, limit: 1 << 20)
        } catch {
            #expect(error.overLimit && error.message.contains("more than 1048576 bytes"), "\(error)")
        }
    }

    @Test func outputOfExactlyTheLimitIsAccepted() throws {
        let bytes = [UInt8](repeating: 7, count: 100_000)
        #expect(try Zlib.decompress(Zlib.compress(bytes, format: .zlib), limit: 100_000) == bytes)
    }

    @Test func multiMemberGzipIsTheConcatenation() throws {
        // RFC 1952 2.2: "A gzip file consists of a series of members"; `cat a.gz b.gz`
        // decompresses to a followed by b.
        let first = Array("CONFIG_X86_64=y\n".utf8), second = Array("CONFIG_NUMA=y\n".utf8)
        let joined = Zlib.compress(first, format: .gzip) + Zlib.compress(second, format: .gzip)
        #expect(try Zlib.decompress(joined) == first + second)
    }

    @Test func garbageAfterTheLastMemberIsAnError() {
        let packed = Zlib.compress(Array("CONFIG_X86_64=y\n".utf8), format: .gzip) + [0x41, 0x42, 0x43]
        #expect(throws: ZlibError.self) { try Zlib.decompress(packed) }
    }
}
