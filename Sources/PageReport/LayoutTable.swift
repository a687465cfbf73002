// `pagelab layout` as text: a pahole-like table of each descriptor, and its JSON form.
import PageLayout

/// pahole-like text for descriptor layouts: one row per member with its offset, size,
/// union arm and C type, holes and tail padding as rows of their own, then the kernel's
/// rules on the shared words.
public enum LayoutTable {
    public static func render(_ layouts: [StructLayout]) -> String {
        layouts.map(render).joined(separator: "\n")
    }

    public static func render(_ layout: StructLayout) -> String {
        var table = TextTable(["offset", "size", "member", "union arm", "type"],
                              alignments: [.right, .right, .left, .left, .left])
        var pending = layout.holes
        for field in layout.fields {
            while let hole = pending.first, hole.offset + hole.size <= field.offset {
                table.append(holeRow(hole))
                pending.removeFirst()
            }
            table.append(row(field))
        }
        for hole in pending { table.append(holeRow(hole)) }
        var text = "struct \(layout.name) {"
        if let note = layout.note { text += "  /* \(note) */" }
        text += "\n" + table.render(indent: "    ")
        let holeBytes = layout.holes.filter { !$0.isTailPadding }.reduce(0) { $0 + $1.size }
        let padding = layout.holes.filter(\.isTailPadding).reduce(0) { $0 + $1.size }
        text += "}; /* size: \(layout.size), align: \(layout.align), members: \(layout.fields.count), "
            + "holes: \(holeBytes) bytes, padding: \(padding) bytes */\n"
        for rule in layout.rules {
            text += "  rule: \(rule.field) @\(rule.offset) bits \(hex(rule.mask)): \(rule.rule) [\(rule.source)]\n"
        }
        return text
    }

    private static func row(_ field: LayoutField) -> [String] {
        var member = field.name
        if let bit = field.bitOffset, let width = field.bitWidth {
            member += width == 1 ? " (bit \(bit))" : " (bits \(bit)-\(bit + width - 1))"
        }
        return [String(field.offset), String(field.size), member,
                field.armPath.isEmpty ? "-" : field.armPath.joined(separator: "/"), field.type]
    }

    private static func holeRow(_ hole: LayoutHole) -> [String] {
        [String(hole.offset), String(hole.size), hole.isTailPadding ? "/* padding */" : "/* hole */", "-", ""]
    }

    static func hex(_ value: UInt64) -> String { "0x" + String(value, radix: 16) }
}

/// The JSON document of `pagelab layout --format json`:
/// `{"structs":[{"name":"page","size":64,"align":16,"fields":[{"name":"_refcount",
/// "offset":52,"size":4,"arm":null, ...}, ...]}, ...]}` plus `arch` and `design`.
public struct LayoutDocument: Encodable, Sendable {
    public let arch: String
    public let design: String
    /// Where the configuration came from: a kconfig path, `preset NAME`, or
    /// `--arch A defaults`.
    public let source: String
    public let structs: [StructLayout]
    /// The kernel version the layouts are of ("6.19"), when known.
    public let kernel: String?

    public init(arch: String, design: String, source: String, structs: [StructLayout], kernel: String? = nil) {
        self.arch = arch
        self.design = design
        self.source = source
        self.structs = structs
        self.kernel = kernel
    }

    private enum Keys: String, CodingKey {
        case arch, design, structs, kernel
        case name, size, align, fields, holes, rules, note
        case offset, arm, armPath = "arm_path", type, kind, bitOffset = "bit_offset", bitWidth = "bit_width"
        case isTailPadding = "tail_padding", field, mask, rule, source
    }

    public func encode(to encoder: Encoder) throws {
        var root = encoder.container(keyedBy: Keys.self)
        try root.encode(arch, forKey: .arch)
        try root.encode(design, forKey: .design)
        try root.encode(source, forKey: .source)
        try root.encodeIfPresent(kernel, forKey: .kernel)
        var list = root.nestedUnkeyedContainer(forKey: .structs)
        for layout in structs {
            var object = list.nestedContainer(keyedBy: Keys.self)
            try object.encode(layout.name, forKey: .name)
            try object.encode(layout.size, forKey: .size)
            try object.encode(layout.align, forKey: .align)
            try object.encode(layout.note, forKey: .note)
            var fields = object.nestedUnkeyedContainer(forKey: .fields)
            for field in layout.fields {
                var item = fields.nestedContainer(keyedBy: Keys.self)
                try item.encode(field.name, forKey: .name)
                try item.encode(field.offset, forKey: .offset)
                try item.encode(field.size, forKey: .size)
                try item.encode(field.arm, forKey: .arm)
                try item.encode(field.armPath, forKey: .armPath)
                try item.encode(field.type, forKey: .type)
                try item.encode(field.kind.rawValue, forKey: .kind)
                try item.encodeIfPresent(field.bitOffset, forKey: .bitOffset)
                try item.encodeIfPresent(field.bitWidth, forKey: .bitWidth)
                try item.encodeIfPresent(field.note, forKey: .note)
            }
            var holes = object.nestedUnkeyedContainer(forKey: .holes)
            for hole in layout.holes {
                var item = holes.nestedContainer(keyedBy: Keys.self)
                try item.encode(hole.offset, forKey: .offset)
                try item.encode(hole.size, forKey: .size)
                try item.encode(hole.isTailPadding, forKey: .isTailPadding)
            }
            var rules = object.nestedUnkeyedContainer(forKey: .rules)
            for rule in layout.rules {
                var item = rules.nestedContainer(keyedBy: Keys.self)
                try item.encode(rule.field, forKey: .field)
                try item.encode(rule.offset, forKey: .offset)
                try item.encode(rule.size, forKey: .size)
                try item.encode(LayoutTable.hex(rule.mask), forKey: .mask)
                try item.encode(rule.rule, forKey: .rule)
                try item.encode(rule.source, forKey: .source)
            }
        }
    }
}
