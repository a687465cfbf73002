// Mirrors include/uapi/linux/kernel-page-flags.h and the kernel-internal bits of
// fs/proc/page.c (KPF_RESERVED ... KPF_ARCH_3): one bit per flag in /proc/kpageflags.

/// The flags of one pfn as /proc/kpageflags reports them (8 bytes per pfn).
public struct KernelPageFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt64
    public init(rawValue: UInt64) { self.rawValue = rawValue }
    private init(bit: UInt64) { rawValue = 1 << bit }

    public static let locked = KernelPageFlags(bit: 0)
    public static let error = KernelPageFlags(bit: 1)
    public static let referenced = KernelPageFlags(bit: 2)
    public static let uptodate = KernelPageFlags(bit: 3)
    public static let dirty = KernelPageFlags(bit: 4)
    public static let lru = KernelPageFlags(bit: 5)
    public static let active = KernelPageFlags(bit: 6)
    public static let slab = KernelPageFlags(bit: 7)
    public static let writeback = KernelPageFlags(bit: 8)
    public static let reclaim = KernelPageFlags(bit: 9)
    public static let buddy = KernelPageFlags(bit: 10)
    public static let mmap = KernelPageFlags(bit: 11)
    public static let anon = KernelPageFlags(bit: 12)
    public static let swapcache = KernelPageFlags(bit: 13)
    public static let swapbacked = KernelPageFlags(bit: 14)
    public static let compoundHead = KernelPageFlags(bit: 15)
    public static let compoundTail = KernelPageFlags(bit: 16)
    public static let huge = KernelPageFlags(bit: 17)
    public static let unevictable = KernelPageFlags(bit: 18)
    public static let hwpoison = KernelPageFlags(bit: 19)
    public static let nopage = KernelPageFlags(bit: 20)
    public static let ksm = KernelPageFlags(bit: 21)
    public static let thp = KernelPageFlags(bit: 22)
    public static let offline = KernelPageFlags(bit: 23)
    public static let zeroPage = KernelPageFlags(bit: 24)
    public static let idle = KernelPageFlags(bit: 25)
    public static let pgtable = KernelPageFlags(bit: 26)

    // Kernel-internal bits, exported raw (fs/proc/page.c, include/linux/kernel-page-flags.h).
    public static let reserved = KernelPageFlags(bit: 32)
    public static let mlocked = KernelPageFlags(bit: 33)
    public static let mappedToDisk = KernelPageFlags(bit: 34)
    public static let `private` = KernelPageFlags(bit: 35)
    public static let private2 = KernelPageFlags(bit: 36)
    public static let ownerPrivate = KernelPageFlags(bit: 37)
    public static let arch = KernelPageFlags(bit: 38)
    public static let uncached = KernelPageFlags(bit: 39)
    public static let softdirty = KernelPageFlags(bit: 40)
    public static let arch2 = KernelPageFlags(bit: 41)
    public static let arch3 = KernelPageFlags(bit: 42)
}
