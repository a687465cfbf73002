// The scenario language's vocabulary: every operation and query with its arguments, and
// the word sets (PROT_*, MAP_*, FOLL_*, MADV_*, ...) written once. The parser checks a
// script against these tables before anything runs; the runner dispatches on the kinds.
import PageModel

/// What an argument must be.
public enum ArgumentKind: Sendable, Equatable {
    case int, bool, process, file, pins, device, page, data, text
    /// A `migrate_vma` result (its cpages and migrated count).
    case migration
    /// One word of a set (`dontneed`, `always`, ...).
    case word(WordSet)
    /// Words of a set joined by `|` (`write|longterm`).
    case flags(WordSet)

    var description: String {
        switch self {
        case .int: "an integer"
        case .bool: "true or false"
        case .process: "a process name"
        case .file: "a file name"
        case .pins: "the name of a GUP result"
        case .device: "a device (dmirror_open's result)"
        case .migration: "a migration (migrate_vma's result)"
        case .page: "a page (NAME[i], NAME, or PROCESS@ADDRESS)"
        case .data: "bytes (\"text\" or x\"hex\")"
        case .text: "a \"string\""
        case .word(let set): "one of \(set.words.joined(separator: ", "))"
        case .flags(let set): "flags joined by | from \(set.words.joined(separator: ", "))"
        }
    }
}

/// A named set of words, with the kernel prefix a script may also write (`MADV_DONTNEED`).
public final class WordSet: Sendable, Equatable {
    public let name: String
    public let prefix: String
    public let words: [String]
    /// Each word as written in lower or upper case, with or without the prefix: the
    /// canonical word's index in `words` found by one hash, no String made per argument.
    let spellings: NameTable<Int>
    /// Each word alone, as the one-word list a word or flags argument usually is: shared,
    /// so that parsing one allocates no array (an allocation per GUP line's `flags=`).
    let singles: [[String]]

    init(name: String, prefix: String, words: [String]) {
        self.name = name
        self.prefix = prefix
        self.words = words
        spellings = NameTable(words.enumerated().flatMap { index, word in
            let prefixed = prefix.isEmpty ? [] : [prefix + "_" + word, (prefix + "_" + word).uppercased()]
            return ([word, word.uppercased()] + prefixed).map { ($0, index) }
        })
        singles = words.map { [$0] }
    }

    public static func == (a: WordSet, b: WordSet) -> Bool { a.name == b.name && a.prefix == b.prefix && a.words == b.words }

    /// The index in `words` of the canonical word for `text` (lower case, kernel prefix
    /// dropped), if it is one.
    func index(_ text: String) -> Int? {
        if let index = spellings[text] { return index }
        var word = text.lowercased()
        if !prefix.isEmpty, word.hasPrefix(prefix + "_") { word.removeFirst(prefix.count + 1) }
        return words.firstIndex(of: word)
    }

    static let prot = WordSet(name: "prot", prefix: "prot", words: ["none", "read", "write", "exec"])
    static let map = WordSet(name: "map", prefix: "map", words: ["shared", "private", "anonymous", "fixed", "fixed_noreplace", "populate", "locked", "noreserve"])
    static let foll = WordSet(name: "foll", prefix: "foll", words: ["write", "force", "nowait", "nofault", "hwpoison", "anon", "longterm", "split_pmd", "pci_p2pdma", "interruptible", "honor_numa_fault"])
    static let advice = WordSet(name: "advice", prefix: "madv", words: Scenarios.advice.map(\.0))
    static let mremap = WordSet(name: "mremap", prefix: "mremap", words: ["maymove", "fixed", "dontunmap"])
    static let falloc = WordSet(name: "falloc", prefix: "falloc_fl", words: ["keep_size", "punch_hole"])
    static let thp = WordSet(name: "thp", prefix: "", words: ["always", "madvise", "never"])
    static let vmallocTracking = WordSet(name: "vmalloc option", prefix: "", words: VmallocTracking.allCases.map(\.rawValue))
    /// `enum migrate_vma_direction` (include/linux/migrate.h): MIGRATE_VMA_SELECT_*.
    static let migrateSelect = WordSet(name: "migrate_vma select", prefix: "migrate_vma_select", words: ["system", "device_private", "device_coherent"])
    static let fs = WordSet(name: "fs", prefix: "", words: ["tmpfs", "disk"])
    static let diagnostic = WordSet(name: "diagnostic", prefix: "", words: ["all", "warn", "bug", "bad_page", "corruption", "leak"])
    static let vmstat = WordSet(name: "vmstat", prefix: "", words: Scenarios.vmstatNames)
}

