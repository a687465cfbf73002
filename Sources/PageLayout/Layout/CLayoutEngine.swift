// A tiny C struct layout engine: the rules of the C ABIs Linux is built with
// (natural alignment of each member, a union as large as its largest arm, a struct's
// size rounded up to its alignment, `__aligned(n)` raising both).

/// One declaration inside a C struct or union, as written in a kernel header.
public indirect enum Decl: Sendable {
    /// A named member: `struct address_space *mapping;`.
    case member(String, CType, note: String? = nil)
    /// Consecutive bitfields sharing one storage unit of `unit`, low bits first
    /// (GCC on little-endian targets): `unsigned inuse:16, objects:15, frozen:1;`.
    case bitfields(CType, [(name: String, width: Int)], note: String? = nil)
    /// An anonymous `struct { ... }`. Inside a union it is one arm, named `arm`.
    case group(arm: String?, [Decl])
    /// An anonymous `union { ... }`: each declaration is one arm. A member's arm is
    /// named after the member; a group's arm after its `arm` label.
    case union([Decl])
    /// An anonymous struct in a union with a whole `struct page`: struct folio's
    /// transitional `union { struct { ... }; struct page __page_1; }`. Its members keep
    /// no arm (the page arm only reserves the room); it is exactly `size` bytes long.
    case overlay(size: Int, align: Int, [Decl])
}

/// The result of laying out a list of declarations.
struct LaidOut {
    var fields: [LayoutField] = []
    var size = 0
    var align = 1
}

enum CLayoutEngine {
    /// Lays out `decls` as the members of a struct (or, with `isUnion`, a union)
    /// starting at byte 0. `armPath` is the chain of union arms enclosing them.
    static func layout(_ decls: [Decl], isUnion: Bool, armPath: [String]) -> LaidOut {
        var out = LaidOut()
        var cursor = 0
        for decl in decls {
            let path = isUnion ? armPath + [armName(of: decl)] : armPath
            let inner = layoutOne(decl, armPath: path)
            let offset = isUnion ? 0 : roundUp(cursor, to: inner.align)
            out.fields += inner.fields.map { $0.shifted(by: offset) }
            out.align = max(out.align, inner.align)
            if isUnion {
                out.size = max(out.size, inner.size)
            } else {
                cursor = offset + inner.size
                out.size = cursor
            }
        }
        out.size = roundUp(out.size, to: out.align)
        return out
    }

    private static func layoutOne(_ decl: Decl, armPath: [String]) -> LaidOut {
        switch decl {
        case let .member(name, type, note):
            let field = LayoutField(name: name, offset: 0, size: type.size, armPath: armPath,
                                    type: type.spelling, kind: type.kind, note: note)
            return LaidOut(fields: [field], size: type.size, align: type.align)
        case let .bitfields(unit, bits, note):
            var fields: [LayoutField] = []
            var bit = 0
            for (name, width) in bits {
                fields.append(LayoutField(name: name, offset: 0, size: unit.size, armPath: armPath,
                                          type: "\(unit.spelling):\(width)", kind: .bitfield,
                                          bitOffset: bit, bitWidth: width, note: note))
                bit += width
            }
            return LaidOut(fields: fields, size: unit.size, align: unit.align)
        case let .group(_, decls):
            return layout(decls, isUnion: false, armPath: armPath)
        case let .union(decls):
            return layout(decls, isUnion: true, armPath: armPath)
        case let .overlay(size, align, decls):
            var inner = layout(decls, isUnion: false, armPath: armPath)
            inner.align = max(inner.align, align)
            inner.size = roundUp(max(inner.size, size), to: inner.align)
            return inner
        }
    }

    private static func armName(of decl: Decl) -> String {
        switch decl {
        case let .member(name, _, _): name
        case let .bitfields(_, bits, _): bits.map(\.name).joined(separator: ",")
        case let .group(arm, decls): arm ?? decls.first.map(armName(of:)) ?? "struct"
        case .union: "union"
        case let .overlay(_, _, decls): decls.first.map(armName(of:)) ?? "page"
        }
    }

    static func roundUp(_ value: Int, to alignment: Int) -> Int {
        alignment <= 1 ? value : (value + alignment - 1) / alignment * alignment
    }
}

extension StructLayout {
    /// Lays out a kernel struct from its declarations. `aligned` is an
    /// `__aligned(n)` attribute on the struct (it raises the alignment, never lowers it).
    public static func describe(_ name: String, _ decls: [Decl], aligned: Int? = nil,
                                rules: [LayoutRule] = [], note: String? = nil) -> StructLayout {
        let laid = CLayoutEngine.layout(decls, isUnion: false, armPath: [])
        let align = max(laid.align, aligned ?? 1)
        let size = CLayoutEngine.roundUp(laid.size, to: align)
        return StructLayout(name: name, size: size, align: align, fields: laid.fields,
                            rules: rules, note: note)
    }
}
