// Parses /proc/vmallocinfo (mm/vmalloc.c v6.19, vmalloc_info_show() and
// show_purge_info()): the vmalloc areas of a real machine, per caller, with the ones a
// driver may map into user space (VM_USERMAP, printed "user") and what seed 004's
// scamem would cost for them. Root only (0400); %pK hashes the addresses, which the
// census does not need.

/// The vmalloc view of a census.
public struct VmallocCensus: Sendable, Equatable {
    /// One caller (`%pS` without its offset: `kernel_clone+0xb8/0x400` → `kernel_clone`;
    /// a module's keeps its `[module]`).
    public struct Caller: Sendable, Equatable {
        public var name: String
        public var areas = 0
        public var pages = 0
        /// Areas flagged "user" (VM_USERMAP: remap_vmalloc_range() may map them) and their pages.
        public var userAreas = 0
        public var userPages = 0
        /// What scamem would cost for this caller's user areas (see `scamemBytes(pages:)`).
        public var scamemBytes = 0

        public init(name: String) { self.name = name }
    }

    /// Busy areas (unpurged and vm_map_ram lines excluded) and their pages (`pages=`).
    public var areas = 0
    public var pages = 0
    public var userAreas = 0
    public var userPages = 0
    /// Areas by kind word: "vmalloc" (VM_ALLOC), "vmap" (VM_MAP), "ioremap" (VM_IOREMAP).
    public var vmallocAreas = 0
    public var vmapAreas = 0
    public var ioremapAreas = 0
    /// Lines "unpurged vm_area" (lazily freed, show_purge_info()) and "vm_map_ram".
    public var unpurgedAreas = 0
    public var vmMapRamAreas = 0
    /// Callers by pages, most first; beyond `VmallocInfoFile.maxCallers` the rest are
    /// summed under "(other callers)".
    public var callers: [Caller] = []
    /// One positioned line per malformed line ("vmallocinfo line 3: ..."), the first
    /// `VmallocInfoFile.maxWarnings`.
    public var warnings: [String] = []

    public init() {}

    /// `struct scamem { unsigned int nr; refcount_t refcount; struct page *pages[]; }` for
    /// an area of `pages` pages, in 16-byte slab objects (as the model allocates it).
    public static func scamemBytes(pages: Int) -> Int { (8 + pages * 8 + 15) & ~15 }

    /// Scamem for every user area.
    public var scamemBytes: Int { callers.reduce(0) { $0 + $1.scamemBytes } }
    /// The `pages[]` arrays of the user areas (8 bytes a page), which scamem replaces
    /// (seed 004: `- struct page **pages; + struct scamem *scamem;`).
    public var userPagesArrayBytes: Int { userPages * 8 }
}

public enum VmallocInfoFile {
    /// Bounds on hostile input: a line longer than this is malformed; lines past the
    /// limit are not read; callers past `maxCallers` are summed together.
    public static let maxLineBytes = 4096
    public static let maxLines = 1 << 20
    public static let maxCallers = 1024
    public static let maxWarnings = 20
    /// A count of pages beyond any machine (2^52 bytes of 4 KiB pages): malformed.
    public static let maxPages = 1 << 40

