// PROT_*, MAP_*, MREMAP_* and MADV_* with the kernel's values.
// Mirrors include/uapi/asm-generic/mman-common.h, include/uapi/linux/mman.h and
// arch/x86/include/uapi/asm/mman.h (Linux v6.19).

/// mmap()/mprotect() protection bits (`PROT_*`).
public struct Prot: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let none: Prot = []                          // PROT_NONE 0x0
    public static let read = Prot(rawValue: 0x1)               // PROT_READ
    public static let write = Prot(rawValue: 0x2)              // PROT_WRITE
    public static let exec = Prot(rawValue: 0x4)               // PROT_EXEC
    public static let sem = Prot(rawValue: 0x8)                // PROT_SEM
    public static let growsDown = Prot(rawValue: 0x0100_0000)  // PROT_GROWSDOWN
    public static let growsUp = Prot(rawValue: 0x0200_0000)    // PROT_GROWSUP
}

/// mmap() flags (`MAP_*`), x86-64 values.
public struct MapFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let shared = MapFlags(rawValue: 0x01)             // MAP_SHARED
    public static let `private` = MapFlags(rawValue: 0x02)          // MAP_PRIVATE
    /// MAP_SHARED_VALIDATE (0x03): MAP_SHARED that rejects unknown flags with EOPNOTSUPP.
    public static let sharedValidate = MapFlags(rawValue: 0x03)
    public static let droppable = MapFlags(rawValue: 0x08)          // MAP_DROPPABLE
    /// MAP_TYPE (0x0f): the mask of the mapping type.
    public static let typeMask = MapFlags(rawValue: 0x0f)
    public static let fixed = MapFlags(rawValue: 0x10)              // MAP_FIXED
    public static let anonymous = MapFlags(rawValue: 0x20)          // MAP_ANONYMOUS
    public static let bit32 = MapFlags(rawValue: 0x40)              // MAP_32BIT (x86)
    public static let growsDown = MapFlags(rawValue: 0x0100)        // MAP_GROWSDOWN
    public static let denyWrite = MapFlags(rawValue: 0x0800)        // MAP_DENYWRITE
    public static let executable = MapFlags(rawValue: 0x1000)       // MAP_EXECUTABLE
    public static let locked = MapFlags(rawValue: 0x2000)           // MAP_LOCKED
    public static let noReserve = MapFlags(rawValue: 0x4000)        // MAP_NORESERVE
    public static let populate = MapFlags(rawValue: 0x8000)         // MAP_POPULATE
    public static let nonBlock = MapFlags(rawValue: 0x10000)        // MAP_NONBLOCK
    public static let stack = MapFlags(rawValue: 0x20000)           // MAP_STACK
    public static let hugeTLB = MapFlags(rawValue: 0x40000)         // MAP_HUGETLB
    public static let sync = MapFlags(rawValue: 0x80000)            // MAP_SYNC
    public static let fixedNoReplace = MapFlags(rawValue: 0x100000) // MAP_FIXED_NOREPLACE
    public static let uninitialized = MapFlags(rawValue: 0x4000000) // MAP_UNINITIALIZED

    /// LEGACY_MAP_MASK (include/linux/mman.h): the flags MAP_SHARED has always accepted.
    public static let legacyMask: MapFlags = [
        .shared, .private, .fixed, .anonymous, .denyWrite, .executable, .uninitialized,
        .growsDown, .locked, .noReserve, .populate, .nonBlock, .stack, .hugeTLB,
    ]

    /// `flags & MAP_TYPE`.
    public var type: MapFlags { intersection(.typeMask) }
}

/// mremap() flags (`MREMAP_*`).
public struct MRemapFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let mayMove = MRemapFlags(rawValue: 1)    // MREMAP_MAYMOVE
    public static let fixed = MRemapFlags(rawValue: 2)      // MREMAP_FIXED
    public static let dontUnmap = MRemapFlags(rawValue: 4)  // MREMAP_DONTUNMAP
}

