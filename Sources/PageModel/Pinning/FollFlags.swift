// The FOLL_* flags of get_user_pages() and pin_user_pages() with the kernel's values
// (include/linux/mm_types.h:1761-1804 for the public ones, mm/internal.h:1444-1461 for the
// internal ones, v6.19), and is_valid_gup_args() (mm/gup.c:2500-2543), the check every
// external GUP entry point makes first.

/// `enum { FOLL_WRITE = 1 << 0, ... }`: how GUP looks up and references user pages.
public struct FollFlags: OptionSet, Sendable, Hashable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    // Public flags [include/linux/mm_types.h:1761-1804].
    /// FOLL_WRITE: check that the PTE is writable.
    public static let write = FollFlags(rawValue: 1 << 0)
    /// FOLL_GET: take a plain reference on each page (`get_page()`).
    public static let get = FollFlags(rawValue: 1 << 1)
    /// FOLL_DUMP: give an error on a hole that would be zero (core dumps).
    public static let dump = FollFlags(rawValue: 1 << 2)
    /// FOLL_FORCE: ignore the VMA's permissions (ptrace), COW mappings only for writes.
    public static let force = FollFlags(rawValue: 1 << 3)
    /// FOLL_NOWAIT: start I/O but do not wait for it.
    public static let nowait = FollFlags(rawValue: 1 << 4)
    /// FOLL_NOFAULT: never fault a page in; stop where one is missing.
    public static let nofault = FollFlags(rawValue: 1 << 5)
    /// FOLL_HWPOISON: report a hardware-poisoned page as EHWPOISON (else EFAULT).
    public static let hwpoison = FollFlags(rawValue: 1 << 6)
    /// FOLL_ANON: refuse file mappings.
    public static let anon = FollFlags(rawValue: 1 << 7)
    /// FOLL_LONGTERM: the pages are held for an indefinite time (RDMA, VFIO, io_uring).
    public static let longterm = FollFlags(rawValue: 1 << 8)
    /// FOLL_SPLIT_PMD: split a huge PMD before returning its pages.
    public static let splitPMD = FollFlags(rawValue: 1 << 9)
    /// FOLL_PCI_P2PDMA: PCI peer-to-peer DMA pages are allowed.
    public static let pciP2PDMA = FollFlags(rawValue: 1 << 10)
    /// FOLL_INTERRUPTIBLE: generic signals may interrupt the faults.
    public static let interruptible = FollFlags(rawValue: 1 << 11)
    /// FOLL_HONOR_NUMA_FAULT: take NUMA hinting faults even for GUP.
    public static let honorNUMAFault = FollFlags(rawValue: 1 << 12)

    // Internal flags [mm/internal.h:1444-1461]: set by the GUP entry points only.
    /// FOLL_TOUCH: mark the page accessed (and dirty for a write).
    public static let touch = FollFlags(rawValue: 1 << 16)
    /// FOLL_TRIED: a retry after the mmap_lock was dropped.
    public static let tried = FollFlags(rawValue: 1 << 17)
    /// FOLL_REMOTE: the mm is not the caller's (`*_remote()`).
    public static let remote = FollFlags(rawValue: 1 << 18)
    /// FOLL_PIN: pin for DMA (`pin_user_pages*()`), released with `unpin_user_page()`.
    public static let pin = FollFlags(rawValue: 1 << 19)
    /// FOLL_FAST_ONLY: GUP-fast only, no slow-path fallback.
    public static let fastOnly = FollFlags(rawValue: 1 << 20)
    /// FOLL_UNLOCKABLE: the mmap_lock may be dropped (a `locked` pointer was passed).
    public static let unlockable = FollFlags(rawValue: 1 << 21)
    /// FOLL_MADV_POPULATE: MADV_POPULATE_(READ|WRITE) does its own VMA checks.
    public static let madvPopulate = FollFlags(rawValue: 1 << 22)

    /// `INTERNAL_GUP_FLAGS`: the flags no caller may pass [mm/internal.h:1460].
    public static let internalFlags: FollFlags = [.touch, .tried, .remote, .pin, .fastOnly, .unlockable, .madvPopulate]

    /// The flags `gup_fast_fallback()` accepts; anything else is a WARN and EINVAL
    /// [mm/gup.c: gup_fast_fallback()].
    public static let fastAllowed: FollFlags = [.write, .longterm, .force, .pin, .get, .fastOnly, .nofault, .pciP2PDMA, .honorNUMAFault]

    private static let names: [(FollFlags, String)] = [
        (.write, "FOLL_WRITE"), (.get, "FOLL_GET"), (.dump, "FOLL_DUMP"), (.force, "FOLL_FORCE"),
        (.nowait, "FOLL_NOWAIT"), (.nofault, "FOLL_NOFAULT"), (.hwpoison, "FOLL_HWPOISON"), (.anon, "FOLL_ANON"),
        (.longterm, "FOLL_LONGTERM"), (.splitPMD, "FOLL_SPLIT_PMD"), (.pciP2PDMA, "FOLL_PCI_P2PDMA"),
        (.interruptible, "FOLL_INTERRUPTIBLE"), (.honorNUMAFault, "FOLL_HONOR_NUMA_FAULT"),
        (.touch, "FOLL_TOUCH"), (.tried, "FOLL_TRIED"), (.remote, "FOLL_REMOTE"), (.pin, "FOLL_PIN"),
        (.fastOnly, "FOLL_FAST_ONLY"), (.unlockable, "FOLL_UNLOCKABLE"), (.madvPopulate, "FOLL_MADV_POPULATE"),
    ]

    /// "FOLL_WRITE|FOLL_PIN", or "0".
    public var description: String {
        var rest = self
        var parts: [String] = []
        for (flag, name) in Self.names where contains(flag) {
            parts.append(name)
            rest.subtract(flag)
        }
        if !rest.isEmpty { parts.append("0x" + String(rest.rawValue, radix: 16)) }
        return parts.isEmpty ? "0" : parts.joined(separator: "|")
    }
}