/// One operation or query: its name, arguments in order, keyword arguments, and what it
/// binds when written `NAME = op ...`. A class: every parsed line refers to its
/// signature instead of carrying a copy.
public final class Signature: Sendable {
    public let name: String
    public let positional: [(name: String, kind: ArgumentKind)]
    public let keywords: [(name: String, kind: ArgumentKind)]
    /// What `NAME = op` binds (nil: the operation binds nothing).
    public let result: ArgumentKind?
    /// The kernel function or system call it stands for.
    public let kernel: String
    /// Positional then keyword parameters' keys and kinds (an operation's `Arguments` slots).
    let parameterKeys: [ParameterKey]
    let parameterKinds: [ArgumentKind]
    /// Each parameter key's length and first 8 bytes (`ParameterKey`), in memory the
    /// signature owns: `Arguments.slot` reads them in place, where reading
    /// `parameterKeys` retained and released the array on every lookup (an argument read
    /// by the runner). Never written after `init`.
    nonisolated(unsafe) let keyHeads: UnsafeMutableBufferPointer<(count: Int, head: UInt64)>

    convenience init(_ op: OperationKind, _ positional: [(String, ArgumentKind)], _ keywords: [(String, ArgumentKind)] = [],
                     result: ArgumentKind? = nil, kernel: String) {
        self.init(op.rawValue, positional, keywords, result: result, kernel: kernel)
    }

    convenience init(_ query: QueryKind, _ positional: [(String, ArgumentKind)], kernel: String) {
        self.init(query.rawValue, positional, [], result: nil, kernel: kernel)
    }

    private init(_ name: String, _ positional: [(String, ArgumentKind)], _ keywords: [(String, ArgumentKind)],
                 result: ArgumentKind?, kernel: String) {
        self.name = name
        self.positional = positional.map { (name: $0.0, kind: $0.1) }
        self.keywords = keywords.map { (name: $0.0, kind: $0.1) }
        self.result = result
        self.kernel = kernel
        let parameters = positional + keywords
        // Arguments keeps a bit per parameter given (`Arguments.present`).
        precondition(parameters.count <= 64, "\(name): more than 64 parameters")
        parameterKeys = parameters.map { ParameterKey($0.0) }
        parameterKinds = parameters.map(\.1)
        keyHeads = .allocate(capacity: parameterKeys.count)
        _ = keyHeads.initialize(from: parameterKeys.map { (count: $0.count, head: $0.head) })
    }

    deinit { keyHeads.deallocate() }

    var usage: String {
        ([name] + positional.map { $0.name.uppercased() } + keywords.map { "[\($0.name)=...]" }).joined(separator: " ")
    }
}

/// The tables.
public enum Scenarios {
    static let gupKeywords: [(String, ArgumentKind)] = [("flags", .flags(.foll))]
    static let span: [(String, ArgumentKind)] = [("p", .process), ("addr", .int), ("len", .int)]

