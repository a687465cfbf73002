// Reading a kernel configuration from a file: plain text or gzip (/proc/config.gz,
// kernel/configs.c with CONFIG_IKCONFIG_PROC), told apart by the gzip magic.
import Deflate
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension KernelConfig {
    /// Where the running kernel publishes its configuration (CONFIG_IKCONFIG_PROC).
    public static let procConfigPath = "/proc/config.gz"

    /// Reads and parses a kconfig file, gzip-compressed or not.
    ///
    /// Errors, each one line: `.unreadableFile` for a missing file, a directory or one
    /// without read permission; `.malformedFile` for corrupt gzip data, binary data, or text
    /// that is not a kernel configuration.
    /// `path` "-" reads standard input. `whatIf` accepts option values outside their
    /// Kconfig ranges (`KernelConfig.validate(whatIf:)`).
    public static func load(path: String, whatIf: Bool = false) throws(LayoutError) -> KernelConfig {
        let bytes = try readFile(path)
        var text = bytes
        if Zlib.isGzip(bytes) {
            do {
                text = try Zlib.decompress(bytes, limit: maxFileBytes)
            } catch {
                // Stopped at the limit while inflating: too large, not corrupt.
                throw .malformedFile(path: path, reason: error.overLimit ? "gzip data that inflates to more than 64 MiB, not a kernel configuration"
                                                                   : "corrupt gzip data (\(error.message))")
            }
        }
        // A kconfig file is ASCII text; NUL bytes or invalid UTF-8 mean binary data.
        guard !text.contains(0), let decoded = String(validating: text, as: UTF8.self) else {
            throw .malformedFile(path: path, reason: "binary data, not a kernel configuration")
        }
        return try KernelConfig(text: decoded, source: path == "-" ? "standard input" : path, whatIf: whatIf)
    }

    /// A kernel configuration is well under a megabyte; 64 MiB refuses a disk image or a
    /// gzip bomb, compressed or not.
    static let maxFileBytes = 64 << 20

    /// The preset used when neither a file nor a preset is named and /proc/config.gz
    /// cannot be read.
    public static let fallbackPresetName = "x86_64-defconfig"

    /// The configuration a command works on, and the phrase that says where it came from:
    /// `kconfig` when given, else the named `preset`, else the running kernel's
    /// /proc/config.gz when readable, else the `x86_64-defconfig` preset.
    public static func chosen(kconfig: String? = nil, preset: String? = nil, whatIf: Bool = false) throws(LayoutError)
        -> (config: KernelConfig, source: String) {
        if let kconfig { return (try load(path: kconfig, whatIf: whatIf), kconfig == "-" ? "standard input" : kconfig) }
        if let preset { return (try self.preset(preset), "preset \(preset)") }
        if isReadableFile(procConfigPath) {
            return (try load(path: procConfigPath), "\(procConfigPath) (the running kernel's, the default)")
        }
        return (try self.preset(fallbackPresetName),
                "preset \(fallbackPresetName) (the default: \(procConfigPath) is not readable here)")
    }

    /// True when `path` names a regular file this process may read (used to choose the
    /// default input: /proc/config.gz when readable).
    public static func isReadableFile(_ path: String) -> Bool {
        var status = stat()
        guard stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFREG else { return false }
        return access(path, R_OK) == 0
    }

    /// The whole file ("-": standard input, which may be a pipe). Reads to end of file
    /// rather than trusting `st_size`, which is 0 for /proc files; refuses anything but
    /// a regular file (`InputFile.openRegular`), and stops past `maxFileBytes`.
    static func readFile(_ path: String) throws(LayoutError) -> [UInt8] {
        let descriptor: Int32
        if path == "-" {
            descriptor = dup(STDIN_FILENO)
        } else {
            do { descriptor = try InputFile.openRegular(path) } catch {
                throw .unreadableFile(path: path, reason: error.reason)
            }
        }
        guard descriptor >= 0 else { throw .unreadableFile(path: path, reason: InputFile.errnoText()) }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count == 0 { break }
            if count < 0 {
                if errno == EINTR { continue }
                throw .unreadableFile(path: path, reason: InputFile.errnoText())
            }
            bytes.append(contentsOf: chunk[0..<count])
            if bytes.count > maxFileBytes {
                throw .malformedFile(path: path, reason: "larger than 64 MiB, not a kernel configuration")
            }
        }
        return bytes
    }
}
