// Checking what a census is told about the machine (a snapshot's INFO record, the /proc
// text files read with it) before any of it is used in arithmetic: every value the census
// multiplies or adds is bounded here, so the readers and the reports cannot overflow.
import PageLayout

/// A value of a census's input that is out of range, not yet tied to a path or an offset:
/// `file` is the /proc file it is in ("iomem", "vmstat", ...) or nil for the INFO fields,
/// `line` its 1-based line.
public struct InputProblem: Error, Equatable {
    public let file: String?
    public let line: Int?
    public let reason: String

    /// "iomem line 3: reason", or the reason alone for an INFO field.
    public var located: String {
        guard let file else { return reason }
        return line.map { "\(file) line \($0): \(reason)" } ?? "\(file): \(reason)"
    }
}

extension SnapshotInfo {
    /// PAGE_SHIFT from 12 (4 KiB, every arch's smallest) to 18 (256 KiB:
    /// arch/hexagon/Kconfig PAGE_SIZE_256KB, arch/powerpc/Kconfig PPC_256K_PAGES).
    public static let pageShiftRange = 12...18
    /// SECTION_SIZE_BITS: at most 29 in v6.19 (arch/arm64/include/asm/sparsemem.h with
    /// 64 KiB pages, arch/loongarch and arch/mips); 31 leaves room without overflow risk.
    public static let maxSectionSizeBits = 31
    /// MAX_PHYSMEM_BITS of every arch is at most 52 (x86_64 with 5-level paging,
    /// arch/x86/include/asm/sparsemem.h; arm64 with 52-bit PAs): no pfn lies above.
    public static let maxPhysmemBits = 52

    /// `uname -m` values of the architectures Linux v6.19 builds for (arch/*/Makefile's
    /// UTS_MACHINE), beyond the ones PageLab lays out.
    static let otherLinuxMachines: Set<String> = [
        "ppc", "ppc64", "ppc64le", "s390", "s390x", "riscv32", "riscv64", "loongarch64", "sparc", "sparc64",
        "parisc", "parisc64", "alpha", "m68k", "mips", "mips64", "mipsel", "mips64el", "sh", "sh4", "sh4a",
        "microblaze", "xtensa", "arc", "csky", "hexagon", "nios2", "openrisc", "or1k", "um", "aarch64_be", "armeb",
    ]

    /// The highest pfn count any machine of this page size can have: 2^(52 - PAGE_SHIFT).
    public var maxPfns: Int { 1 << (Self.maxPhysmemBits - pageSize.trailingZeroBitCount) }

    /// Throws the first value that is out of range: page_size not a power of two in
    /// 4 KiB ... 256 KiB, pages_per_section not a power of two with SECTION_SIZE_BITS at
    /// most 31, an arch Linux does not have, an iomem range beyond 2^52 or malformed
    /// numbers, zoneinfo and buddyinfo page counts beyond the largest machine, and a vmstat
    /// nr_zspages above the RAM iomem lists.
    public func validate() throws(InputProblem) {
        func info(_ reason: String) -> InputProblem { InputProblem(file: nil, line: nil, reason: reason) }
        guard pageSize > 0, pageSize.nonzeroBitCount == 1, Self.pageShiftRange.contains(pageSize.trailingZeroBitCount) else {
            throw info("page_size \(pageSize) is not a power of two from 4096 to 262144")
        }
        let pageShift = pageSize.trailingZeroBitCount
        guard pagesPerSection > 0, pagesPerSection.nonzeroBitCount == 1,
              pageShift + pagesPerSection.trailingZeroBitCount <= Self.maxSectionSizeBits else {
            throw info("pages_per_section \(pagesPerSection) is not a power of two with a section of at most 2^\(Self.maxSectionSizeBits) bytes")
        }
        guard layoutArch != nil || Self.otherLinuxMachines.contains(arch) else {
            throw info("arch \(arch.debugDescription) is not a Linux architecture's uname -m")
        }
        var ramPages = maxPfns
        if let text = text("iomem") { ramPages = try Iomem(validating: text, pageShift: pageShift).ramPages }
        if let text = text("zoneinfo") { try checkZoneinfo(text) }
        if let text = text("buddyinfo") { try checkBuddyinfo(text) }
        if let text = text("vmstat") {
            for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
                // As KeyValueFile.parse reads it: a trailing ':' on the name is dropped.
                guard words.count >= 2, words[0] == "nr_zspages" || words[0] == "nr_zspages:" else { continue }
                guard let value = Int(words[1]), value >= 0, value <= ramPages else {
                    throw InputProblem(file: "vmstat", line: index + 1,
                                       reason: "nr_zspages \(words[1]) is not a page count from 0 to the \(ramPages) RAM pages")
                }
            }
        }
    }

    /// zoneinfo's counters, the words `ZoneInfo.parse` reads (`pages free N`, `spanned N`,
    /// `present N`, `managed N`, `start_pfn: N`): each a count of pfns from 0 to `maxPfns`.
    private func checkZoneinfo(_ text: String) throws(InputProblem) {
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" })
            guard words.count >= 2 else { continue }
            let value: Substring? = switch words[0] {
            case "pages": words.count >= 3 && words[1] == "free" ? words[2] : nil
            case "spanned", "present", "managed", "start_pfn:": words[1]
            default: nil
            }
            guard let value else { continue }
            guard let number = Int(value), number >= 0, number <= maxPfns else {
                throw InputProblem(file: "zoneinfo", line: index + 1, reason: "\(words[0]) \(value) is not a pfn count from 0 to \(maxPfns), the largest machine's")
            }
        }
    }

    /// buddyinfo: free blocks per order; the pages they hold, summed, fit the largest machine.
    private func checkBuddyinfo(_ text: String) throws(InputProblem) {
        var pages = 0
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "," || $0 == "\t" })
            guard words.count > 4, words[0] == "Node", words[2] == "zone" else { continue }
            for (order, word) in words.dropFirst(4).enumerated() {
                guard let n = Int(word) else {
                    throw InputProblem(file: "buddyinfo", line: index + 1, reason: "\(word.debugDescription) is not a count of free blocks")
                }
                let (blockPages, o1) = order < 63 ? (1 << order, false) : (0, true)
                let (held, o2) = n.multipliedReportingOverflow(by: blockPages)
                let (sum, o3) = pages.addingReportingOverflow(held)
                guard n >= 0, !o1, !o2, !o3, sum <= maxPfns else {
                    throw InputProblem(file: "buddyinfo", line: index + 1,
                                       reason: "\(n) free blocks of order \(order) are more than the \(maxPfns) pfns of the largest machine")
                }
                pages = sum
            }
        }
    }
}