    /// The signature of each operation: the switch is exhaustive, so an operation
    /// added to `OperationKind` does not build without its arguments here (and its
    /// handler in `ScenarioRunner.perform`).
    static func signature(_ op: OperationKind) -> Signature {
        switch op {
        case .process: Signature(op, [], result: .process, kernel: "fork()+exec() of a new program: mm_alloc()")
        case .fork: Signature(op, [("parent", .process)], result: .process, kernel: "fork(): dup_mm()")
        case .exit: Signature(op, [("p", .process)], kernel: "exit(): exit_mmap()")
        case .mmap: Signature(op, [("p", .process), ("len", .int)],
                [("prot", .flags(.prot)), ("flags", .flags(.map)), ("file", .file), ("offset", .int), ("addr", .int)],
                result: .int, kernel: "mmap()")
        case .munmap: Signature(op, span, kernel: "munmap()")
        case .mprotect: Signature(op, span + [("prot", .flags(.prot))], kernel: "mprotect()")
        case .madvise: Signature(op, span + [("advice", .word(.advice))], kernel: "madvise()")
        case .mremap: Signature(op, [("p", .process), ("addr", .int), ("old", .int), ("new", .int)],
                [("flags", .flags(.mremap)), ("to", .int)], result: .int, kernel: "mremap()")
        case .mlock: Signature(op, span, kernel: "mlock()")
        case .munlock: Signature(op, span, kernel: "munlock()")
        case .write: Signature(op, [("p", .process), ("addr", .int), ("data", .data)], kernel: "a CPU store (memcpy to user memory)")
        case .fill: Signature(op, span + [("byte", .int)], kernel: "memset() of user memory")
        case .read: Signature(op, span, kernel: "a CPU load of user memory")
        case .touch: Signature(op, span, [("write", .bool)], kernel: "faultin_page() over a range (MADV_POPULATE_READ/WRITE)")
        case .memfd: Signature(op, [("name", .text)], result: .file, kernel: "memfd_create()")
        case .file: Signature(op, [("fs", .word(.fs)), ("name", .text)], result: .file, kernel: "open(O_CREAT) on tmpfs or a disk filesystem")
        case .pwrite: Signature(op, [("f", .file), ("offset", .int), ("data", .data)], kernel: "pwrite()")
        case .pread: Signature(op, [("f", .file), ("offset", .int), ("len", .int)], kernel: "pread()")
        case .ftruncate: Signature(op, [("f", .file), ("len", .int)], kernel: "ftruncate()")
        case .fallocate: Signature(op, [("f", .file), ("offset", .int), ("len", .int)], [("mode", .flags(.falloc))], kernel: "fallocate()")
        case .writeback: Signature(op, [("f", .file)], kernel: "filemap_write_and_wait() (fsync)")
        case .sync: Signature(op, [], kernel: "sync(): sync_filesystem() of every filesystem")
        case .reclaim: Signature(op, [("count", .int)], [("node", .int)], kernel: "shrink_folio_list() (kswapd / direct reclaim)")
        case .swapon: Signature(op, [("slots", .int)], kernel: "swapon()")
        case .thp: Signature(op, [("mode", .word(.thp))], kernel: "/sys/kernel/mm/transparent_hugepage/enabled")
        case .movePages: Signature(op, span + [("node", .int)], kernel: "move_pages()")
        case .getUserPages: Signature(op, [("p", .process), ("addr", .int), ("n", .int)], gupKeywords, result: .pins, kernel: "get_user_pages()")
        case .getUserPagesFast: Signature(op, [("p", .process), ("addr", .int), ("n", .int)], gupKeywords, result: .pins, kernel: "get_user_pages_fast()")
        case .pinUserPages: Signature(op, [("p", .process), ("addr", .int), ("n", .int)], gupKeywords, result: .pins, kernel: "pin_user_pages()")
        case .pinUserPagesFast: Signature(op, [("p", .process), ("addr", .int), ("n", .int)], gupKeywords, result: .pins, kernel: "pin_user_pages_fast()")
        case .getUserPagesRemote: Signature(op, [("p", .process), ("target", .process), ("addr", .int), ("n", .int)], gupKeywords,
                result: .pins, kernel: "get_user_pages_remote()")
        case .pinUserPagesRemote: Signature(op, [("p", .process), ("target", .process), ("addr", .int), ("n", .int)], gupKeywords,
                result: .pins, kernel: "pin_user_pages_remote()")
        case .unpinUserPages: Signature(op, [("pins", .pins)], [("dirty", .bool)], kernel: "unpin_user_pages_dirty_lock()")
        case .unpinUserPage: Signature(op, [("page", .page)], kernel: "unpin_user_page()")
        case .putPage: Signature(op, [("page", .page)], kernel: "put_page()")
        case .getPage: Signature(op, [("page", .page)], kernel: "get_page()")
        case .releasePages: Signature(op, [("pins", .pins)], kernel: "release_pages(): put_page() of every GUP result")
        case .dmaWrite: Signature(op, [("page", .page), ("offset", .int), ("data", .data)],
                kernel: "a device's DMA write into a page it was given by GUP (the bytes land in the frame)")
        case .devdaxMmap: Signature(op, [("p", .process), ("pages", .int)], result: .int,
                kernel: "memremap_pages(MEMORY_DEVICE_GENERIC) + mmap() of /dev/dax + vm_insert_pages()")
        case .dmirrorOpen: Signature(op, [("p", .process), ("id", .int)], result: .device,
                kernel: "open() of /dev/hmm_dmirrorID by P (lib/test_hmm.c; 0 and 1 device-private, 2 and 3 device-coherent)")
        case .dmirrorMigrateToDev: Signature(op, [("d", .device), ("addr", .int), ("n", .int)],
                kernel: "ioctl HMM_DMIRROR_MIGRATE_TO_DEV: migrate_vma_setup()/_pages()/_finalize() into device memory")
        case .dmirrorMigrateToSys: Signature(op, [("d", .device), ("addr", .int), ("n", .int)],
                kernel: "ioctl HMM_DMIRROR_MIGRATE_TO_SYS: migrate_vma_*() back to system memory")
        case .dmirrorRead: Signature(op, [("d", .device), ("addr", .int), ("n", .int)],
                kernel: "ioctl HMM_DMIRROR_READ: the device reads the range (hmm_range_fault(), HMM_PFN_REQ_FAULT)")
        case .dmirrorWrite: Signature(op, [("d", .device), ("addr", .int), ("n", .int), ("byte", .int)],
                kernel: "ioctl HMM_DMIRROR_WRITE: the device writes BYTE over N pages (HMM_PFN_REQ_FAULT | REQ_WRITE)")
        case .dmirrorRelease: Signature(op, [("d", .device)], kernel: "ioctl HMM_DMIRROR_RELEASE: dmirror_device_remove_chunks()")
        case .hmmRangeFault: Signature(op, [("d", .device), ("addr", .int), ("n", .int)], [("write", .bool), ("collisions", .int)],
                kernel: "mmu_interval_notifier_insert() over the range, then mmu_interval_read_begin() + hmm_range_fault() (HMM_PFN_REQ_FAULT | REQ_WRITE, the device as dev_private_owner) retried on -EBUSY; COLLISIONS passes meet a concurrent invalidation (1001: -EBUSY)")
        case .migrateVma: Signature(op, [("d", .device), ("addr", .int), ("n", .int)], [("flags", .flags(.migrateSelect))], result: .migration,
                kernel: "migrate_vma_setup() (.pgmap_owner the device, .flags MIGRATE_VMA_SELECT_*) + the driver's copy + migrate_vma_pages() + migrate_vma_finalize()")
        case .vmalloc: Signature(op, [("size", .int)], result: .int, kernel: "vmalloc(): order-0 pages mapped in the vmalloc space (binds the kernel address)")
        case .vmallocUser: Signature(op, [("size", .int)], result: .int, kernel: "vmalloc_user(): zeroed and VM_USERMAP, for remap_vmalloc_range()")
        case .vfree: Signature(op, [("addr", .int)], kernel: "vfree()")
        case .vmap: Signature(op, [("pins", .pins)], result: .int, kernel: "vmap(pages, count, VM_MAP, PAGE_KERNEL) of a GUP result's pages")
        case .vunmap: Signature(op, [("addr", .int)], kernel: "vunmap()")
        case .vmallocDevMmap: Signature(op, [("p", .process), ("len", .int)], result: .int,
                kernel: "mmap() of a driver's character device (VM_SHARED, no page cache), before its ->mmap handler maps anything")
        case .remapVmallocRange: Signature(op, [("p", .process), ("uaddr", .int), ("kaddr", .int)], [("pgoff", .int)],
                kernel: "remap_vmalloc_range(vma, kaddr, pgoff) in the driver's ->mmap handler: the whole VMA at UADDR")
        }
    }

