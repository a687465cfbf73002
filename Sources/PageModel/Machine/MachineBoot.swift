// Booting a model machine: memmap_init() (mm/mm_init.c), memblock reservations and
// memblock_free_all() (mm/memblock.c), setup_per_zone_wmarks() and zone_batchsize()/
// zone_highsize() (mm/page_alloc.c).
import PageLayout

extension Machine {
    /// The pfn ranges memblock reserves before the buddy allocator starts: the low 1 MiB
    /// on x86 ("x86/setup: always reserve the first 1M of RAM"), the zero page in the kernel
    /// image (at CONFIG_PHYSICAL_START, 16 MiB, where RAM reaches), and each node's memmap
    /// (sparse_buffer_init() allocates it from the node's memory; on 32-bit from lowmem).
    func bootReservations() -> [PfnRange] {
        var reserved: [PfnRange] = []
        let isX86 = [.x86_64, .i386, .i386PAE].contains(config.arch)
        if isX86 { reserved.append(PfnRange(start: 0, end: min(256, config.spannedPfns))) }
        let imageStart = (16 << 20) >> MachineConfig.pageShift
        var zeroPage = topology.ram.first { $0.end > imageStart }.map { max($0.start, imageStart) }
            ?? topology.ram.first.map { $0.start + (isX86 ? 256 : 0) } ?? 0
        if zeroPage >= config.spannedPfns { zeroPage = 0 }
        zeroPagePfn = zeroPage
        reserved.append(PfnRange(start: zeroPage, end: zeroPage + 1))
        for (nid, node) in topology.nodes.enumerated() {
            let sections = (node.start >> config.pfnSectionShift)..<((node.end + config.pagesPerSection - 1) >> config.pfnSectionShift)
            let presentSections = sections.filter { $0 < topology.sectionPresent.count && topology.sectionPresent[$0] }.count
            let memmapPages = (presentSections * config.pagesPerSection * layout.pageSize + MachineConfig.pageSize - 1) >> MachineConfig.pageShift
            // The top of the node's memory the kernel may allocate from: not ZONE_MOVABLE,
            // not highmem.
            let usable = topology.zones[nid].filter { $0.type != .movable && $0.type != .highmem && $0.type != .device && $0.present > 0 }
            guard let top = usable.last else { continue }
            var remaining = memmapPages
            for range in topology.ram.reversed() where remaining > 0 {
                let end = min(range.end, top.span.end), start = max(range.start, node.start)
                guard end > start else { continue }
                let take = min(remaining, end - start)
                reserved.append(PfnRange(start: end - take, end: end))
                remaining -= take
            }
        }
        return reserved.sorted { $0.start < $1.start }
    }

    /// The sorted pfn ranges of RAM that are handed to the buddy allocator: RAM minus the
    /// boot reservations and offline sections.
    func freeRanges(reserved: [PfnRange]) -> [PfnRange] {
        var cuts = reserved
        for s in config.offlineSections.sorted() where s < config.sectionCount {
            cuts.append(PfnRange(start: s << config.pfnSectionShift, end: (s + 1) << config.pfnSectionShift))
        }
        cuts.sort { $0.start < $1.start }
        var result: [PfnRange] = []
        for ram in topology.ram {
            var start = ram.start
            for cut in cuts where cut.end > start && cut.start < ram.end {
                if cut.start > start { result.append(PfnRange(start: start, end: cut.start)) }
                start = max(start, cut.end)
            }
            if start < ram.end { result.append(PfnRange(start: start, end: ram.end)) }
        }
        return result
    }

    /// The initial page->flags of a zone's pages: `set_page_links()` (zone, node, and
    /// the section where SECTION_IN_PAGE_FLAGS) and `page_cpupid_reset_last()` (all ones in
    /// LAST_CPUPID where it lives in the flags).
    func initialFlags(nid: Int, zone: Int) -> UInt64 {
        var flags: UInt64 = 0
        for field in flagsBudget.fields where field.width > 0 && field.width < 64 {
            let mask = (UInt64(1) << UInt64(field.width)) - 1
            switch field.name {
            case "ZONES": flags |= (UInt64(zone) & mask) << UInt64(field.pgshift)
            case "NODES": flags |= (UInt64(nid) & mask) << UInt64(field.pgshift)
            case "LAST_CPUPID": flags |= mask << UInt64(field.pgshift)
            default: break
            }
        }
        return flags
    }

