// `pagelab layout --check`: the computed layout of a configuration and kernel version set
// beside the kernel's own BTF, member by member.

/// One way a computed descriptor differs from the kernel's BTF.
public struct LayoutDifference: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Kind: String, Sendable, Codable {
        /// sizeof differs.
        case size
        /// A computed member the BTF does not have.
        case missing
        /// A BTF member PageLab does not compute: a vendor's, or one it does not model.
        case extra
        /// The same member at another offset.
        case moved
        /// The same member with another size.
        case resized
        /// A computed member absent from the BTF where the BTF has another name at the
        /// same offset and size.
        case renamed
    }

    /// `page`, `folio`, `ptdesc`, `slab`.
    public let structName: String
    public let kind: Kind
    /// The member (the computed name; for `renamed`, "computed -> btf").
    public let member: String
    public let detail: String

    public var description: String { "struct \(structName): \(kind.rawValue) \(member): \(detail)" }

    enum CodingKeys: String, CodingKey { case structName = "struct", kind, member, detail }
}

public enum LayoutCheck {
    /// Every difference between the computed layouts and the BTF ones, struct by struct
    /// (structs present on one side only are named once). Members of type `struct page`
    /// inside the BTF's folio (`page`, `__page_1`, ...) overlay the page words the
    /// computed folio lists member by member, so they are not compared.
    public static func compare(computed: [StructLayout], btf: [StructLayout]) -> [LayoutDifference] {
        var differences: [LayoutDifference] = []
        for real in btf {
            guard let model = computed.first(where: { $0.name == real.name }) else { continue }
            differences += compare(model, real)
        }
        for model in computed where btf.contains(where: { $0.name == model.name }) == false
            && KernelBTF.descriptors.contains(model.name) {
            differences.append(LayoutDifference(structName: model.name, kind: .missing, member: "(the struct)",
                                                detail: "the kernel's BTF has no struct \(model.name)"))
        }
        return differences
    }

    /// Member names the preprocessor changes before BTF sees them: include/linux/types.h
    /// has `#define rcu_head callback_head`, so `struct rcu_head rcu_head;` is a member
    /// named `callback_head` in every kernel's BTF.
    static let macroNames = ["rcu_head": "callback_head"]

    /// `real` with its members under the names the source spells.
    static func sourceNames(_ real: StructLayout) -> StructLayout {
        let spelled = Dictionary(uniqueKeysWithValues: macroNames.map { ($1, $0) })
        let fields = real.fields.map { field in
            guard let name = spelled[field.name] else { return field }
            return LayoutField(name: name, offset: field.offset, size: field.size, armPath: field.armPath,
                               type: field.type, kind: field.kind, bitOffset: field.bitOffset,
                               bitWidth: field.bitWidth, note: field.note)
        }
        return StructLayout(name: real.name, size: real.size, align: real.align, fields: fields,
                            rules: real.rules, note: real.note)
    }

    static func compare(_ model: StructLayout, _ btfLayout: StructLayout) -> [LayoutDifference] {
        let name = model.name
        let real = sourceNames(btfLayout)
        var out: [LayoutDifference] = []
        if model.size != real.size {
            out.append(LayoutDifference(structName: name, kind: .size, member: "sizeof",
                                        detail: "computed \(model.size) bytes, BTF \(real.size)"))
        }
        let realFields = real.fields.filter { !($0.type == "struct page" && $0.kind == .record) }
        let modelNames = Set(model.fields.map(\.name)), realNames = Set(realFields.map(\.name))
        var extras = realFields.filter { !modelNames.contains($0.name) }
        for field in model.fields where !realNames.contains(field.name) {
            if let index = extras.firstIndex(where: { $0.offset == field.offset && $0.size == field.size
                && $0.bitOffset == field.bitOffset && $0.bitWidth == field.bitWidth }) {
                let other = extras.remove(at: index)
                out.append(LayoutDifference(structName: name, kind: .renamed, member: "\(field.name) -> \(other.name)",
                                            detail: "at offset \(field.offset), \(field.size) bytes (BTF type \(other.type))"))
            } else {
                out.append(LayoutDifference(structName: name, kind: .missing, member: field.name,
                                            detail: "computed at offset \(field.offset), \(field.size) bytes; not in the BTF"))
            }
        }
        var seen: Set<String> = []
        for field in model.fields where realNames.contains(field.name) && seen.insert(field.name).inserted {
            guard let other = realFields.first(where: { $0.name == field.name }) else { continue }
            if other.offset != field.offset || other.bitOffset != field.bitOffset {
                out.append(LayoutDifference(structName: name, kind: .moved, member: field.name,
                                            detail: "computed at offset \(field.offset)\(bits(field)), BTF at \(other.offset)\(bits(other))"))
            }
            if other.size != field.size || other.bitWidth != field.bitWidth {
                out.append(LayoutDifference(structName: name, kind: .resized, member: field.name,
                                            detail: "computed \(field.size) bytes\(bits(field)), BTF \(other.size)\(bits(other))"))
            }
        }
        for field in extras {
            out.append(LayoutDifference(structName: name, kind: .extra, member: field.name,
                                        detail: "BTF at offset \(field.offset), \(field.size) bytes, \(field.type)\(field.armPath.isEmpty ? "" : " in arm \(field.armPath.joined(separator: "/"))"): a vendor member or one PageLab does not model"))
        }
        return out
    }

    private static func bits(_ field: LayoutField) -> String {
        guard let offset = field.bitOffset, let width = field.bitWidth else { return "" }
        return " (bits \(offset)-\(offset + width - 1))"
    }

    /// How many members of `computed` the BTF has at the same offset and size.
    public static func agreeing(computed: [StructLayout], btf: [StructLayout]) -> (agree: Int, total: Int) {
        var agree = 0, total = 0
        for model in computed {
            guard let real = btf.first(where: { $0.name == model.name }).map(sourceNames) else { continue }
            var seen: Set<String> = []
            for field in model.fields where seen.insert(field.name).inserted {
                total += 1
                if let other = real.fields.first(where: { $0.name == field.name }), other.offset == field.offset,
                   other.size == field.size, other.bitOffset == field.bitOffset { agree += 1 }
            }
        }
        return (agree, total)
    }
}
