// vmstat(NAME): the model's event counters by their /proc/vmstat names, the pin counters
// of every node, the writeback counters of the scenario's filesystems, and the pin
// statistics the designs are compared by.
import PageModel

extension ScenarioRunner {
    /// The counter `name` (one of `Scenarios.vmstatNames`).
    func counter(_ name: String) -> Int {
        let events = machine.vmEvents.snapshot
        let stats = machine.pinStats
        let filesystems = [shmem, disk].compactMap { $0 }
        func nodes(_ pick: ((acquired: Int, released: Int)) -> Int) -> Int {
            (0..<scenario.machine.nodes).reduce(0) { $0 + pick(machine.nodePinCounters(nid: $1)) }
        }
        switch name {
        case "pgfault": return events.faults
        case "pgmajfault": return events.majorFaults
        case "zero_page_faults": return events.zeroPageFaults
        case "cow_copies": return events.cowCopies
        case "cow_reuses": return events.cowReuses
        case "unshare_copies": return events.unshareCopies
        case "fork_pinned_copies": return events.forkPinnedCopies
        case "thp_fault_alloc": return events.thpFaultAlloc
        case "thp_fault_fallback": return events.thpFaultFallback
        case "thp_split_pmd": return events.thpSplitPmd
        case "thp_split_page": return events.thpSplitPage
        case "thp_collapse_alloc": return events.thpCollapse
        case "pswpout": return events.swapOuts
        case "pswpin": return events.swapIns
        case "pgsteal": return events.reclaimed
        case "reclaim_kept_pinned": return events.reclaimKeptPinned
        case "pgmigrate_success": return events.migrations
        case "pgmigrate_fail": return events.migrationFailures
        case "nr_foll_pin_acquired": return nodes(\.acquired)
        case "nr_foll_pin_released": return nodes(\.released)
        case "nr_dirty": return filesystems.reduce(0) { $0 + $1.stats.nrDirty }
        case "nr_writeback": return filesystems.reduce(0) { $0 + $1.stats.nrWriteback }
        case "nr_written": return filesystems.reduce(0) { $0 + $1.stats.nrWritten }
        case "nr_file_pages": return filesystems.reduce(0) { $0 + $1.stats.nrFilePages }
        case "nr_shmem": return filesystems.reduce(0) { $0 + $1.stats.nrShmem }
        case "pins_outstanding": return stats.outstanding
        case "pin_false_positives": return stats.falsePositives
        case "pin_false_negatives": return stats.falseNegatives
        case "pin_corruptions": return stats.corruptions
        case "unpins_of_unpinned": return stats.unpinsOfUnpinned
        case "puts_of_pinned": return stats.putsOfPinnedReferences
        case "proxy_misuses": return stats.proxyMisuses
        case "nr_free_pages": return machine.allZones.reduce(0) { $0 + $1.freePages + $1.pcpPages }
        case "nr_vmalloc_pages": return vmalloc?.nrPages ?? 0
        case "vmalloc_use_after_free": return vmalloc?.useAfterFree ?? 0
        default: return 0
        }
    }
}
