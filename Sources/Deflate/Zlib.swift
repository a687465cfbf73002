// Thin, safe wrapper over zlib (the system's libz): gzip for /proc/config.gz and census
// snapshots, the zlib stream format for PNG IDAT chunks, and CRC-32.
// All unsafe pointer work on z_stream is confined to this file.
import CZlib
import Foundation

/// A zlib failure, carrying zlib's own return code and message.
public struct ZlibError: Error, CustomStringConvertible, Equatable {
    public let code: Int32
    public let message: String
    /// True when inflating stopped at the caller's limit (the data may be fine, but large).
    public var overLimit = false
    public var description: String { "zlib error \(code): \(message)" }
}

/// The container around a deflate stream.
public enum DeflateFormat: Sendable {
    /// RFC 1952, what `gzip` and `/proc/config.gz` use.
    case gzip
    /// RFC 1950, what PNG's IDAT chunks use.
    case zlib

    var windowBits: Int32 { self == .gzip ? 15 + 16 : 15 }
}

public enum Zlib {
    /// Compresses `input` in one call.
    public static func compress(_ input: [UInt8], format: DeflateFormat, level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        // deflateInit2_ only fails on bad parameters or out of memory; ours are constant.
        guard deflateInit2_(&stream, level, Z_DEFLATED, format.windowBits, 8, Z_DEFAULT_STRATEGY,
                            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return [] }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 64)
        let produced: Int = input.withUnsafeBufferPointer { inBuf in
            output.withUnsafeMutableBufferPointer { outBuf in
                stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
                stream.avail_in = uInt(inBuf.count)
                stream.next_out = outBuf.baseAddress
                stream.avail_out = uInt(outBuf.count)
                _ = deflate(&stream, Z_FINISH)
                return Int(stream.total_out)
            }
        }
        output.removeSubrange(produced...)
        return output
    }

    /// Decompresses a gzip or zlib stream (the header is detected). Concatenated gzip
    /// members are one file, as `gzip -d` reads them (RFC 1952 section 2.2: "A gzip file
    /// consists of a series of members"); any other bytes after the end are an error.
    /// Inflating stops, with an error, as soon as the output passes `limit` bytes, so a
    /// small bomb never takes more memory than the limit.
    public static func decompress(_ input: [UInt8], sizeHint: Int = 0, limit: Int = Int.max) throws(ZlibError) -> [UInt8] {
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ZlibError(code: Z_MEM_ERROR, message: "inflateInit2 failed")
        }
        defer { inflateEnd(&stream) }
        var output = [UInt8]()
        output.reserveCapacity(min(limit, max(sizeHint, 4096)))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var tooLarge = false
        let result: Int32 = input.withUnsafeBufferPointer { inBuf in
            stream.next_in = UnsafeMutablePointer(mutating: inBuf.baseAddress)
            stream.avail_in = uInt(inBuf.count)
            while true {
                let (rc, got): (Int32, Int) = chunk.withUnsafeMutableBufferPointer { outBuf in
                    stream.next_out = outBuf.baseAddress
                    stream.avail_out = uInt(outBuf.count)
                    let rc = inflate(&stream, Z_NO_FLUSH)
                    return (rc, outBuf.count - Int(stream.avail_out))
                }
                guard got <= limit - output.count else { tooLarge = true; return Z_DATA_ERROR }
                output.append(contentsOf: chunk[0..<got])
                if rc == Z_STREAM_END {
                    if stream.avail_in == 0 { return Z_OK }
                    // Another gzip member follows: start it on the same output.
                    let next = inBuf.count - Int(stream.avail_in)
                    guard isGzip(Array(inBuf[next..<min(inBuf.count, next + 2)])), inflateReset(&stream) == Z_OK else {
                        return Z_DATA_ERROR
                    }
                    continue
                }
                if rc != Z_OK { return rc == Z_BUF_ERROR ? Z_DATA_ERROR : rc }
                if got == 0 && stream.avail_in == 0 { return Z_BUF_ERROR }
            }
        }
        if tooLarge { throw ZlibError(code: Z_DATA_ERROR, message: "inflates to more than \(limit) bytes", overLimit: true) }
        guard result == Z_OK else {
            let message = stream.msg.map { String(cString: $0) }
                ?? (result == Z_BUF_ERROR ? "truncated stream" : "corrupt stream")
            throw ZlibError(code: result, message: message)
        }
        return output
    }

    /// True when `bytes` start with the gzip magic 1f 8b.
    public static func isGzip(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b
    }

    /// CRC-32 (ISO 3309, as in gzip and PNG), continuing from `crc`.
    public static func crc32(_ bytes: [UInt8], continuing crc: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBufferPointer { buf in
            UInt32(CZlib.crc32(uLong(crc), buf.baseAddress, uInt(buf.count)))
        }
    }
}
