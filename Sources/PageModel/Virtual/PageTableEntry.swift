// x86-64 page-table entries: the hardware bits (arch/x86/include/asm/pgtable_types.h),
// the swap-PTE format (arch/x86/include/asm/pgtable_64.h: __swp_entry(), __swp_type(),
// __swp_offset()), the arch-independent swp_entry_t (include/linux/swapops.h) and the
// special swap types (include/linux/swap.h; v6.19's softleaf types,
// include/linux/leafops.h).

/// One 8-byte entry of any level (pgd/pud/pmd/pte), as the hardware and the kernel see it.
public struct PTE: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt64
    @inline(__always) public init(rawValue: UInt64) { self.rawValue = rawValue }

    // Hardware and software bits [pgtable_types.h].
    public static let present: UInt64 = 1 << 0       // _PAGE_PRESENT
    public static let rw: UInt64 = 1 << 1            // _PAGE_RW
    public static let user: UInt64 = 1 << 2          // _PAGE_USER
    public static let accessed: UInt64 = 1 << 5      // _PAGE_ACCESSED
    public static let dirty: UInt64 = 1 << 6         // _PAGE_DIRTY
    public static let pse: UInt64 = 1 << 7           // _PAGE_PSE: a huge (leaf) pmd/pud
    public static let global: UInt64 = 1 << 8        // _PAGE_GLOBAL (= _PAGE_PROTNONE when !present)
    public static let special: UInt64 = 1 << 9       // _PAGE_SPECIAL (_PAGE_BIT_SOFTW1)
    public static let softDirty: UInt64 = 1 << 11    // _PAGE_SOFT_DIRTY (_PAGE_BIT_SOFTW3)
    public static let nx: UInt64 = 1 << 63           // _PAGE_NX
    /// PTE_PFN_MASK with 52 physical address bits (__PHYSICAL_MASK_SHIFT = 52).
    public static let pfnMask: UInt64 = ((1 << 52) - 1) & ~0xfff
    /// _PAGE_TABLE: what a pgd/pud/pmd entry pointing to a lower table carries
    /// (_PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY).
    public static let tableBits: UInt64 = present | rw | user | accessed | dirty
    /// In a swap PTE: _PAGE_SWP_EXCLUSIVE borrows _PAGE_PSE (bit 7),
    /// _PAGE_SWP_SOFT_DIRTY borrows _PAGE_RW (bit 1).
    public static let swpExclusive: UInt64 = pse
    public static let swpSoftDirty: UInt64 = rw

    /// pte_none().
    @inline(__always) public var isNone: Bool { rawValue == 0 }
    /// pte_present() (a PROT_NONE entry is present to the kernel; the model has none).
    @inline(__always) public var isPresent: Bool { rawValue & Self.present != 0 }
    /// pte_write().
    @inline(__always) public var isWritable: Bool { rawValue & Self.rw != 0 }
    /// pte_dirty() (hardware dirty).
    @inline(__always) public var isDirty: Bool { rawValue & Self.dirty != 0 }
    /// pte_young().
    @inline(__always) public var isYoung: Bool { rawValue & Self.accessed != 0 }
    /// pte_special(): no struct page behind it that may be refcounted (the zero page,
    /// VM_PFNMAP).
    @inline(__always) public var isSpecial: Bool { rawValue & Self.special != 0 }
    /// pmd_leaf()/pud_leaf(): a huge mapping at this level.
    @inline(__always) public var isLeaf: Bool { rawValue & (Self.present | Self.pse) == Self.present | Self.pse }
    /// pte_pfn(): the frame the entry points to (a page, or a lower table).
    @inline(__always) public var pfn: Int { Int(truncatingIfNeeded: (rawValue & Self.pfnMask) >> 12) }

    /// pfn_pte(pfn, prot) for a user page.
    @inline(__always)
    public static func page(pfn: Int, writable: Bool, dirty: Bool = false, special: Bool = false, huge: Bool = false) -> PTE {
        var value = UInt64(pfn) << 12 | present | user | accessed
        if writable { value |= rw }
        if dirty { value |= Self.dirty }
        if special { value |= Self.special }
        if huge { value |= pse }
        return PTE(rawValue: value)
    }

    /// A pgd/pud/pmd entry pointing to the table in `pfn` (pmd_populate()).
    @inline(__always)
    static func table(pfn: Int) -> PTE { PTE(rawValue: UInt64(pfn) << 12 | tableBits) }

    /// pte_wrprotect().
    @inline(__always) public var wrprotected: PTE { PTE(rawValue: rawValue & ~Self.rw) }
    /// pte_mkwrite() + pte_mkdirty().
    @inline(__always) public var madeWritableDirty: PTE { PTE(rawValue: rawValue | Self.rw | Self.dirty) }
    /// pte_mkclean() + pte_mkold().
    @inline(__always) public var madeCleanOld: PTE { PTE(rawValue: rawValue & ~(Self.dirty | Self.accessed)) }

    // MARK: Non-present entries

    /// SWP_TYPE_BITS and SWP_OFFSET_SHIFT of the x86-64 swap format: the type in bits
    /// 59-63, the inverted offset from bit 9 (SWP_OFFSET_FIRST_BIT = _PAGE_BIT_PROTNONE + 1)
    /// so that a swap PTE never looks like a present huge entry (L1TF mitigation).
    static let swpTypeBits: UInt64 = 5
    static let swpOffsetShift: UInt64 = 9 + swpTypeBits

    /// swp_entry_to_pte(): the arch format of an entry, plus the exclusive marker.
    @inline(__always)
    public static func swap(_ entry: SwapEntry, exclusive: Bool = false) -> PTE {
        var value = ((~entry.offset << swpOffsetShift) >> swpTypeBits) | (UInt64(entry.type) << (64 - swpTypeBits))
        value &= ~present   // the inverted offset never reaches bit 0 (shift >= 9), kept explicit
        if exclusive { value |= swpExclusive }
        return PTE(rawValue: value)
    }

    /// pte_to_swp_entry(); nil for none and present entries.
    @inline(__always)
    public var swapEntry: SwapEntry? {
        guard !isNone, !isPresent else { return nil }
        let cleared = rawValue & ~(Self.swpExclusive | Self.swpSoftDirty)
        let type = Int(cleared >> (64 - Self.swpTypeBits))
        let offset = (~cleared << Self.swpTypeBits) >> Self.swpOffsetShift
        return SwapEntry(type: type, offset: offset)
    }

    /// pte_swp_exclusive().
    @inline(__always) public var isSwapExclusive: Bool { !isPresent && rawValue & Self.swpExclusive != 0 }

    /// The v6.19 softleaf kind of a non-present entry (softleaf_type()).
    public var softLeaf: SoftLeaf {
        guard let entry = swapEntry else { return .none }
        return SoftLeaf(type: entry.type)
    }

    public var description: String {
        if isNone { return "pte_none" }
        if isPresent {
            var bits = "pfn:0x\(String(pfn, radix: 16))"
            if isWritable { bits += " W" }
            if isDirty { bits += " D" }
            if isYoung { bits += " A" }
            if isSpecial { bits += " S" }
            if isLeaf { bits += " PSE" }
            return bits
        }
        guard let entry = swapEntry else { return "?" }
        return "\(softLeaf) offset:0x\(String(entry.offset, radix: 16))\(isSwapExclusive ? " excl" : "")"
    }
}

