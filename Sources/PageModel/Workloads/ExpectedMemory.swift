// The workload's model of what every page it wrote must contain: seeds per page of each
// file and of each process's private memory, with mappings resolving an address to the
// seed the kernel's semantics say it must read (private copy, else the file's page).

/// A file a workload writes, with the seed of each page it wrote (absent: zeroes).
final class ExpectedFile {
    let file: OpenFile
    let name: String
    var pages: [Int: UInt64] = [:]

    init(file: OpenFile, name: String) {
        self.file = file
        self.name = name
    }
}

/// One mapping of a modelled process.
struct ExpectedMapping {
    enum Backing {
        /// MAP_PRIVATE | MAP_ANONYMOUS: only the process's own writes.
        case anonymous
        /// MAP_PRIVATE of a file: the process's COW copies, else the file's page
        /// (a private mapping sees the file change until it writes the page).
        case privateFile(ExpectedFile, pgoff: Int)
        /// MAP_SHARED of a file: the file's page, whoever wrote it.
        case sharedFile(ExpectedFile, pgoff: Int)
    }

    let name: String
    var start: UInt64
    var pages: Int
    let backing: Backing

    var end: UInt64 { start + UInt64(pages) * UInt64(PagePattern.pageSize) }

    func address(ofPage index: Int) -> UInt64 { start + UInt64(index) * UInt64(PagePattern.pageSize) }
}

/// A process of the workload and what its memory must hold.
final class ExpectedProcess {
    let name: String
    let process: Process
    var mappings: [String: ExpectedMapping] = [:]
    /// Seeds of private pages (anonymous memory and COW copies of file pages) by address.
    var privatePages: [UInt64: UInt64] = [:]

    init(name: String, process: Process) {
        self.name = name
        self.process = process
    }

    /// fork(): the child's memory starts as a copy of the parent's.
    func forked(name: String, process: Process) -> ExpectedProcess {
        let child = ExpectedProcess(name: name, process: process)
        child.mappings = mappings
        child.privatePages = privatePages
        return child
    }

    /// The seed page `index` of `mapping` must read as (0: zeroes).
    func expectedSeed(_ mapping: ExpectedMapping, page index: Int) -> UInt64 {
        switch mapping.backing {
        case .anonymous: privatePages[mapping.address(ofPage: index)] ?? 0
        case .privateFile(let file, let pgoff): privatePages[mapping.address(ofPage: index)] ?? file.pages[pgoff + index] ?? 0
        case .sharedFile(let file, let pgoff): file.pages[pgoff + index] ?? 0
        }
    }

    /// Records that page `index` of `mapping` was written with `seed` through the mapping.
    func wrote(_ mapping: ExpectedMapping, page index: Int, seed: UInt64) {
        switch mapping.backing {
        case .anonymous, .privateFile: privatePages[mapping.address(ofPage: index)] = seed
        case .sharedFile(let file, let pgoff): file.pages[pgoff + index] = seed
        }
    }

    /// Pages of `mapping` the workload knows the contents of (written, dropped to zero
    /// by MADV_DONTNEED, or backed by a written file page), in address order.
    func expectedPages(_ mapping: ExpectedMapping) -> [Int] {
        (0..<mapping.pages).filter { index in
            switch mapping.backing {
            case .anonymous: privatePages[mapping.address(ofPage: index)] != nil
            case .privateFile(let file, let pgoff):
                privatePages[mapping.address(ofPage: index)] != nil || file.pages[pgoff + index] != nil
            case .sharedFile(let file, let pgoff): file.pages[pgoff + index] != nil
            }
        }
    }

    /// MADV_DONTNEED of pages `[first, first + count)`: private anonymous pages read as
    /// zeroes afterwards (recorded as seed 0, so they are verified); COW copies of file
    /// pages go, and the file's page shows through again; shared pages are unchanged.
    func droppedPages(_ name: String, first: Int, count: Int) {
        guard let mapping = mappings[name] else { return }
        for index in first..<(first + count) {
            switch mapping.backing {
            case .anonymous: privatePages[mapping.address(ofPage: index)] = 0
            case .privateFile: privatePages[mapping.address(ofPage: index)] = nil
            case .sharedFile: break
            }
        }
    }

    /// munmap of pages `[first, first + count)` of the mapping named `name`: the model
    /// forgets them; a hole in the middle leaves the head under `name` and the tail
    /// under `name+`.
    func unmapped(_ name: String, first: Int, count: Int) {
        guard var mapping = mappings[name] else { return }
        for index in first..<(first + count) { privatePages[mapping.address(ofPage: index)] = nil }
        if first == 0 && count == mapping.pages {
            mappings[name] = nil
            return
        }
        if first + count == mapping.pages {
            mapping.pages = first
            mappings[name] = mapping
            return
        }
        // A hole in the middle: two mappings.
        let tail = ExpectedMapping(name: name + "+", start: mapping.address(ofPage: first + count),
                                   pages: mapping.pages - first - count, backing: Self.shifted(mapping.backing, by: first + count))
        mapping.pages = first
        mappings[name] = mapping
        mappings[tail.name] = tail
    }

    private static func shifted(_ backing: ExpectedMapping.Backing, by pages: Int) -> ExpectedMapping.Backing {
        switch backing {
        case .anonymous: .anonymous
        case .privateFile(let file, let pgoff): .privateFile(file, pgoff: pgoff + pages)
        case .sharedFile(let file, let pgoff): .sharedFile(file, pgoff: pgoff + pages)
        }
    }
}
