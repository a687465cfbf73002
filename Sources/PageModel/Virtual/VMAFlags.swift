// vm_flags: the per-VMA flag word. Mirrors the VMA_*_BIT enum and VM_* macros of
// include/linux/mm.h (Linux v6.19), x86-64 with CONFIG_MMU, CONFIG_64BIT and
// CONFIG_MEM_SOFT_DIRTY; the arch-specific aliases of the high bits are left out.

/// The flags of one VMA (`vm_flags_t`), bit for bit as in the kernel.
public struct VMFlags: OptionSet, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    private init(bit: Int) { self.rawValue = 1 << UInt64(bit) }

    public static let none: VMFlags = []
    public static let read = VMFlags(bit: 0)          // VM_READ 0x1
    public static let write = VMFlags(bit: 1)         // VM_WRITE 0x2
    public static let exec = VMFlags(bit: 2)          // VM_EXEC 0x4
    public static let shared = VMFlags(bit: 3)        // VM_SHARED 0x8
    /// mprotect() relies on VM_MAYREAD >> 4 == VM_READ, and so for the other r/w/x bits.
    public static let mayRead = VMFlags(bit: 4)       // VM_MAYREAD 0x10
    public static let mayWrite = VMFlags(bit: 5)      // VM_MAYWRITE 0x20
    public static let mayExec = VMFlags(bit: 6)       // VM_MAYEXEC 0x40
    public static let mayShare = VMFlags(bit: 7)      // VM_MAYSHARE 0x80
    public static let growsDown = VMFlags(bit: 8)     // VM_GROWSDOWN 0x100
    public static let uffdMissing = VMFlags(bit: 9)   // VM_UFFD_MISSING 0x200
    public static let pfnMap = VMFlags(bit: 10)       // VM_PFNMAP 0x400
    public static let maybeGuard = VMFlags(bit: 11)   // VM_MAYBE_GUARD 0x800
    public static let uffdWP = VMFlags(bit: 12)       // VM_UFFD_WP 0x1000
    public static let locked = VMFlags(bit: 13)       // VM_LOCKED 0x2000
    public static let io = VMFlags(bit: 14)           // VM_IO 0x4000
    public static let seqRead = VMFlags(bit: 15)      // VM_SEQ_READ 0x8000
    public static let randRead = VMFlags(bit: 16)     // VM_RAND_READ 0x10000
    /// VM_DONTCOPY: set by MADV_DONTFORK, the VMA is not copied on fork.
    public static let dontCopy = VMFlags(bit: 17)     // VM_DONTCOPY 0x20000
    public static let dontExpand = VMFlags(bit: 18)   // VM_DONTEXPAND 0x40000
    public static let lockOnFault = VMFlags(bit: 19)  // VM_LOCKONFAULT 0x80000
    public static let account = VMFlags(bit: 20)      // VM_ACCOUNT 0x100000
    public static let noReserve = VMFlags(bit: 21)    // VM_NORESERVE 0x200000
    public static let hugeTLB = VMFlags(bit: 22)      // VM_HUGETLB 0x400000
    public static let sync = VMFlags(bit: 23)         // VM_SYNC 0x800000
    public static let arch1 = VMFlags(bit: 24)        // VM_ARCH_1 0x1000000
    public static let wipeOnFork = VMFlags(bit: 25)   // VM_WIPEONFORK 0x2000000
    public static let dontDump = VMFlags(bit: 26)     // VM_DONTDUMP 0x4000000
    public static let softDirty = VMFlags(bit: 27)    // VM_SOFTDIRTY 0x8000000
    public static let mixedMap = VMFlags(bit: 28)     // VM_MIXEDMAP 0x10000000
    public static let hugePage = VMFlags(bit: 29)     // VM_HUGEPAGE 0x20000000
    public static let noHugePage = VMFlags(bit: 30)   // VM_NOHUGEPAGE 0x40000000
    public static let mergeable = VMFlags(bit: 31)    // VM_MERGEABLE 0x80000000
    public static let allowAnyUncached = VMFlags(bit: 39) // VM_ALLOW_ANY_UNCACHED
    public static let droppable = VMFlags(bit: 40)    // VM_DROPPABLE
    public static let uffdMinor = VMFlags(bit: 41)    // VM_UFFD_MINOR
    public static let sealed = VMFlags(bit: 42)       // VM_SEALED

    /// VM_DONTFORK is the kernel's other name for VM_DONTCOPY.
    public static let dontFork = dontCopy
    /// VM_STACK: the stack grows down on x86-64.
    public static let stack = growsDown

    /// VM_ACCESS_FLAGS.
    public static let accessFlags: VMFlags = [.read, .write, .exec]
    /// VM_SPECIAL: special VMAs are neither mergeable nor mlock()able.
    public static let special: VMFlags = [.io, .dontExpand, .pfnMap, .mixedMap]
    /// VM_STICKY: if either side of a merge has one of these, the merged VMA has it.
    public static let sticky: VMFlags = [.softDirty, .maybeGuard]
    /// VM_IGNORE_MERGE: flags whose difference does not prevent a merge.
    public static let ignoreMerge: VMFlags = sticky
    /// VM_LOCKED_MASK: the flags mlock() uses.
    public static let lockedMask: VMFlags = [.locked, .lockOnFault]
    /// VM_COPY_ON_FORK: VMAs whose page tables fork must copy.
    public static let copyOnFork: VMFlags = [.pfnMap, .mixedMap, .uffdWP, .maybeGuard]
    /// VM_DATA_DEFAULT_FLAGS on x86-64 (VM_DATA_FLAGS_TSK_EXEC without READ_IMPLIES_EXEC).
    public static let dataDefault: VMFlags = [.read, .write, .mayRead, .mayWrite, .mayExec]
    /// VM_NO_KHUGEPAGED: VMAs khugepaged and MADV_COLLAPSE leave alone.
    public static let noKhugepaged: VMFlags = [.special, .hugeTLB]

    private static let names: [(VMFlags, String)] = [
        (.read, "rd"), (.write, "wr"), (.exec, "ex"), (.shared, "sh"), (.mayRead, "mr"),
        (.mayWrite, "mw"), (.mayExec, "me"), (.mayShare, "ms"), (.growsDown, "gd"),
        (.uffdMissing, "um"), (.pfnMap, "pf"), (.maybeGuard, "gu"), (.uffdWP, "uw"),
        (.locked, "lo"), (.io, "io"), (.seqRead, "sr"), (.randRead, "rr"), (.dontCopy, "dc"),
        (.dontExpand, "de"), (.lockOnFault, "lf"), (.account, "ac"), (.noReserve, "nr"),
        (.hugeTLB, "ht"), (.sync, "sf"), (.arch1, "ar"), (.wipeOnFork, "wf"), (.dontDump, "dd"),
        (.softDirty, "sd"), (.mixedMap, "mm"), (.hugePage, "hg"), (.noHugePage, "nh"),
        (.mergeable, "mg"), (.allowAnyUncached, "au"), (.droppable, "dp"), (.uffdMinor, "ui"),
        (.sealed, "sl"),
    ]

    /// The two-letter mnemonics of /proc/PID/smaps "VmFlags:" (fs/proc/task_mmu.c), space-separated.
    public var description: String {
        Self.names.filter { contains($0.0) }.map(\.1).joined(separator: " ")
    }

    /// calc_vm_prot_bits(): PROT_READ/WRITE/EXEC map onto VM_READ/WRITE/EXEC (same bit values).
    public init(prot: Prot) {
        self.rawValue = UInt64(prot.rawValue) & VMFlags.accessFlags.rawValue
    }

    /// calc_vm_flag_bits(): the VMA flags implied by mmap() flags.
    public init(mapFlags: MapFlags) {
        var flags: VMFlags = []
        if mapFlags.contains(.growsDown) { flags.insert(.growsDown) }
        if mapFlags.contains(.locked) { flags.insert(.locked) }
        if mapFlags.type == MapFlags.sharedValidate && mapFlags.contains(.sync) { flags.insert(.sync) }
        if mapFlags.contains(.stack) { flags.insert(.noHugePage) }
        self = flags
    }
}