extension SwapEntry {
    // The special types with every option enabled (MIGRATION, DEVICE_PRIVATE,
    // MEMORY_FAILURE, PTE markers): MAX_SWAPFILES = 24 [include/linux/swap.h].
    public static let hwpoisonType = 24
    public static let migrationReadType = 25
    public static let migrationReadExclusiveType = 26
    public static let migrationWriteType = 27
    public static let deviceWriteType = 28
    public static let deviceReadType = 29
    public static let deviceExclusiveType = 30
    public static let pteMarkerType = 31
}

/// `enum softleaf_type` [include/linux/leafops.h:19-35].
public enum SoftLeaf: Sendable, Equatable, CustomStringConvertible {
    case none, swap, migrationRead, migrationReadExclusive, migrationWrite
    case devicePrivateRead, devicePrivateWrite, deviceExclusive, hwpoison, marker

    init(type: Int) {
        switch type {
        case SwapEntry.hwpoisonType: self = .hwpoison
        case SwapEntry.migrationReadType: self = .migrationRead
        case SwapEntry.migrationReadExclusiveType: self = .migrationReadExclusive
        case SwapEntry.migrationWriteType: self = .migrationWrite
        case SwapEntry.deviceWriteType: self = .devicePrivateWrite
        case SwapEntry.deviceReadType: self = .devicePrivateRead
        case SwapEntry.deviceExclusiveType: self = .deviceExclusive
        case SwapEntry.pteMarkerType: self = .marker
        default: self = .swap
        }
    }

    /// softleaf_is_migration().
    public var isMigration: Bool { self == .migrationRead || self == .migrationReadExclusive || self == .migrationWrite }

    public var description: String {
        switch self {
        case .none: "none"
        case .swap: "swap"
        case .migrationRead: "migration-read"
        case .migrationReadExclusive: "migration-read-exclusive"
        case .migrationWrite: "migration-write"
        case .devicePrivateRead: "device-private-read"
        case .devicePrivateWrite: "device-private-write"
        case .deviceExclusive: "device-exclusive"
        case .hwpoison: "hwpoison"
        case .marker: "marker"
        }
    }
}

/// PTE markers [include/linux/swapops.h]: the offset bits of a SWP_PTE_MARKER entry.
public struct PTEMarker: OptionSet, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    public static let uffdWP = PTEMarker(rawValue: 1 << 0)     // PTE_MARKER_UFFD_WP
    public static let poisoned = PTEMarker(rawValue: 1 << 1)   // PTE_MARKER_POISONED
    public static let guardRegion = PTEMarker(rawValue: 1 << 2) // PTE_MARKER_GUARD
}

extension PTE {
    /// make_migration_entry_*(): a migration entry for `pfn`.
    static func migration(pfn: Int, write: Bool, exclusive: Bool) -> PTE {
        let type = write ? SwapEntry.migrationWriteType : exclusive ? SwapEntry.migrationReadExclusiveType : SwapEntry.migrationReadType
        return .swap(SwapEntry(type: type, offset: UInt64(pfn)))
    }

    /// make_pte_marker().
    static func marker(_ marker: PTEMarker) -> PTE { .swap(SwapEntry(type: SwapEntry.pteMarkerType, offset: marker.rawValue)) }
}
