// The 8-byte memdesc word: a type in bits 0-3 and a 16-byte-aligned descriptor
// pointer, or inline data for Misc memory (kernelnewbies MatthewWilcox/Memdescs,
// revisions A, B and C; ../shared/reference/kernel-facts.md 5.2).

/// Memdesc types, revision C (the newest): the value in bits 0-3 of the memdesc word.
public enum MemdescType: UInt8, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case misc = 0, buddy = 1, file = 2, anon = 3, ksm = 4, slab = 5, bump = 6, movable = 7
    case ptdesc = 8, hwpoison = 9, percpu = 10, acctmem = 11, zpdesc = 12, managed = 13

    /// The name on the kernelnewbies page.
    public var description: String {
        switch self {
        case .misc: "Misc"
        case .buddy: "Buddy"
        case .file: "File"
        case .anon: "Anon"
        case .ksm: "KSM"
        case .slab: "Slab"
        case .bump: "Bump"
        case .movable: "Movable"
        case .ptdesc: "PTdesc"
        case .hwpoison: "HWPoison"
        case .percpu: "PerCPU"
        case .acctmem: "acctmem"
        case .zpdesc: "ZPDesc"
        case .managed: "Managed"
        }
    }

    /// The struct the word points to, or nil where the data is embedded in the word
    /// (Misc, Buddy) or the page has not named one (TBD).
    public var descriptorStruct: String? {
        switch self {
        case .file: "struct folio"
        case .anon: "struct anon_folio"
        case .ksm: "struct ksm"
        case .slab: "struct slab"
        case .bump: "struct bump"
        case .ptdesc: "struct ptdesc"
        case .percpu: "struct pcpudesc"
        case .acctmem: "struct acctmem"
        case .zpdesc: "struct zpdesc"
        case .managed: "struct mgdesc"
        case .misc, .buddy, .movable, .hwpoison: nil
        }
    }

    /// Whether the rest of the word is a pointer to a descriptor (as opposed to data
    /// kept in the word itself).
    public var isPointer: Bool { self != .misc && self != .buddy }
}

/// The subtypes of Misc memory (type 0), bits 4-10 of the word (revisions B and C).
public enum MemdescMiscSubtype: UInt8, CaseIterable, Sendable, Codable {
    case blank = 0, zeroPage = 1, unknown = 2, vmalloc = 3, `guard` = 4, offline = 5
    case kmallocLarge = 6, exact = 7, brd = 8
}

/// The three revisions of the memdesc type table, as data: they disagree, and none is
/// canonical (kernel-facts.md 5.2). Entry i names type i; nil is unassigned.
public enum MemdescTypeTable {
    public static let revisionA: [String?] = [
        "None/Reserved/Guard", "File", "Anon", "KSM", "Slab", "Free", "Movable", "VmallocMappable",
        nil, "PageTable", "NetPool", "HWPoison", nil, nil, nil, nil,
    ]
    public static let revisionB: [String?] = [
        "Misc", "Buddy", "File", "Anon", "KSM", "Slab", "Movable", "PageTable",
        "NetPool", "HWPoison", "PerCPU", nil, nil, nil, nil, nil,
    ]
    /// Revision C, the newest; `MemdescType` follows it.
    public static let revisionC: [String?] = (0..<16).map { MemdescType(rawValue: UInt8($0))?.description }
}

/// What went wrong encoding a memdesc word.
public enum MemdescError: Error, Equatable, CustomStringConvertible {
    case misalignedDescriptor(address: UInt64)
    case notAPointerType(MemdescType)
    case orderOutOfRange(Int)
    case highBitsOutOfRange(UInt64)

    public var description: String {
        switch self {
        case let .misalignedDescriptor(address):
            "memdesc descriptor address 0x\(String(address, radix: 16)) is not 16-byte aligned"
        case let .notAPointerType(type):
            "memdesc type \(type) keeps its data in the word and holds no pointer"
        case let .orderOutOfRange(order):
            "order \(order) does not fit in memdesc bits 12-17 (0...63)"
        case let .highBitsOutOfRange(bits):
            "section/node/zone bits 0x\(String(bits, radix: 16)) do not fit above bit 17"
        }
    }
}

/// One memdesc word, `struct page { u64 memdesc; }`.
public struct MemdescWord: RawRepresentable, Sendable, Hashable, Codable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }

    /// Bits 0-3: the type.
    public static let typeMask: UInt64 = 0xf
    /// Misc: bits 4-10, the subtype.
    public static let miscSubtypeShift: UInt64 = 4
    public static let miscSubtypeMask: UInt64 = 0x7f << 4
    /// Misc: bit 11, "the page may be mapped to userspace".
    public static let mappableBit: UInt64 = 1 << 11
    /// Misc: bits 12-17, the order.
    public static let orderShift: UInt64 = 12
    public static let orderMask: UInt64 = 0x3f << 12
    /// Misc: the high bits keep section/node/zone "as is done today with the page flags".
    public static let highShift: UInt64 = 18

    /// A pointer memdesc: `descriptor | type`. The descriptor comes from a 16-byte
    /// aligned slab, so its low 4 bits are free for the type.
    public static func pointer(to descriptor: UInt64, type: MemdescType) throws(MemdescError) -> MemdescWord {
        guard type.isPointer else { throw .notAPointerType(type) }
        guard descriptor & typeMask == 0 else { throw .misalignedDescriptor(address: descriptor) }
        return MemdescWord(rawValue: descriptor | UInt64(type.rawValue))
    }

    /// A Misc memdesc: subtype, mappable bit, order and the section/node/zone bits, all
    /// in the word. "There is no refcount for this kind of memory!"
    public static func misc(_ subtype: MemdescMiscSubtype, order: Int, mappable: Bool,
                            high: UInt64 = 0) throws(MemdescError) -> MemdescWord {
        guard (0...63).contains(order) else { throw .orderOutOfRange(order) }
        guard high < (1 << (64 - highShift)) else { throw .highBitsOutOfRange(high) }
        var raw = UInt64(MemdescType.misc.rawValue)
        raw |= UInt64(subtype.rawValue) << miscSubtypeShift
        if mappable { raw |= mappableBit }
        raw |= UInt64(order) << orderShift
        raw |= high << highShift
        return MemdescWord(rawValue: raw)
    }

    /// The type bits (0-15).
    public var typeBits: UInt8 { UInt8(rawValue & Self.typeMask) }
    /// The type, nil for the unassigned values 14 and 15.
    public var type: MemdescType? { MemdescType(rawValue: typeBits) }
    /// The descriptor's address for pointer types, nil otherwise.
    public var descriptor: UInt64? { (type?.isPointer ?? false) ? rawValue & ~Self.typeMask : nil }
    /// Misc only: the subtype (nil for another type or an unassigned subtype).
    public var miscSubtype: MemdescMiscSubtype? {
        type == .misc ? MemdescMiscSubtype(rawValue: UInt8((rawValue & Self.miscSubtypeMask) >> Self.miscSubtypeShift)) : nil
    }
    /// Misc only: whether the page may be mapped to userspace.
    public var isMappable: Bool { type == .misc && rawValue & Self.mappableBit != 0 }
    /// Misc only: the order.
    public var order: Int? { type == .misc ? Int((rawValue & Self.orderMask) >> Self.orderShift) : nil }
    /// Misc only: the section/node/zone bits above bit 17.
    public var highBits: UInt64? { type == .misc ? rawValue >> Self.highShift : nil }
}
