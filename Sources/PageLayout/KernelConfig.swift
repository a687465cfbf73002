// A kernel configuration (the .config that scripts/kconfig writes, or /proc/config.gz) and
// the constants PageLab derives from it: arch, BITS_PER_LONG, arch/*/include/asm/sparsemem.h,
// the memory model, and the LayoutConfig of the descriptor layouts.

/// A parsed kernel configuration: the value of every `CONFIG_` option it sets, plus the
/// architecture constants that follow from them.
///
/// The text format is the one `scripts/kconfig/confdata.c` writes: `CONFIG_X=y`, `=m`,
/// `="string"`, `=123`, `=0x1f`, `# CONFIG_X is not set`, comments and blank lines. As in
/// `conf_read_simple()`, a later line for the same option overrides an earlier one.
public struct KernelConfig: Sendable, Equatable {
    /// The value of one option.
    public enum Value: Sendable, Equatable, CustomStringConvertible {
        /// `=y`.
        case yes
        /// `=m` (a tristate built as a module: enabled for every `IS_ENABLED()` test).
        case module
        /// `# CONFIG_X is not set`, or `=n`.
        case no
        /// A decimal or `0x` hexadecimal integer.
        case number(Int)
        /// A quoted string, unescaped; also any other unquoted text.
        case string(String)

        public var description: String {
            switch self {
            case .yes: "y"
            case .module: "m"
            case .no: "n"
            case .number(let value): String(value)
            case .string(let text): "\"\(text)\""
            }
        }
    }

    /// Where the configuration came from, as PageLab reports it: a path, or `preset NAME`.
    public let source: String
    /// Every option the configuration mentions, keyed by name without the `CONFIG_` prefix.
    public let options: [String: Value]
    /// The architecture, from CONFIG_X86_64 / CONFIG_X86_32 (+ X86_PAE) / CONFIG_ARM64 / CONFIG_ARM.
    public let arch: Arch
    /// The release its header line names (`# Linux/x86 6.1.192 Kernel Configuration`), if any.
    public internal(set) var headerRelease: String?
    /// The kernel version whose page flags and descriptors apply (KernelConfigVersion.swift
    /// chooses it); v6.19 unless chosen.
    public var kernel: KernelVersion = .reference

