// The summary table of the kernel's tools/mm/page-types.c (show_summary()), byte for
// byte, so that scripts written for page-types read `pagelab census --page-types`.
import PageCensus

public enum PageTypesTable {
    /// page-types' HASH_SHIFT: the table its rows come out of, in slot order.
    static let hashSize = 1 << 13

    /// The table for `census`: flag combinations after page-types' `well_known_flags()`
    /// (default) or `expand_overloaded_flags()` (`raw`), in page-types' own row order
    /// (the slot order of its open-addressing hash table, filled in pfn order), then the
    /// `total` line. MB is `(pages * page_size) >> 20`, as in `pages2mb()`.
    public static func render(_ census: Census, raw: Bool = false) -> String {
        var slotFlags = [UInt64](repeating: 0, count: hashSize)
        var slotPages = [Int](repeating: 0, count: hashSize)
        var total = 0
        for entry in census.flagCombinations {
            let flags = KernelPageFlags(rawValue: entry.flags)
            let shown = (raw ? flags.expandedOverloaded : flags.wellKnown).rawValue
            slotPages[slot(shown, &slotFlags)] += entry.pages
            total += entry.pages
        }
        let pageSize = census.pageSize
        var out = "             flags\tpage-count       MB  symbolic-flags\t\t\tlong-symbolic-flags\n"
        for i in 0..<hashSize where slotPages[i] > 0 {
            let flags = KernelPageFlags(rawValue: slotFlags[i])
            out += "0x" + hex16(slotFlags[i]) + "\t" + pad(slotPages[i], 10) + " " + pad((slotPages[i] * pageSize) >> 20, 8)
            out += "  " + flags.symbolicName + "\t" + flags.longName + "\n"
        }
        out += "             total\t" + pad(total, 10) + " " + pad((total * pageSize) >> 20, 8) + "\n"
        return out
    }

    /// page-types' `hash_slot()`: slot 0 is flags 0; others probe linearly from
    /// `flags & HASH_MASK`, skipping slot 0.
    static func slot(_ flags: UInt64, _ table: inout [UInt64]) -> Int {
        if flags == 0 { return 0 }
        var k = Int(flags & UInt64(hashSize - 1))
        for _ in 1..<hashSize {
            if k == 0 || k >= hashSize { k = 1 }
            if table[k] == 0 { table[k] = flags; return k }
            if table[k] == flags { return k }
            k += 1
        }
        return 0  // more than 8191 combinations: page-types itself gives up here
    }

    static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, 16 - digits.count)) + digits
    }

    static func pad(_ value: Int, _ width: Int) -> String {
        let text = String(value)
        return String(repeating: " ", count: max(0, width - text.count)) + text
    }
}