    /// Every operation, in `OperationKind` order, with its signature.
    static let operationList: [(kind: OperationKind, signature: Signature)] = OperationKind.allCases.map { ($0, signature($0)) }

    /// Every operation, by name.
    public static let operations: [String: Signature] = Dictionary(uniqueKeysWithValues: operationList.map { ($0.signature.name, $0.signature) })

    /// What an expectation's query yields, to check the expected value's form.
    public enum QueryResult: Sendable, Equatable { case int, bool, word, bytes, flags }

    /// The signature of each query and what it yields (exhaustive, as for operations).
    static func signature(_ q: QueryKind) -> (Signature, QueryResult) {
        switch q {
        case .refcount: (Signature(q, [("page", .page)], kernel: "folio_ref_count()"), .int)
        case .mapcount: (Signature(q, [("page", .page)], kernel: "folio_mapcount()"), .int)
        case .pincount: (Signature(q, [("page", .page)], kernel: "folio->_pincount (where the folio has one)"), .int)
        case .pins: (Signature(q, [("page", .page)], kernel: "the exact pins outstanding on the folio (the model's shadow count)"), .int)
        case .maybeDmaPinned: (Signature(q, [("page", .page)], kernel: "folio_maybe_dma_pinned()"), .bool)
        case .flags: (Signature(q, [("page", .page)], kernel: "page->flags, decoded"), .flags)
        case .node: (Signature(q, [("page", .page)], kernel: "page_to_nid()"), .int)
        case .order: (Signature(q, [("page", .page)], kernel: "folio_order()"), .int)
        case .zone: (Signature(q, [("page", .page)], kernel: "page_zonenum(), by name"), .word)
        case .samePage: (Signature(q, [("a", .page), ("b", .page)], kernel: "page_to_pfn(a) == page_to_pfn(b)"), .bool)
        case .hasPgmap: (Signature(q, [("page", .page)], kernel: "page_pgmap() still names the device's dev_pagemap"), .bool)
        case .isDevicePrivate: (Signature(q, [("page", .page)], kernel: "folio_is_device_private()"), .bool)
        case .pgmapOwner: (Signature(q, [("page", .page)], kernel: "page_pgmap(page)->owner: the dmirror device (its minor number) that owns the page"), .int)
        case .cpages: (Signature(q, [("m", .migration)], kernel: "migrate_vma.cpages after migrate_vma_setup(): pages collected and unmapped"), .int)
        case .migrated: (Signature(q, [("m", .migration)], kernel: "src entries still MIGRATE_PFN_MIGRATE after migrate_vma_pages()"), .int)
        case .dmirrorSnapshot: (Signature(q, [("d", .device), ("addr", .int), ("n", .int)],
                kernel: "ioctl HMM_DMIRROR_SNAPSHOT: a byte per page (dmirror_mkentry())"), .bytes)
        case .scamemRefcount: (Signature(q, [("page", .page)], kernel: "the refcount of the page's scamem (seed 004 option 4) or vm_struct (option 3)"), .int)
        case .vmallocArea: (Signature(q, [("kaddr", .int)], kernel: "find_vm_area(kaddr) != NULL"), .bool)
        case .bytes: (Signature(q, [("page", .page), ("offset", .int), ("len", .int)], kernel: "kmap_local_page() + memcpy (what a device sees)"), .bytes)
        case .memory: (Signature(q, [("p", .process), ("addr", .int), ("len", .int)], kernel: "a CPU load through the page tables"), .bytes)
        case .file: (Signature(q, [("f", .file), ("offset", .int), ("len", .int)], kernel: "pread()"), .bytes)
        case .mapped: (Signature(q, [("p", .process), ("addr", .int)], kernel: "pte_present()"), .bool)
        case .writable: (Signature(q, [("p", .process), ("addr", .int)], kernel: "pte_write()"), .bool)
        case .size: (Signature(q, [("f", .file)], kernel: "i_size_read()"), .int)
        case .lockedVm: (Signature(q, [("p", .process)], kernel: "mm->locked_vm (pages)"), .int)
        case .count: (Signature(q, [("pins", .pins)], kernel: "the number of pages GUP returned"), .int)
        case .sizeofPage: (Signature(q, [], kernel: "sizeof(struct page) of the design's layout"), .int)
        case .errno: (Signature(q, [], kernel: "the previous operation's error (ok, an errno name, SIGSEGV, SIGBUS)"), .word)
        case .vmstat: (Signature(q, [("counter", .word(.vmstat))], kernel: "/proc/vmstat and the model's pin statistics"), .int)
        case .diagnostics: (Signature(q, [("kind", .word(.diagnostic))], kernel: "WARN/BUG/bad_page records"), .int)
        case .diagnostic: (Signature(q, [("kind", .word(.diagnostic)), ("text", .text)], kernel: "a WARN/BUG/bad_page record whose reason contains the text"), .bool)
        }
    }

