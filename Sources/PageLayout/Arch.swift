// Architecture constants: arch/*/include/asm/sparsemem.h, arch/*/Kconfig.

/// The architectures PageLab knows. Each fixes BITS_PER_LONG, the sparsemem constants
/// and whether struct page is aligned to two words.
public enum Arch: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case x86_64
    /// 32-bit x86 without PAE (HIGHMEM4G or no highmem).
    case i386
    /// 32-bit x86 with X86_PAE (HIGHMEM64G).
    case i386PAE = "i386-pae"
    /// 32-bit ARM.
    case arm
    case arm64

    public var description: String { rawValue }

    /// BITS_PER_LONG.
    public var bitsPerLong: Int {
        switch self {
        case .x86_64, .arm64: 64
        case .i386, .i386PAE, .arm: 32
        }
    }

    /// SECTION_SIZE_BITS [arch/x86/include/asm/sparsemem.h: 27 on x86_64, 26 on x86_32,
    /// 29 with PAE; arch/arm/include/asm/sparsemem.h: 28; arch/arm64/include/asm/sparsemem.h:
    /// 27 with 4 KiB pages].
    public var sectionSizeBits: Int {
        switch self {
        case .x86_64, .arm64: 27
        case .i386: 26
        case .i386PAE: 29
        case .arm: 28
        }
    }

    /// MAX_PHYSMEM_BITS with the default page-table depth [x86_64: 46, or 52 with
    /// 5-level paging (see `maxPhysmemBits(fiveLevel:)`); x86_32: 32, 36 with PAE;
    /// arm: 36; arm64: 48, 52 with 52-bit PAs].
    public var maxPhysmemBits: Int {
        switch self {
        case .x86_64, .arm64: self == .x86_64 ? 46 : 48
        case .i386: 32
        case .i386PAE, .arm: 36
        }
    }

    /// CONFIG_HAVE_ALIGNED_STRUCT_PAGE: x86 selects it unconditionally
    /// [arch/x86/Kconfig:191], arm64 selects it; 32-bit ARM does not.
    public var haveAlignedStructPage: Bool { self != .arm }

    /// Parses an arch name as the command line spells it.
    public static func named(_ name: String) throws(LayoutError) -> Arch {
        guard let arch = Arch(rawValue: name) else {
            throw .unknownName(kind: "arch", name: name, known: allCases.map(\.rawValue))
        }
        return arch
    }
}
