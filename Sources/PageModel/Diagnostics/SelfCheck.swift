// The self-check of `pagelab machine`: allocate a realistic mix (folios of several
// orders, slab objects, page tables), count what it costs, free it, and verify the
// allocator is back where it started.
import PageLayout
#if canImport(Glibc)
import Glibc
#endif

/// What the self-check did and found.
public struct SelfCheckResult: Sendable, Equatable {
    /// Folios allocated, by order.
    public var foliosByOrder: [Int: Int] = [:]
    public var slabObjects = 0
    public var pageTables = 0
    /// The accounting while the mix was allocated.
    public var loaded: Accounting
    /// Free pages (buddy and per-cpu) before and after.
    public var freeBefore = 0
    public var freeAfter = 0
    /// Bad pages and other diagnostics recorded during the check.
    public var diagnostics = 0

    public var passed: Bool { freeBefore == freeAfter && diagnostics == 0 }
}

extension Machine {
    /// Allocates about an eighth of managed memory as 40 % order-0 folios, 20 % each of
    /// order-2 and order-4 folios and order-9 (PMD-sized) folios, plus slab objects of
    /// 256 bytes and one page-table page per 2 MiB of folios; then frees everything.
    public func selfCheck() -> SelfCheckResult {
        let diagnosticsBefore = diagnostics.count
        let freeNow = { self.allZones.reduce(0) { $0 + $1.freePages + $1.pcpPages } }
        for zone in allZones { zone.drainPcp() }
        let freeBefore = freeNow()
        let budget = allZones.reduce(0) { $0 + $1.managed } / 8
        var folios: [Folio] = []
        var counts: [Int: Int] = [:]
        for (order, share) in [(0, 40), (2, 20), (4, 20), (9, 20)] {
            let count = (budget * share / 100) >> order
            for _ in 0..<count {
                guard let folio = folioAlloc([.highuserMovable, .nowarn], order: order) else { break }
                folios.append(folio)
                counts[order, default: 0] += 1
            }
        }
        var objects: [UInt64] = []
        var cache: KmemCache?
        do {
            let created = try kmemCacheCreate(name: "selfcheck-256", size: 256)
            cache = created
            for _ in 0..<(budget / 64) {
                guard let object = kmemCacheAlloc(created, [.kernel, .nowarn]) else { break }
                objects.append(object)
            }
        } catch {
            diagnostics.record(Diagnostic(kind: .warn, reason: "self-check: \(error)"))
        }
        var tables: [Page] = []
        for _ in 0..<(budget / 512) {
            guard let table = pagetableAlloc([.kernel, .nowarn]) else { break }
            tables.append(table)
        }
        let loaded = accounting()
        for folio in folios { folioPut(folio) }
        if let cache {
            for object in objects { kmemCacheFree(cache, object) }
            kmemCacheDestroy(cache)
        }
        for table in tables { pagetableFree(table) }
        for zone in allZones { zone.drainPcp() }
        return SelfCheckResult(foliosByOrder: counts, slabObjects: objects.count, pageTables: tables.count,
                               loaded: loaded, freeBefore: freeBefore, freeAfter: freeNow(),
                               diagnostics: diagnostics.count - diagnosticsBefore)
    }
}

/// The host process's memory, for the cost of the model itself.
public enum HostMemory {
    /// Peak resident set size of this process in bytes (`getrusage()`'s ru_maxrss, KiB on
    /// Linux).
    public static func peakResidentBytes() -> Int {
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return 0 }
        return Int(usage.ru_maxrss) * 1024
    }
}
