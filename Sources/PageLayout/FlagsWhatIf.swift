// "What if" page flags: what adding bits to enum pageflags does to the other fields of
// page->flags and to struct page (the question of seed 000: where does a PG_dma_pinned go?).

extension FlagsBudget {
    /// What changed from `baseline` (the same configuration without the added flags) to this
    /// budget, one sentence per consequence, in the order the kernel's header decides them.
    public func changes(since baseline: FlagsBudget) -> [String] {
        var lines: [String] = []
        if nrPageflags != baseline.nrPageflags {
            let names = addedFlags.filter { !baseline.addedFlags.contains($0) }
            lines.append("NR_PAGEFLAGS \(baseline.nrPageflags) -> \(nrPageflags)"
                         + (names.isEmpty ? "" : " (" + names.map { "\($0) is bit \(bitOf($0))" }
                            .joined(separator: ", ") + ")"))
        }
        if error != baseline.error, let error {
            lines.append("the kernel no longer builds: #error \"\(error)\"")
        }
        if nodeNotInPageFlags, !baseline.nodeNotInPageFlags {
            lines.append("the node id moves out of page->flags (NODE_NOT_IN_PAGE_FLAGS): "
                         + "page_to_nid() reads section_to_node_table[] instead")
        }
        if lastCpupidNotInPageFlags, !baseline.lastCpupidNotInPageFlags {
            lines.append("last_cpupid moves out of page->flags (LAST_CPUPID_NOT_IN_PAGE_FLAGS): "
                         + "struct page gains `int _last_cpupid`")
        }
        if lruRefsWanted > 0, lruRefsWidth != baseline.lruRefsWidth {
            lines.append("LRU_REFS_WIDTH \(baseline.lruRefsWidth) -> \(lruRefsWidth) (clamped to the bits left): "
                         + "the multi-gen LRU counts fewer accesses through file descriptors")
        }
        if unusedBits != baseline.unusedBits || freeBits != baseline.freeBits {
            lines.append("NR_UNUSED_PAGEFLAG_BITS \(baseline.unusedBits) -> \(unusedBits); "
                         + "bits really free \(baseline.freeBits) -> \(freeBits)")
        }
        if !nodeNotInPageFlags && !lastCpupidNotInPageFlags && error == nil && nrPageflags != baseline.nrPageflags {
            lines.append("nothing moves out of page->flags")
        }
        return lines
    }

    private func bitOf(_ name: String) -> Int {
        flags.first { $0.name == name }?.bit ?? -1
    }
}
