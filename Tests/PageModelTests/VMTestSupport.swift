// Shared helpers for the virtual memory tests.
@testable import PageModel
import PageLayout
import Testing

extension Machine {
    /// Pages free in the buddy allocator and on the per-cpu lists.
    var totalFreePages: Int { allZones.reduce(0) { $0 + $1.freePages + $1.pcpPages } }

    /// Every pfn in a free block of the buddy lists or the per-cpu lists.
    var freePfns: Set<Int> {
        var pfns = Set<Int>()
        for zone in allZones {
            for order in 0..<BuddyConstants.orders {
                for type in MigrateType.allCases {
                    for first in zone.freeList(order: order, type: type) { pfns.formUnion(first..<first + 1 << order) }
                }
            }
            for pindex in 0..<BuddyConstants.pcpLists {
                let order = pindex / MigrateType.pcpTypes
                for first in zone.pcpList(pindex) { pfns.formUnion(first..<first + 1 << order) }
            }
        }
        return pfns
    }

    /// The dumps of the first few pages free in `before` that are not free now (what a
    /// leak check prints).
    func dumpLeaked(since before: Set<Int>, limit: Int = 4) -> String {
        before.subtracting(freePfns).sorted().prefix(limit).map { pfn in page(pfn).map { dumpPage($0) } ?? "pfn 0x\(String(pfn, radix: 16))" }
            .joined(separator: "\n")
    }
}

extension PageCacheMapping {
    /// Takes every folio out of the cache as reclaim does (`__remove_mapping()` with a
    /// reference and the folio lock held), expecting each removal to succeed.
    func removeAllFolios(_ machine: Machine) {
        for folio in folios {
            machine.folioGet(folio)
            folio.lock()
            #expect(removeFolio(folio))
            folio.unlock()
            machine.folioPut(folio)
        }
    }
}

/// A 64 MiB x86-64 machine of `design` and one process on it.
func makeProcess(_ design: Design = .mainline, ram: UInt64 = 128 << 20) throws -> (Machine, Process) {
    let machine = try Machine(ramBytes: ram, design: design)
    return (machine, try Process(machine: machine))
}

extension Process {
    /// mmap of anonymous private read-write memory.
    func mmapAnon(_ length: UInt64, flags: MapFlags = [.private, .anonymous], prot: Prot = [.read, .write]) throws -> UInt64 {
        try mm.mmap(length: length, prot: prot, flags: flags)
    }
}

/// A recognisable byte pattern for page `n` written by `who`.
func pattern(_ n: Int, _ who: UInt8 = 0xa5) -> [UInt8] {
    (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ n &* 13) ^ who }
}