    /// Every query, in `QueryKind` order, with its signature and what it yields.
    static let queryList: [(kind: QueryKind, signature: Signature, result: QueryResult)] = QueryKind.allCases.map {
        let (signature, result) = signature($0)
        return ($0, signature, result)
    }

    /// Every query of `expect`, by name, with what it yields.
    public static let queries: [String: (signature: Signature, result: QueryResult)] =
        Dictionary(uniqueKeysWithValues: queryList.map { ($0.signature.name, ($0.signature, $0.result)) })

    /// The language reference `pagelab run --help` prints, from the tables: every
    /// operation's usage and the kernel function it stands for, then every query's.
    public static var reference: String {
        let operations = operationList.map { "  \($0.signature.usage)\n      \($0.signature.kernel)" }
        let queries = queryList.map { entry in
            let parameters = entry.signature.positional.map { $0.name.uppercased() }.joined(separator: ", ")
            return "  expect \(entry.signature.name)\(parameters.isEmpty ? "" : "(\(parameters))") ...\n      \(entry.signature.kernel)"
        }
        return (["Operations ([NAME =] binds the result):"] + operations + ["", "Queries of expect (== VALUE, != VALUE, has/lacks FLAGS):"] + queries)
            .joined(separator: "\n")
    }

    /// Kernel spellings some operations are also known by.
    static let aliases: [(String, OperationKind)] = [("truncate", .ftruncate), ("unpin", .unpinUserPages), ("memfd_create", .memfd)]

