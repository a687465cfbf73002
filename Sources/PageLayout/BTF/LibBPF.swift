// The few functions of libbpf (tools/lib/bpf/btf.h) PageLab needs to read a kernel's BTF,
// loaded at run time with dlopen() so that the build needs no libbpf headers: Debian's
// libbpf1 (the shared library) is on every machine of this kind, libbpf-dev is not.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// libbpf's BTF functions, resolved once from `libbpf.so.1`.
///
/// Linux counterparts: `btf__parse()`, `btf__free()`, `btf__type_by_id()`, `btf__name_by_offset()`, `btf__find_by_name_kind()`,
/// `libbpf_set_print()` (tools/lib/bpf/btf.h, libbpf.h).
final class LibBPF: @unchecked Sendable {
    typealias Parse = @convention(c) (UnsafePointer<CChar>, UnsafeMutablePointer<OpaquePointer?>?) -> OpaquePointer?
    typealias Free = @convention(c) (OpaquePointer?) -> Void
    typealias TypeByID = @convention(c) (OpaquePointer, UInt32) -> UnsafeRawPointer?
    typealias NameByOffset = @convention(c) (OpaquePointer, UInt32) -> UnsafePointer<CChar>?
    typealias FindByNameKind = @convention(c) (OpaquePointer, UnsafePointer<CChar>, UInt32) -> Int32
    typealias SetPrint = @convention(c) (OpaquePointer?) -> OpaquePointer?

    let parse: Parse
    let free: Free
    let typeByID: TypeByID
    let nameByOffset: NameByOffset
    let findByNameKind: FindByNameKind

    /// The library names tried, in order.
    static let names = ["libbpf.so.1", "libbpf.so"]

    private init(handle: UnsafeMutableRawPointer) throws(LayoutError) {
        func symbol<T>(_ name: String, as type: T.Type) throws(LayoutError) -> T {
            guard let address = dlsym(handle, name) else {
                throw .btfUnavailable(reason: "libbpf has no \(name)()")
            }
            return unsafeBitCast(address, to: type)
        }
        parse = try symbol("btf__parse", as: Parse.self)
        free = try symbol("btf__free", as: Free.self)
        typeByID = try symbol("btf__type_by_id", as: TypeByID.self)
        nameByOffset = try symbol("btf__name_by_offset", as: NameByOffset.self)
        findByNameKind = try symbol("btf__find_by_name_kind", as: FindByNameKind.self)
        // Silence libbpf's own warnings: PageLab reports one line per error itself.
        let setPrint = try symbol("libbpf_set_print", as: SetPrint.self)
        _ = setPrint(nil)
    }

    /// The loaded library, or the reason it cannot be loaded.
    static let shared: Result<LibBPF, LayoutError> = {
        for name in names {
            guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else { continue }
            do throws(LayoutError) { return .success(try LibBPF(handle: handle)) } catch { return .failure(error) }
        }
        return .failure(.btfUnavailable(reason: "libbpf.so.1 cannot be loaded (install Debian's libbpf1)"))
    }()

    static func load() throws(LayoutError) -> LibBPF {
        try shared.get()
    }
}
