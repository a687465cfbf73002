// A kernel's own descriptor layouts, read from its BTF (/sys/kernel/btf/vmlinux, or a
// vmlinux ELF's .BTF section) with libbpf: the members of struct page, folio, ptdesc and
// slab at the offsets the kernel was really built with. The BTF encoding read here is
// include/uapi/linux/btf.h (struct btf_type, btf_member, btf_array).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One parsed BTF blob. Linux: `struct btf` of libbpf (tools/lib/bpf/btf.c).
public final class KernelBTF {
    /// Where the running kernel publishes its BTF (CONFIG_DEBUG_INFO_BTF).
    public static let runningKernelPath = "/sys/kernel/btf/vmlinux"
    /// The descriptors PageLab reads from BTF, in the order `layout` shows them.
    public static let descriptors = ["page", "folio", "ptdesc", "slab"]

    public let path: String
    private let lib: LibBPF
    private let btf: OpaquePointer

    // include/uapi/linux/btf.h: BTF_KIND_*.
    enum Kind: UInt32 {
        case int = 1, ptr, array, `struct`, union, `enum`, fwd, typedef, volatile, const, restrict
        case `func`, funcProto, `var`, datasec, float, declTag, typeTag, enum64
    }

    /// Parses the BTF at `path` (raw BTF or an ELF file's .BTF section).
    ///
    /// Errors, each one line: `.btfUnavailable` when libbpf cannot be loaded;
    /// `.unreadableFile` for a missing or unreadable file; `.malformedFile` for an ELF
    /// file without a usable .BTF section and for a truncated or corrupt BTF blob.
    public init(path: String) throws(LayoutError) {
        let lib = try LibBPF.load()
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else {
            throw .unreadableFile(path: path, reason: errno == ENOENT ? "no such file" : String(cString: strerror(errno)))
        }
        var magic = [UInt8](repeating: 0, count: 4)
        let got = magic.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, 4) }
        var status = stat()
        let isDirectory = fstat(descriptor, &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR
        close(descriptor)
        if isDirectory { throw .unreadableFile(path: path, reason: "it is a directory") }
        let isELF = got == 4 && magic == [0x7f, 0x45, 0x4c, 0x46]
        errno = 0
        guard let btf = lib.parse(path, nil) else {
            let why = errno == 0 ? "libbpf refused it" : String(cString: strerror(errno))
            throw .malformedFile(path: path, reason: isELF
                ? "an ELF file without a usable .BTF section (\(why))"
                : "not a valid BTF blob: truncated or corrupt (\(why))")
        }
        self.lib = lib
        self.btf = btf
        self.path = path
    }

    deinit { lib.free(btf) }

    /// The layouts of `names` found in the BTF, in that order. Throws `.malformedFile`
    /// when the BTF has no `struct page` (not a kernel's BTF, or a module's split BTF).
    public func layouts(_ names: [String] = descriptors) throws(LayoutError) -> [StructLayout] {
        guard structID("page") != nil else {
            throw .malformedFile(path: path, reason: "its BTF has no struct page (not a kernel's vmlinux BTF)")
        }
        return names.compactMap { layout(of: $0) }
    }

    /// `struct name` with every leaf member at its byte offset, anonymous structs and
    /// unions flattened into union arms as PageLab's computed layouts show them.
    public func layout(of name: String) -> StructLayout? {
        guard let id = structID(name), let type = lib.typeByID(btf, id) else { return nil }
        var fields: [LayoutField] = []
        appendMembers(of: type, at: 0, armPath: [], depth: 0, into: &fields)
        return StructLayout(name: name, size: Int(u32(type, 8)), align: alignment(fields),
                            fields: fields, note: "BTF of \(path)")
    }

    /// sizeof(struct page) in this BTF.
    public var structPageSize: Int? {
        structID("page").flatMap { lib.typeByID(btf, $0) }.map { Int(u32($0, 8)) }
    }

    private func structID(_ name: String) -> UInt32? {
        let id = lib.findByNameKind(btf, name, Kind.struct.rawValue)
        return id > 0 ? UInt32(id) : nil
    }

    // MARK: Reading struct btf_type

    private func u32(_ type: UnsafeRawPointer, _ offset: Int) -> UInt32 {
        type.loadUnaligned(fromByteOffset: offset, as: UInt32.self)
    }
    private func kind(_ type: UnsafeRawPointer) -> Kind? { Kind(rawValue: (u32(type, 4) >> 24) & 0x1f) }
    private func vlen(_ type: UnsafeRawPointer) -> Int { Int(u32(type, 4) & 0xffff) }
    private func kflag(_ type: UnsafeRawPointer) -> Bool { u32(type, 4) >> 31 != 0 }
    private func name(_ offset: UInt32) -> String {
        lib.nameByOffset(btf, offset).map { String(cString: $0) } ?? ""
    }

    /// The type behind const/volatile/restrict/type tags.
    private func unqualified(_ id: UInt32) -> (UInt32, UnsafeRawPointer)? {
        var id = id
        for _ in 0..<16 {
            guard id != 0, let type = lib.typeByID(btf, id), let kind = kind(type) else { return nil }
            switch kind {
            case .const, .volatile, .restrict, .typeTag: id = u32(type, 8)
            default: return (id, type)
            }
        }
        return nil
    }

    /// sizeof the type `id` (typedefs followed), 0 when it has none.
    private func size(of id: UInt32, depth: Int = 0) -> Int {
        guard depth < 16, let (_, type) = unqualified(id), let kind = kind(type) else { return 0 }
        switch kind {
        case .int, .struct, .union, .enum, .enum64, .float: return Int(u32(type, 8))
        case .ptr: return pointerSize
        case .typedef: return size(of: u32(type, 8), depth: depth + 1)
        case .array:
            let (elementSize, count) = (size(of: u32(type, 12), depth: depth + 1), Int(u32(type, 20)))
            let (total, overflow) = elementSize.multipliedReportingOverflow(by: count)
            return overflow ? 0 : total
        default: return 0
        }
    }

    /// sizeof(void *): the size of `unsigned long` in this BTF, 8 when it has none.
    private lazy var pointerSize: Int = {
        let id = lib.findByNameKind(btf, "long unsigned int", Kind.int.rawValue)
        return id > 0 ? lib.typeByID(btf, UInt32(id)).map { Int(u32($0, 8)) } ?? 8 : 8
    }()

    /// The C spelling of the type `id`, as pahole prints it (qualifiers dropped).
    private func spelling(of id: UInt32, depth: Int = 0) -> String {
        guard depth < 16 else { return "?" }
        guard id != 0 else { return "void" }
        guard let (_, type) = unqualified(id), let kind = kind(type) else { return "void" }
        let named = name(u32(type, 0))
        switch kind {
        case .struct: return named.isEmpty ? "struct {...}" : "struct \(named)"
        case .union: return named.isEmpty ? "union {...}" : "union \(named)"
        case .enum, .enum64: return named.isEmpty ? "enum {...}" : "enum \(named)"
        case .ptr:
            let target = u32(type, 8)
            if let (_, pointee) = unqualified(target), self.kind(pointee) == .funcProto { return "void (*)()" }
            return spelling(of: target, depth: depth + 1) + " *"
        case .array: return spelling(of: u32(type, 12), depth: depth + 1) + "[\(u32(type, 20))]"
        default: return named
        }
    }

    /// What a member of type `id` named `member` holds, for reports and pictures.
    private func fieldKind(_ id: UInt32, member: String) -> FieldKind {
        let spelled = spelling(of: id)
        if member == "flags" || spelled == "memdesc_flags_t" { return .flags }
        if spelled.hasSuffix("*") { return .pointer }
        if spelled.hasPrefix("atomic") || spelled == "refcount_t" { return .atomic }
        if spelled == "struct list_head" { return .list }
        if spelled == "struct callback_head" || spelled == "struct rcu_head" { return .rcu }
        if spelled == "spinlock_t" { return .lock }
        if member.contains("_pad") || member.hasPrefix("_unused") { return .padding }
        if spelled.hasPrefix("struct") || spelled.hasPrefix("union") { return .record }
        return .value
    }

    /// Appends the leaf members of the struct or union `type` at byte `base`. Anonymous
    /// members are flattened; in a union each member is an arm, named after itself or,
    /// when anonymous, after its first leaf (as CLayoutEngine names arms).
    private func appendMembers(of type: UnsafeRawPointer, at base: Int, armPath: [String], depth: Int,
                               into fields: inout [LayoutField]) {
        guard depth < 32 else { return }
        let isUnion = kind(type) == .union
        let bitfieldOffsets = kflag(type)
        for index in 0..<vlen(type) {
            let member = type + 12 + 12 * index
            let memberName = name(member.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
            let typeID = member.loadUnaligned(fromByteOffset: 4, as: UInt32.self)
            let rawOffset = member.loadUnaligned(fromByteOffset: 8, as: UInt32.self)
            let bitOffset = Int(bitfieldOffsets ? rawOffset & 0xff_ffff : rawOffset)
            let bitWidth = bitfieldOffsets ? Int(rawOffset >> 24) : 0
            let resolved = resolveTypedefs(typeID)
            if memberName.isEmpty, let (_, inner) = resolved, let innerKind = kind(inner),
               innerKind == .struct || innerKind == .union {
                var path = armPath
                if isUnion { path.append(firstLeafName(inner, depth: depth + 1) ?? "struct") }
                appendMembers(of: inner, at: base + bitOffset / 8, armPath: path, depth: depth + 1, into: &fields)
                continue
            }
            let path = isUnion ? armPath + [memberName] : armPath
            let size = size(of: typeID)
            if bitWidth > 0 {
                // A bitfield: its storage unit at the unit-aligned byte, its first bit in it.
                let unit = max(1, size)
                let unitOffset = (bitOffset / (unit * 8)) * unit
                fields.append(LayoutField(name: memberName, offset: base + unitOffset, size: unit, armPath: path,
                                          type: "\(spelling(of: typeID)):\(bitWidth)", kind: .bitfield,
                                          bitOffset: bitOffset - unitOffset * 8, bitWidth: bitWidth))
            } else {
                fields.append(LayoutField(name: memberName, offset: base + bitOffset / 8, size: size, armPath: path,
                                          type: spelling(of: typeID), kind: fieldKind(typeID, member: memberName)))
            }
        }
    }

    /// The struct or union behind typedefs and qualifiers (an anonymous member's type).
    private func resolveTypedefs(_ id: UInt32) -> (UInt32, UnsafeRawPointer)? {
        var current = unqualified(id)
        for _ in 0..<16 {
            guard let (_, type) = current, kind(type) == .typedef else { return current }
            current = unqualified(u32(type, 8))
        }
        return current
    }

    private func firstLeafName(_ type: UnsafeRawPointer, depth: Int) -> String? {
        guard depth < 32, vlen(type) > 0 else { return nil }
        let member = type + 12
        let memberName = name(member.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        if !memberName.isEmpty { return memberName }
        guard let (_, inner) = resolveTypedefs(member.loadUnaligned(fromByteOffset: 4, as: UInt32.self)) else { return nil }
        return firstLeafName(inner, depth: depth + 1)
    }

    /// The struct's alignment: its widest naturally aligned member, at most 16 (the
    /// kernel's `_struct_page_alignment` is visible only in the size).
    private func alignment(_ fields: [LayoutField]) -> Int {
        let widest = fields.map { $0.kind == .bitfield ? $0.size : min($0.size, pointerSize) }.max() ?? 1
        return max(1, widest)
    }
}