/// The mm_struct's flag bits (`mm->flags`, MMF_*). Mirrors include/linux/mm_types.h (v6.19).
public struct MMFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    private init(bit: Int) { self.rawValue = 1 << UInt64(bit) }

    public static let vmMergeable = MMFlags(bit: 16)        // MMF_VM_MERGEABLE: KSM may merge
    public static let vmHugePage = MMFlags(bit: 17)         // MMF_VM_HUGEPAGE: registered with khugepaged
    public static let hasUprobes = MMFlags(bit: 19)         // MMF_HAS_UPROBES
    public static let oomSkip = MMFlags(bit: 21)            // MMF_OOM_SKIP
    public static let unstable = MMFlags(bit: 22)           // MMF_UNSTABLE
    public static let hugeZeroFolio = MMFlags(bit: 23)      // MMF_HUGE_ZERO_FOLIO
    public static let disableTHPCompletely = MMFlags(bit: 24) // MMF_DISABLE_THP_COMPLETELY
    public static let multiprocess = MMFlags(bit: 26)       // MMF_MULTIPROCESS
    /// MMF_HAS_PINNED (bit 27): FOLL_PIN has run on this mm; never cleared.
    public static let hasPinned = MMFlags(bit: 27)
    public static let hasMDWE = MMFlags(bit: 28)            // MMF_HAS_MDWE
    public static let vmMergeAny = MMFlags(bit: 30)         // MMF_VM_MERGE_ANY
    /// MMF_TOPDOWN (bit 31): get_unmapped_area searches top-down from mmap_base.
    public static let topDown = MMFlags(bit: 31)

    /// MMF_HAS_PINNED's bit number.
    public static let hasPinnedBit = 27
}