extension Machine {
    /// Linux: `is_valid_gup_args(pages, locked, gup_flags_p, to_set)` [mm/gup.c:2500-2543].
    /// Each rejection is a `WARN_ON_ONCE` (recorded as a `.warn` diagnostic) and makes the
    /// entry point return -EINVAL:
    /// - an internal flag passed by the caller;
    /// - `locked` given but not 1 (a valid one adds FOLL_UNLOCKABLE);
    /// - FOLL_PIN and FOLL_GET together;
    /// - FOLL_LONGTERM without FOLL_PIN;
    /// - FOLL_GET or FOLL_PIN without a `pages` array;
    /// - FOLL_LONGTERM with FOLL_PCI_P2PDMA.
    /// On success `flags` gains `toSet` (and FOLL_UNLOCKABLE).
    public func isValidGUPArgs(pages: Bool, locked: Int?, flags: inout FollFlags, toSet: FollFlags) -> Bool {
        var gupFlags = flags
        func warn(_ why: String) -> Bool {
            // Each condition is its own WARN_ON_ONCE() site.
            diagnostics.recordOnce(site: "is_valid_gup_args: \(why)",
                                   Diagnostic(kind: .warn, reason: "is_valid_gup_args: WARN_ON_ONCE(\(why)) (gup_flags \(gupFlags)): EINVAL"))
            return false
        }
        if !gupFlags.intersection(FollFlags.internalFlags).isEmpty { return warn("gup_flags & INTERNAL_GUP_FLAGS") }
        gupFlags.formUnion(toSet)
        if let locked {
            if locked != 1 { return warn("*locked != 1") }
            gupFlags.insert(.unlockable)
        }
        if gupFlags.isSuperset(of: [.pin, .get]) { return warn("(gup_flags & (FOLL_PIN | FOLL_GET)) == (FOLL_PIN | FOLL_GET)") }
        if !gupFlags.contains(.pin), gupFlags.contains(.longterm) { return warn("!(gup_flags & FOLL_PIN) && (gup_flags & FOLL_LONGTERM)") }
        if !gupFlags.isDisjoint(with: [.get, .pin]), !pages { return warn("(gup_flags & (FOLL_GET | FOLL_PIN)) && !pages") }
        if gupFlags.isSuperset(of: [.longterm, .pciP2PDMA]) { return warn("(gup_flags & FOLL_LONGTERM) && (gup_flags & FOLL_PCI_P2PDMA)") }
        flags = gupFlags
        return true
    }
}