/// madvise() advice values (`MADV_*`). A raw value, not an enum, so that an unknown
/// value can be passed and rejected with EINVAL as the kernel does.
public struct Advice: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let normal = Advice(rawValue: 0)          // MADV_NORMAL
    public static let random = Advice(rawValue: 1)          // MADV_RANDOM
    public static let sequential = Advice(rawValue: 2)      // MADV_SEQUENTIAL
    public static let willNeed = Advice(rawValue: 3)        // MADV_WILLNEED
    public static let dontNeed = Advice(rawValue: 4)        // MADV_DONTNEED
    public static let free = Advice(rawValue: 8)            // MADV_FREE
    public static let remove = Advice(rawValue: 9)          // MADV_REMOVE
    public static let dontFork = Advice(rawValue: 10)       // MADV_DONTFORK
    public static let doFork = Advice(rawValue: 11)         // MADV_DOFORK
    public static let mergeable = Advice(rawValue: 12)      // MADV_MERGEABLE
    public static let unmergeable = Advice(rawValue: 13)    // MADV_UNMERGEABLE
    public static let hugePage = Advice(rawValue: 14)       // MADV_HUGEPAGE
    public static let noHugePage = Advice(rawValue: 15)     // MADV_NOHUGEPAGE
    public static let dontDump = Advice(rawValue: 16)       // MADV_DONTDUMP
    public static let doDump = Advice(rawValue: 17)         // MADV_DODUMP
    public static let wipeOnFork = Advice(rawValue: 18)     // MADV_WIPEONFORK
    public static let keepOnFork = Advice(rawValue: 19)     // MADV_KEEPONFORK
    public static let cold = Advice(rawValue: 20)           // MADV_COLD
    public static let pageOut = Advice(rawValue: 21)        // MADV_PAGEOUT
    public static let populateRead = Advice(rawValue: 22)   // MADV_POPULATE_READ
    public static let populateWrite = Advice(rawValue: 23)  // MADV_POPULATE_WRITE
    public static let dontNeedLocked = Advice(rawValue: 24) // MADV_DONTNEED_LOCKED
    public static let collapse = Advice(rawValue: 25)       // MADV_COLLAPSE
    public static let hwPoison = Advice(rawValue: 100)      // MADV_HWPOISON
    public static let softOffline = Advice(rawValue: 101)   // MADV_SOFT_OFFLINE
    public static let guardInstall = Advice(rawValue: 102)  // MADV_GUARD_INSTALL
    public static let guardRemove = Advice(rawValue: 103)   // MADV_GUARD_REMOVE

    private static let names: [Int32: String] = [
        0: "MADV_NORMAL", 1: "MADV_RANDOM", 2: "MADV_SEQUENTIAL", 3: "MADV_WILLNEED",
        4: "MADV_DONTNEED", 8: "MADV_FREE", 9: "MADV_REMOVE", 10: "MADV_DONTFORK",
        11: "MADV_DOFORK", 12: "MADV_MERGEABLE", 13: "MADV_UNMERGEABLE", 14: "MADV_HUGEPAGE",
        15: "MADV_NOHUGEPAGE", 16: "MADV_DONTDUMP", 17: "MADV_DODUMP", 18: "MADV_WIPEONFORK",
        19: "MADV_KEEPONFORK", 20: "MADV_COLD", 21: "MADV_PAGEOUT", 22: "MADV_POPULATE_READ",
        23: "MADV_POPULATE_WRITE", 24: "MADV_DONTNEED_LOCKED", 25: "MADV_COLLAPSE",
        100: "MADV_HWPOISON", 101: "MADV_SOFT_OFFLINE", 102: "MADV_GUARD_INSTALL",
        103: "MADV_GUARD_REMOVE",
    ]

    public var description: String { Self.names[rawValue] ?? "MADV_\(rawValue)" }
}
