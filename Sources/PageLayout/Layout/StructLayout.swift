// A descriptor's members at their byte offsets, pahole-style, with the union arms that
// share each byte and the kernel's rules on those bytes.

/// One member of a descriptor at its byte offset from the start of the struct (folio
/// members from the start of the folio, i.e. page 1's `_flags_1` at 64 on x86_64).
public struct LayoutField: Sendable, Equatable, Codable {
    /// The kernel's member name (`_refcount`, `compound_head`, `_flags_1`).
    public let name: String
    public let offset: Int
    public let size: Int
    /// The outermost union arm the member belongs to (`page_cache_anon`, `tail`,
    /// `zone_device`, `_mapcount`), nil if it is in no union.
    public let arm: String?
    /// Every union arm enclosing the member, outermost first
    /// (`["page_cache_anon", "buddy_list"]`). Empty if it is in no union.
    public let armPath: [String]
    /// The C type as the kernel spells it.
    public let type: String
    public let kind: FieldKind
    /// For a bitfield, its first bit within the storage unit at `offset`.
    public let bitOffset: Int?
    /// For a bitfield, its width in bits.
    public let bitWidth: Int?
    /// What the kernel's comment says about the member, where it matters.
    public let note: String?

    public init(name: String, offset: Int, size: Int, armPath: [String] = [], type: String,
                kind: FieldKind, bitOffset: Int? = nil, bitWidth: Int? = nil, note: String? = nil) {
        self.name = name
        self.offset = offset
        self.size = size
        self.arm = armPath.first
        self.armPath = armPath
        self.type = type
        self.kind = kind
        self.bitOffset = bitOffset
        self.bitWidth = bitWidth
        self.note = note
    }

    /// One past the member's last byte.
    public var end: Int { offset + size }

    /// Whether the member shares at least one byte with `[offset, offset + size)`.
    public func overlaps(offset other: Int, size otherSize: Int) -> Bool {
        offset < other + otherSize && other < end && size > 0 && otherSize > 0
    }

    /// Whether the member is in `arm` (at any depth of its arm path).
    public func isIn(arm name: String) -> Bool { armPath.contains(name) }

    func shifted(by delta: Int) -> LayoutField {
        LayoutField(name: name, offset: offset + delta, size: size, armPath: armPath, type: type,
                    kind: kind, bitOffset: bitOffset, bitWidth: bitWidth, note: note)
    }
}

/// A rule the kernel places on some bits of a descriptor word: who may set them, what
/// they mean. Data, so that reports can print them and the model can check them.
public struct LayoutRule: Sendable, Equatable, Codable {
    /// The member the rule is stated on (`compound_head`, `mapping`, `memdesc`).
    public let field: String
    /// The word's byte offset and size.
    public let offset: Int
    public let size: Int
    /// The bits the rule is about, within the word (bit 0 = least significant).
    public let mask: UInt64
    /// The rule in a sentence.
    public let rule: String
    /// Where the kernel (or the proposal) says so.
    public let source: String

    public init(field: String, offset: Int, size: Int, mask: UInt64, rule: String, source: String) {
        self.field = field
        self.offset = offset
        self.size = size
        self.mask = mask
        self.rule = rule
        self.source = source
    }
}

/// A byte range of a struct that no member covers: a hole between members, or the
/// tail padding that rounds the size up to the alignment.
public struct LayoutHole: Sendable, Equatable, Codable {
    public let offset: Int
    public let size: Int
    /// True for the padding after the last member.
    public let isTailPadding: Bool

    public init(offset: Int, size: Int, isTailPadding: Bool) {
        self.offset = offset
        self.size = size
        self.isTailPadding = isTailPadding
    }
}

/// A kernel struct laid out for one configuration: its size, alignment and every member
/// of every union arm at its byte offset.
public struct StructLayout: Sendable, Equatable, Codable {
    /// The kernel name: "page", "folio", "ptdesc", "slab", "zpdesc", "page_ext",
    /// "dynamic_page", "memdesc_folio", ...
    public let name: String
    /// sizeof, including tail padding to `align`.
    public let size: Int
    public let align: Int
    /// Every member (leaves of anonymous structs and unions), in declaration order.
    public let fields: [LayoutField]
    /// The kernel's rules on bits of shared words.
    public let rules: [LayoutRule]
    /// Where the layout comes from, when it is not mainline v6.19.
    public let note: String?

    public init(name: String, size: Int, align: Int, fields: [LayoutField],
                rules: [LayoutRule] = [], note: String? = nil) {
        self.name = name
        self.size = size
        self.align = align
        self.fields = fields
        self.rules = rules
        self.note = note
    }

    /// The member called `name` (in `arm`, at any depth of its arm path, when given).
    public func field(_ name: String, arm: String? = nil) -> LayoutField? {
        fields.first { $0.name == name && (arm == nil || $0.isIn(arm: arm ?? "")) }
    }

    /// The byte offset of the member called `name`.
    public func offset(of name: String) -> Int? { field(name)?.offset }

    /// This layout with the kernel's `rules` on its words and a `note` (in place of
    /// any it had): for the rules stated on offsets only the laid-out struct knows.
    func with(rules: [LayoutRule] = [], note: String? = nil) -> StructLayout {
        StructLayout(name: name, size: size, align: align, fields: fields, rules: rules, note: note)
    }

    /// The kernel's rule `text` on bits `mask` of the whole member called `name` (its
    /// offset and size); nil where this layout has no such member, so a rule is only
    /// stated on a word the configuration or design really has.
    func rule(on name: String, mask: UInt64, _ text: String, source: String) -> LayoutRule? {
        field(name).map { LayoutRule(field: name, offset: $0.offset, size: $0.size, mask: mask, rule: text, source: source) }
    }

    /// Every member that shares a byte with `[offset, offset + size)`: which arms alias
    /// these bytes.
    public func fields(overlapping offset: Int, size: Int) -> [LayoutField] {
        fields.filter { $0.overlaps(offset: offset, size: size) }
    }

    /// Every member that shares a byte with the member called `name`, itself excluded.
    public func aliases(of name: String, arm: String? = nil) -> [LayoutField] {
        guard let target = field(name, arm: arm) else { return [] }
        return fields(overlapping: target.offset, size: target.size).filter { $0 != target }
    }

    /// The names of the outermost union arms, in declaration order.
    public var arms: [String] {
        var seen: [String] = []
        for field in fields { if let arm = field.arm, !seen.contains(arm) { seen.append(arm) } }
        return seen
    }

    /// Byte ranges no member covers, in order: holes, then the tail padding.
    public var holes: [LayoutHole] {
        var covered = [Bool](repeating: false, count: size)
        for field in fields {
            for byte in max(0, field.offset)..<min(size, field.end) { covered[byte] = true }
        }
        let lastCovered = covered.lastIndex(of: true) ?? -1
        var holes: [LayoutHole] = []
        var start: Int?
        for byte in 0...size {
            let free = byte < size && !covered[byte]
            if free, start == nil { start = byte }
            if !free, let begin = start {
                holes.append(LayoutHole(offset: begin, size: byte - begin, isTailPadding: begin > lastCovered))
                start = nil
            }
        }
        return holes
    }

    /// The rules that apply to bytes `[offset, offset + size)`.
    public func rules(overlapping offset: Int, size: Int) -> [LayoutRule] {
        rules.filter { $0.offset < offset + size && offset < $0.offset + $0.size }
    }
}