    /// Parses kconfig text. Throws `.malformedFile` when a line is not kconfig syntax, when
    /// no `CONFIG_` option is set at all, when no supported architecture is named, or when
    /// `validate(whatIf:)` finds an option out of its Kconfig type or range.
    public init(text: String, source: String, whatIf: Bool = false) throws(LayoutError) {
        var options: [String: Value] = [:]
        var lineNumber = 0
        var header: String?
        // isNewline splits on "\n" and on "\r\n", which Swift treats as one Character.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline) {
            lineNumber += 1
            let line = rawLine.trimmingWhitespace()
            guard !line.isEmpty else { continue }
            if line.hasPrefix("#") {
                // "# CONFIG_FOO is not set"; every other comment is ignored, as in confdata.c.
                if let name = Self.notSetName(line) { options[name] = .no }
                else if header == nil { header = KernelVersion.release(fromHeader: line) }
                continue
            }
            guard let (name, value) = Self.assignment(line) else {
                let shown = line.count > 40 ? String(line.prefix(40)) + "…" : line
                throw .malformedFile(path: source,
                                     reason: "line \(lineNumber) is not a kconfig line: \(shown.debugDescription)")
            }
            options[name] = value
        }
        guard !options.isEmpty else {
            throw .malformedFile(path: source, reason: "no CONFIG_ option in it; not a kernel configuration")
        }
        try self.init(options: options, source: source)
        headerRelease = header
        try validate(whatIf: whatIf)
    }

    /// A configuration from option values (names without `CONFIG_`).
    public init(options: [String: Value], source: String) throws(LayoutError) {
        self.options = options
        self.source = source
        self.arch = try Self.detectArch(options, source: source)
    }

    /// The same configuration with some options changed (a `.no` value unsets one).
    /// Used to ask "what if" of a preset.
    public func setting(_ changes: [String: Value]) throws(LayoutError) -> KernelConfig {
        var changed = try KernelConfig(options: options.merging(changes) { $1 }, source: source + " (modified)")
        changed.headerRelease = headerRelease
        changed.kernel = kernel
        return changed
    }

    // MARK: Reading options

    /// The value of `CONFIG_<name>`, or nil when the configuration does not mention it.
    public subscript(name: String) -> Value? { options[name] }

    /// `IS_ENABLED(CONFIG_<name>)`: set to `y` or `m`.
    public func isEnabled(_ name: String) -> Bool {
        switch options[name] {
        case .yes?, .module?: true
        default: false
        }
    }

    /// The integer value of `CONFIG_<name>`, or nil when it is not set to a number.
    public func number(_ name: String) -> Int? {
        if case .number(let value)? = options[name] { return value }
        return nil
    }

    // MARK: Arch constants

    /// BITS_PER_LONG: 64 with CONFIG_64BIT.
    public var bitsPerLong: Int { arch.bitsPerLong }

    /// The memory model: how pfn_to_page() finds a descriptor, and whether the section
    /// number must be kept in page->flags.
    public enum MemoryModel: String, Sendable, Equatable, Codable {
        /// CONFIG_FLATMEM: one mem_map array.
        case flatmem = "FLATMEM"
        /// CONFIG_SPARSEMEM without VMEMMAP ("classic sparse"): page->flags holds the section.
        case sparsemem = "SPARSEMEM"
        /// CONFIG_SPARSEMEM_VMEMMAP: the memmap is virtually contiguous at `vmemmap`.
        case sparsememVmemmap = "SPARSEMEM_VMEMMAP"
    }

    public var memoryModel: MemoryModel {
        if isEnabled("SPARSEMEM_VMEMMAP") { return .sparsememVmemmap }
        if isEnabled("SPARSEMEM") { return .sparsemem }
        return .flatmem
    }

    /// SECTION_SIZE_BITS [arch/*/include/asm/sparsemem.h]; arm64 uses 29 with 64 KiB pages.
    public var sectionSizeBits: Int {
        if arch == .arm64, isEnabled("ARM64_64K_PAGES") { return 29 }
        return arch.sectionSizeBits
    }

    /// MAX_PHYSMEM_BITS [arch/*/include/asm/sparsemem.h]. On x86_64 it is
    /// `pgtable_l5_enabled() ? 52 : 46`, decided at boot; PageLab takes the upper bound when
    /// the kernel is built for 5-level paging (CONFIG_PGTABLE_LEVELS=5 or CONFIG_X86_5LEVEL).
    /// On arm64 it is CONFIG_ARM64_PA_BITS.
    public var maxPhysmemBits: Int {
        switch arch {
        case .x86_64:
            arch.maxPhysmemBits(fiveLevel: number("PGTABLE_LEVELS") == 5 || isEnabled("X86_5LEVEL"))
        case .arm64:
            number("ARM64_PA_BITS") ?? arch.maxPhysmemBits
        default:
            arch.maxPhysmemBits
        }
    }

    /// CONFIG_HAVE_ALIGNED_STRUCT_PAGE, selected by the arch (x86, arm64; not 32-bit ARM).
    public var haveAlignedStructPage: Bool { arch.haveAlignedStructPage }

    /// The inputs of the descriptor layouts. `lastCpupidNotInPageFlags` comes from the
    /// page->flags bit budget of this configuration (LAST_CPUPID_NOT_IN_PAGE_FLAGS adds
    /// `int _last_cpupid` to struct page); `FlagsBudget.layoutConfig` gives the same with
    /// "what if" flags added.
    public var layoutConfig: LayoutConfig {
        LayoutConfig(arch: arch,
                     memcg: isEnabled("MEMCG"),
                     slabObjExt: isEnabled("SLAB_OBJ_EXT"),
                     // WANT_PAGE_VIRTUAL is defined by none of PageLab's arches (m68k, xtensa, ...).
                     wantPageVirtual: false,
                     lastCpupidNotInPageFlags: FlagsBudget(config: self).lastCpupidNotInPageFlags,
                     kmsan: isEnabled("KMSAN"),
                     mmID: isEnabled("MM_ID"),
                     pageMapcount: isEnabled("PAGE_MAPCOUNT"),
                     slabAllocator: slabAllocator)
    }

    // MARK: Parsing helpers

    /// The option name of `# CONFIG_FOO is not set`, or nil for any other comment.
    private static func notSetName(_ line: Substring) -> String? {
        let prefix = "# CONFIG_", suffix = " is not set"
        guard line.hasPrefix(prefix), line.hasSuffix(suffix) else { return nil }
        let name = line.dropFirst(prefix.count).dropLast(suffix.count)
        return isOptionName(name) ? String(name) : nil
    }

    /// `CONFIG_NAME=value`, split and typed; nil when the line is not of that form.
    private static func assignment(_ line: Substring) -> (String, Value)? {
        guard line.hasPrefix("CONFIG_"), let equals = line.firstIndex(of: "=") else { return nil }
        let name = line[line.index(line.startIndex, offsetBy: 7)..<equals]
        guard isOptionName(name) else { return nil }
        let raw = line[line.index(after: equals)...]
        guard let value = parseValue(raw) else { return nil }
        return (String(name), value)
    }

    private static func isOptionName(_ name: Substring) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { byte in
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5a)
                || (byte >= 0x61 && byte <= 0x7a) || byte == 0x5f
        }
    }

    private static func parseValue(_ raw: Substring) -> Value? {
        switch raw {
        case "y": return .yes
        case "m": return .module
        case "n": return .no
        default: break
        }
        if raw.hasPrefix("\"") {
            // A string as confdata.c writes it: backslash escapes only `"` and `\`.
            guard raw.count >= 2, raw.hasSuffix("\"") else { return nil }
            var text = ""
            var escaped = false
            for character in raw.dropFirst().dropLast() {
                if escaped {
                    text.append(character)
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    return nil  // an unescaped quote inside the string
                } else {
                    text.append(character)
                }
            }
            return escaped ? nil : .string(text)
        }
        if raw.hasPrefix("0x") || raw.hasPrefix("0X"), let value = UInt64(raw.dropFirst(2), radix: 16) {
            // 64-bit hex values such as ILLEGAL_POINTER_VALUE=0xdead000000000000 keep their bits.
            return .number(Int(truncatingIfNeeded: value))
        }
        if let value = Int(raw) { return .number(value) }
        // conf_set_sym_val() accepts unquoted text for string symbols.
        return raw.isEmpty || raw.contains(where: { $0.isWhitespace }) ? nil : .string(String(raw))
    }

    private static func detectArch(_ options: [String: Value], source: String) throws(LayoutError) -> Arch {
        func on(_ name: String) -> Bool {
            switch options[name] {
            case .yes?, .module?: true
            default: false
            }
        }
        if on("ARM64") { return .arm64 }
        if on("X86_64") || (on("X86") && on("64BIT")) { return .x86_64 }
        if on("X86_32") || on("X86") { return on("X86_PAE") ? .i386PAE : .i386 }
        if on("ARM") { return .arm }
        throw .malformedFile(path: source, reason: "no architecture PageLab knows is set "
                             + "(CONFIG_X86_64, CONFIG_X86_32, CONFIG_ARM64 or CONFIG_ARM)")
    }
}

extension Arch {
    /// MAX_PHYSMEM_BITS on x86_64 with or without 5-level paging
    /// [arch/x86/include/asm/sparsemem.h: `pgtable_l5_enabled() ? 52 : 46`].
    public func maxPhysmemBits(fiveLevel: Bool) -> Int {
        self == .x86_64 && fiveLevel ? 52 : maxPhysmemBits
    }
}

extension Substring {
    /// The line without leading and trailing spaces, tabs and a CR of a CRLF line end.
    func trimmingWhitespace() -> Substring {
        var text = self
        while let first = text.first, first == " " || first == "\t" || first == "\r" { text.removeFirst() }
        while let last = text.last, last == " " || last == "\t" || last == "\r" { text.removeLast() }
        return text
    }
}