    /// MADV_* names the scenario language knows.
    static let advice: [(String, Int32)] = [
        ("normal", 0), ("random", 1), ("sequential", 2), ("willneed", 3), ("dontneed", 4), ("free", 8), ("remove", 9),
        ("dontfork", 10), ("dofork", 11), ("hugepage", 14), ("nohugepage", 15), ("dontdump", 16), ("dodump", 17),
        ("wipeonfork", 18), ("keeponfork", 19), ("cold", 20), ("pageout", 21), ("populate_read", 22), ("populate_write", 23),
        ("dontneed_locked", 24), ("collapse", 25), ("hwpoison", 100), ("soft_offline", 101), ("guard_install", 102), ("guard_remove", 103),
    ]

    /// The counters `vmstat(NAME)` reads (see `Run/Counters.swift`).
    static let vmstatNames = [
        "pgfault", "pgmajfault", "zero_page_faults", "cow_copies", "cow_reuses", "unshare_copies", "fork_pinned_copies",
        "thp_fault_alloc", "thp_fault_fallback", "thp_split_pmd", "thp_split_page", "thp_collapse_alloc",
        "pswpout", "pswpin", "pgsteal", "reclaim_kept_pinned", "pgmigrate_success", "pgmigrate_fail",
        "nr_foll_pin_acquired", "nr_foll_pin_released", "nr_dirty", "nr_writeback", "nr_written", "nr_file_pages", "nr_shmem",
        "pins_outstanding", "pin_false_positives", "pin_false_negatives", "pin_corruptions", "unpins_of_unpinned",
        "puts_of_pinned", "proxy_misuses", "nr_free_pages", "nr_vmalloc_pages", "vmalloc_use_after_free",
    ]
}
