// Swap entries: swp_entry_t and its encoding (include/linux/swapops.h: swp_entry(),
// swp_type(), swp_offset()), and the swap_map constants of include/linux/swap.h.

/// Constants of include/linux/swap.h and swapops.h.
public enum SwapConstants {
    /// MAX_SWAPFILES_SHIFT.
    public static let maxSwapfilesShift = 5
    /// MAX_SWAPFILES with DEVICE_PRIVATE, MIGRATION, MEMORY_FAILURE and PTE markers all
    /// configured (x86-64 distribution kernels): 32 − 3 − 3 − 1 − 1 = 24. Types 24-31 are
    /// the special entries (HWPOISON, MIGRATION_*, DEVICE_*, PTE_MARKER).
    public static let maxSwapfiles = 24
    /// SWAP_HAS_CACHE: the slot has a folio in the swap cache (or one being added).
    public static let hasCache: UInt8 = 0x40
    /// COUNT_CONTINUED: the count continues in a continuation page.
    public static let countContinued: UInt8 = 0x80
    /// SWAP_MAP_MAX: the most references swap_map itself counts.
    public static let mapMax: UInt8 = 0x3e
    /// SWAP_MAP_BAD: a slot never to be used (the header page, bad blocks).
    public static let mapBad: UInt8 = 0x3f
    /// The page size of a slot.
    public static let slotSize = 4096

    /// SWP_TYPE_SHIFT = BITS_PER_XA_VALUE − MAX_SWAPFILES_SHIFT = (BITS_PER_LONG − 1) − 5:
    /// 58 on 64-bit, 26 on 32-bit.
    public static func typeShift(bitsPerLong: Int) -> Int { bitsPerLong - 1 - maxSwapfilesShift }
}

/// A swap entry: which device (`type`, 0..<MAX_SWAPFILES) and which slot (`offset`).
/// Linux: `swp_entry_t`. The PTE encoding is the page-table layer's; `value(bitsPerLong:)`
/// is the `swp_entry_t.val` that `folio->swap` (the `private` word) holds.
public struct SwapEntry: Hashable, Sendable, CustomStringConvertible {
    public let type: Int
    public let offset: UInt64

    public init(type: Int, offset: UInt64) {
        self.type = type
        self.offset = offset
    }

    /// Linux: `swp_entry(type, offset).val`: `(type << SWP_TYPE_SHIFT) | (offset & SWP_OFFSET_MASK)`.
    public func value(bitsPerLong: Int = 64) -> UInt64 {
        let shift = UInt64(SwapConstants.typeShift(bitsPerLong: bitsPerLong))
        return UInt64(truncatingIfNeeded: type) << shift | (offset & ((1 << shift) - 1))
    }

    /// Linux: `swp_type(entry)` / `swp_offset(entry)` of a `swp_entry_t.val`.
    public init(value: UInt64, bitsPerLong: Int = 64) {
        let shift = UInt64(SwapConstants.typeShift(bitsPerLong: bitsPerLong))
        type = Int(value >> shift)
        offset = value & ((1 << shift) - 1)
    }

    /// The entry of page `n` of a folio whose first entry this is.
    public func advanced(by n: Int) -> SwapEntry { SwapEntry(type: type, offset: offset &+ UInt64(n)) }

    public var description: String { "swap \(type):0x\(String(offset, radix: 16))" }
}