    func boot() {
        let reserved = bootReservations()
        let free = freeRanges(reserved: reserved)
        let reservedBit: UInt64 = flagBits.reserved >= 0 ? 1 << UInt64(flagBits.reserved) : 0
        let sectionField = flagsBudget.field("SECTIONS")
        var freeIndex = 0
        var reservedCount = 0
        // memmap_init(): every pfn of every present section, zone by zone.
        for row in topology.zones {
            for zone in row where zone.span.count > 0 {
                let base = initialFlags(nid: zone.nid, zone: zone.index)
                var pfn = zone.span.start
                while pfn < zone.span.end {
                    let section = pfn >> config.pfnSectionShift
                    let sectionEnd = min(zone.span.end, (section + 1) << config.pfnSectionShift)
                    guard topology.sectionPresent[section] else { pfn = sectionEnd; continue }
                    var flags = base
                    if let field = sectionField, field.width > 0, field.width < 64 {
                        flags |= (UInt64(section) & ((1 << UInt64(field.width)) - 1)) << UInt64(field.pgshift)
                    }
                    while pfn < sectionEnd {
                        while freeIndex < free.count, free[freeIndex].end <= pfn { freeIndex += 1 }
                        let isFree = freeIndex < free.count && free[freeIndex].contains(pfn)
                        let runEnd = isFree ? min(sectionEnd, free[freeIndex].end)
                                            : min(sectionEnd, freeIndex < free.count ? max(pfn + 1, free[freeIndex].start) : sectionEnd)
                        initPages(pfn..<runEnd, flags: isFree ? flags : flags | reservedBit, reserved: !isFree)
                        if !isFree { reservedCount += runEnd - pfn }
                        pfn = runEnd
                    }
                }
            }
        }
        reservedPages = reserved.reduce(0) { $0 + $1.count }
        // present_pages: the span's RAM less its offline sections.
        for zone in allZones {
            var offline = 0
            for s in config.offlineSections where s < config.sectionCount {
                let range = PfnRange(start: s << config.pfnSectionShift, end: (s + 1) << config.pfnSectionShift)
                for r in topology.ram {
                    let lo = max(r.start, range.start, zone.span.span.start), hi = min(r.end, range.end, zone.span.span.end)
                    if hi > lo { offline += hi - lo }
                }
            }
            zone.state.withLock { $0.present = zone.span.present - offline }
        }
        context.initZeroPage(zeroPagePfn)
        // memblock_free_all(): hand every free range to the buddy allocator in the
        // largest aligned blocks (__free_pages_memory()), FPI_TO_TAIL.
        for range in free {
            var start = range.start
            while start < range.end {
                var order = min(BuddyConstants.maxOrder, start == 0 ? BuddyConstants.maxOrder : start.trailingZeroBitCount)
                while start + (1 << order) > range.end { order -= 1 }
                if let zone = zone(of: start) {
                    zone.state.withLock { st in
                        zone.freeOne(start, order: order, type: zone.migratetype(of: start, &st), toTail: true, &st)
                        st.managed += 1 << order
                    }
                }
                start += 1 << order
            }
        }
        setupWatermarks()
    }

    /// Linux: `__init_single_page()` for a run of pfns with the same flags.
    private func initPages(_ pfns: Range<Int>, flags: UInt64, reserved: Bool) {
        let lastCpupid = layoutConfig.lastCpupidNotInPageFlags
            ? Layouts.structPage(layoutConfig, design: config.design).offset(of: "_last_cpupid") ?? -1 : -1
        context.initPages(pfns, flags: flags, reserved: reserved, lastCpupid: lastCpupid)
    }

    /// Linux: `__setup_per_zone_wmarks()`, `init_per_zone_wmark_min()` (min_free_kbytes =
    /// int_sqrt(lowmem_kbytes * 16), clamped to [128, 262144]), watermark_scale_factor 10,
    /// and the per-cpu list sizes of `zone_batchsize()`/`zone_highsize()` for one CPU.
    func setupWatermarks() {
        let lowmem = allZones.filter { $0.type != .highmem && $0.type != .movable }.reduce(0) { $0 + $1.managed }
        let lowmemKB = lowmem * (MachineConfig.pageSize / 1024)
        let minFreeKB = min(262_144, max(128, Int(Double(lowmemKB * 16).squareRoot())))
        let pagesMin = minFreeKB >> (MachineConfig.pageShift - 10)
        for zone in allZones {
            zone.state.withLock { st in
                let managed = st.managed
                var tmp = lowmem > 0 ? pagesMin * managed / lowmem : 0
                let minMark: Int
                if zone.type == .highmem || zone.type == .movable {
                    minMark = min(128, max(32, managed / 1024))
                } else {
                    minMark = tmp
                }
                tmp = max(tmp >> 2, managed * 10 / 10_000)
                st.watermarks = (minMark, minMark + tmp, minMark + 2 * tmp)
                var batch = min(managed >> 10, (1 << 20) / MachineConfig.pageSize) / 4
                batch = max(batch, 1)
                let sum = batch + batch / 2
                batch = (1 << (Int.bitWidth - 1 - sum.leadingZeroBitCount)) - 1
                st.pcpBatch = max(batch, 1)
                st.pcpHigh = max(st.watermarks.low, st.pcpBatch << 2)
            }
        }
    }
}