    /// The census of `text`. Never traps: a line it cannot read is a warning.
    public static func parse(_ text: String) -> VmallocCensus {
        var census = VmallocCensus()
        var byName: [String: Int] = [:]
        var other = VmallocCensus.Caller(name: "(other callers)")
        var warningCount = 0
        func warn(_ line: Int, _ reason: String) {
            warningCount += 1
            if census.warnings.count < maxWarnings { census.warnings.append("vmallocinfo line \(line): \(reason)") }
        }
        var number = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            number += 1
            guard number <= maxLines else {
                warn(number, "more than \(maxLines) lines; the rest is not read")
                break
            }
            guard !line.isEmpty else { continue }
            guard line.utf8.count <= maxLineBytes else {
                warn(number, "longer than \(maxLineBytes) bytes")
                continue
            }
            switch parseLine(line) {
            case .failure(let error): warn(number, error.reason)
            case .success(.unpurged): census.unpurgedAreas += 1
            case .success(.vmMapRam): census.vmMapRamAreas += 1
            case .success(.area(let area)):
                census.areas += 1
                census.pages += area.pages
                if area.words.contains("vmalloc") { census.vmallocAreas += 1 }
                if area.words.contains("vmap") { census.vmapAreas += 1 }
                if area.words.contains("ioremap") { census.ioremapAreas += 1 }
                let user = area.words.contains("user")
                if user {
                    census.userAreas += 1
                    census.userPages += area.pages
                }
                func add(_ caller: inout VmallocCensus.Caller) {
                    caller.areas += 1
                    caller.pages += area.pages
                    if user {
                        caller.userAreas += 1
                        caller.userPages += area.pages
                        if area.pages > 0 { caller.scamemBytes += VmallocCensus.scamemBytes(pages: area.pages) }
                    }
                }
                if let index = byName[area.caller] {
                    add(&census.callers[index])
                } else if census.callers.count < maxCallers {
                    byName[area.caller] = census.callers.count
                    census.callers.append(VmallocCensus.Caller(name: area.caller))
                    add(&census.callers[census.callers.count - 1])
                } else {
                    add(&other)
                }
            }
        }
        if warningCount > census.warnings.count {
            census.warnings.append("... and \(warningCount - census.warnings.count) more malformed lines")
        }
        census.callers.sort { ($0.pages, $1.name) > ($1.pages, $0.name) }
        if other.areas > 0 { census.callers.append(other) }
        return census
    }

    enum Line {
        case area(Area)
        case unpurged
        case vmMapRam
    }

    struct Area {
        var caller: String
        var pages: Int
        /// The flag words ("vmalloc", "user", ...).
        var words: Set<String>
    }

    /// The flag words vmalloc_info_show() prints (v6.19).
    static let flagWords: Set<String> = ["ioremap", "sparse", "vmalloc", "vmap", "user", "dma-coherent", "vpages"]

    /// One line: `0x<start>-0x<end> <size> [caller] [pages=N] [phys=ADDR] [flags...] [N<nid>=<pages>...]`,
    /// or `... unpurged vm_area`, or `... vm_map_ram`.
    static func parseLine(_ line: Substring) -> Result<Line, LineError> {
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        guard words.count >= 2 else { return .failure("fewer than two fields") }
        let range = words[0].split(separator: "-", omittingEmptySubsequences: false)
        guard range.count == 2, range.allSatisfy({ isHexAddress($0) }) else {
            return .failure("\(String(words[0].prefix(64)).debugDescription) is not an address range")
        }
        guard let size = Int(words[1]), size >= 0 else { return .failure("size \(String(words[1].prefix(32)).debugDescription) is not a byte count") }
        let rest = words.dropFirst(2)
        if rest.elementsEqual(["unpurged", "vm_area"]) { return .success(.unpurged) }
        if rest.elementsEqual(["vm_map_ram"]) { return .success(.vmMapRam) }
        var callerWords: [Substring] = []
        var pages = 0
        var flags: Set<String> = []
        for word in rest {
            if word.hasPrefix("pages=") {
                guard let n = Int(word.dropFirst(6)), n >= 0, n <= VmallocInfoFile.maxPages else {
                    return .failure("\(String(word.prefix(40)).debugDescription) is not a page count")
                }
                pages = n
            } else if word.hasPrefix("phys=") {
                continue
            } else if flagWords.contains(String(word)) {
                flags.insert(String(word))
            } else if isNodeCount(word) {
                continue
            } else if flags.isEmpty, pages == 0 {
                callerWords.append(word)   // the caller, and a module's "[name]"
            } else {
                return .failure("unknown word \(String(word.prefix(40)).debugDescription)")
            }
        }
        guard callerWords.count <= 2 else { return .failure("unknown words after the caller") }
        let symbol = callerWords.first.map { $0.split(separator: "+", maxSplits: 1).first.map(String.init) ?? String($0) } ?? "(no caller)"
        let caller = callerWords.count == 2 ? "\(symbol) \(callerWords[1])" : symbol
        return .success(.area(Area(caller: caller, pages: pages, words: flags)))
    }

    /// `0x` and 1 to 16 hex digits (`0x%pK`).
    static func isHexAddress(_ word: Substring) -> Bool {
        guard word.hasPrefix("0x") else { return false }
        let digits = word.dropFirst(2)
        return (1...16).contains(digits.count) && digits.allSatisfy(\.isHexDigit)
    }

    /// `N<nid>=<pages>` (show_numa_info()).
    static func isNodeCount(_ word: Substring) -> Bool {
        guard word.hasPrefix("N"), let eq = word.firstIndex(of: "=") else { return false }
        return Int(word[word.index(after: word.startIndex)..<eq]) != nil && Int(word[word.index(after: eq)...]) != nil
    }

    /// A malformed line's reason.
    struct LineError: Error, ExpressibleByStringLiteral, ExpressibleByStringInterpolation {
        let reason: String
        init(stringLiteral value: String) { reason = value }
        init(stringInterpolation: DefaultStringInterpolation) { reason = String(stringInterpolation: stringInterpolation) }
    }
}
