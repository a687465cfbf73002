// `pagelab census` as text tables for people.
import PageCensus

public enum CensusText {
    /// `kpageflags`, when given, adds what /proc/kpageflags means in that kernel version
    /// and the snapshot's bits it never writes (KpageflagsSection).
    public static func render(_ census: Census, costs: [DesignCensusCost], machines: [Census] = [], seconds: Double,
                              kpageflags: KernelPageFlags.Semantics? = nil) -> String {
        let ps = census.pageSize
        var out = "Census of \(census.info.machine.isEmpty ? "a machine" : census.info.machine)"
        out += " (Linux \(census.info.kernelRelease.isEmpty ? "unknown" : census.info.kernelRelease), \(census.info.arch))"
        out += ": \(census.pfns) pfns, \(census.pfnsWithMemmap) with memmap, RAM \(Units.bytes(census.ramPages * ps))"
        out += seconds > 0 ? ", in \(Units.duration(seconds: seconds))\n\n" : "\n\n"
        for warning in census.warnings { out += "warning: \(warning)\n" }
        if !census.warnings.isEmpty { out += "\n" }

        if machines.count > 1 {
            var table = TextTable(["machine", "kernel", "pfns", "with memmap", "in use"])
            for m in machines {
                table.append([m.info.machine, m.info.kernelRelease, "\(m.pfns)", "\(m.pfnsWithMemmap)", Units.bytes(m.inUsePages * ps)])
            }
            out += "Machines\n" + table.render(indent: "  ") + "\n"
        }

        var kinds = TextTable(["kind", "pages", "size", "%", "heads", "tails", "mapped", "memcg"])
        for kind in PageKind.allCases {
            let s = census[kind]
            kinds.append([kind.description, "\(s.pages)", Units.bytes(s.pages * ps), Units.percent(Double(s.pages), of: Double(census.pfns)),
                          "\(s.heads)", "\(s.tails)", "\(s.mapped)", "\(s.charged)"])
        }
        kinds.append(["total", "\(census.pfns)", Units.bytes(census.pfns * ps), "", "", "", "", ""])
        out += "Pages by kind\n" + kinds.render(indent: "  ") + "\n"

        let maxOrder = census.units.map { $0.lastIndex(where: { $0 > 0 }) ?? 0 }.max() ?? 0
        let unitKinds = PageKind.allCases.filter { k in k != .untyped && census.units[Int(k.rawValue)].contains { $0 > 0 } }
        if !unitKinds.isEmpty {
            var orders = TextTable(["order"] + unitKinds.map(\.description) + ["THP-flagged"])
            for order in 0...maxOrder {
                orders.append(["\(order)"] + unitKinds.map { "\(census.units[Int($0.rawValue)][order])" } + ["\(census.thpHeads[order])"])
            }
            out += "Folios and other compounds by order (head + tail runs)\n" + orders.render(indent: "  ") + "\n"
        }

        var buddy = TextTable(["order"] + (0...Census.maxPageOrder).map { "\($0)" })
        buddy.append(["census"] + census.buddyBlocks.map { "\($0)" })
        if !census.buddyinfo.isEmpty {
            buddy.append(["buddyinfo"] + (0...Census.maxPageOrder).map { $0 < census.buddyinfo.count ? "\(census.buddyinfo[$0])" : "-" })
        }
        out += "Free blocks (runs of KPF_BUDDY split into aligned blocks) against /proc/buddyinfo\n" + buddy.render(indent: "  ") + "\n"

        let counts = DescriptorCounts(census)
        var descriptors = TextTable(["descriptor", "count"])
        descriptors.append(["folio (order 0)", "\(counts.smallFolios.reduce(0, +))"])
        descriptors.append(["folio (large)", "\(counts.largeFolios.reduce(0, +))"])
        descriptors.append(["slab", "\(counts.totalSlabs)"])
        descriptors.append(["ptdesc", "\(counts.totalPtdescs)"])
        descriptors.append(["zpdesc", "\(counts.totalZpdescs)"])
        out += "Descriptors a memdesc design allocates\n" + descriptors.render(indent: "  ") + "\n"

        var designs = TextTable(["design", "page", "memmap", "descriptors", "page_ext", "total", "% RAM", "in use", "B/in-use page", "not in use", "break-even order"])
        for c in costs {
            designs.append([c.design.rawValue, "\(c.structPageSize) B", Units.bytes(c.memmapBytes), Units.bytes(c.descriptorBytes),
                            Units.bytes(c.pageExtBytes), Units.bytes(c.totalBytes), Units.format(c.percentOfRAM, decimals: 2) + " %",
                            Units.bytes(c.inUseBytes), Units.format(c.inUseBytesPerPage, decimals: 1), Units.bytes(c.notInUseBytes),
                            c.breakEvenOrder.map { "\($0)" } ?? "-"])
        }
        out += "Cost per design (descriptor sizes: "
        if let m = costs.first(where: \.hasDescriptors) {
            out += "folio \(m.sizes.folio) B, large folio \(m.sizes.folioLarge) B, slab \(m.sizes.slab) B, ptdesc \(m.sizes.ptdesc) B, zpdesc \(m.sizes.zpdesc) B"
        }
        out += ")\n" + designs.render(indent: "  ") + "\n"

        var perKind = TextTable(["kind"] + costs.map(\.design.rawValue))
        for kind in PageKind.allCases where census[kind].memmapPages > 0 {
            perKind.append([kind.description] + costs.map { Units.bytes($0.perKind[Int(kind.rawValue)]) })
        }
        out += "Cost per design and kind\n" + perKind.render(indent: "  ") + "\n"

        var checks = TextTable(["check", "value"])
        checks.append(["uninitialised memmap (classified)", "\(census[.uninitialised].pages)"])
        checks.append(["zones: present - managed", "\(census.zonesUnmanaged)"])
        checks.append(["irregular head/tail runs", "\(census.irregularCompounds)"])
        if !census.buddyinfo.isEmpty {
            checks.append(["free-block orders 3-\(Census.maxPageOrder) equal to buddyinfo", census.buddyOrdersMatching.map(String.init).joined(separator: " ")])
        }
        checks.append(["slab pages with junk KPF_ANON", "\(census.slabWithAnon)"])
        checks.append(["slab pages with junk KPF_KSM", "\(census.slabWithKsm)"])
        checks.append(["memory cgroups charged", "\(census.cgroups.count)"])
        out += "Checks\n" + checks.render(indent: "  ") + "\n"

        if let kpageflags { out += KpageflagsSection(kpageflags, census: census).text }

        if let mainline = costs.first(where: { $0.design == .mainline }) {
            var counters = TextTable(["figure", "census", "kernel", "difference", "kernel counter"])
            var reasons = ""
            for check in KernelCounterChecks.checks(census, structPageSize: mainline.structPageSize) {
                counters.append([check.name, "\(check.census)", check.kernel.map(String.init) ?? "-",
                                 check.difference.map { $0 > 0 ? "+\($0)" : "\($0)" } ?? "-", check.counter])
                if !check.reason.isEmpty { reasons += "  \(check.name): \(check.reason)\n" }
            }
            out += "Against the kernel's own counters (/proc/vmstat, /proc/meminfo)\n" + counters.render(indent: "  ") + reasons + "\n"
        }

        var mapcount = TextTable(["mapcount", "pfns"])
        for (value, n) in census.mapcount.sorted(by: { $0.key < $1.key }).prefix(16) { mapcount.append(["\(value)", "\(n)"]) }
        if census.mapcount.count > 16 { mapcount.append(["(\(census.mapcount.count - 16) more values)", ""]) }
        out += "Pfns by /proc/kpagecount\n" + mapcount.render(indent: "  ")
        if !census.cgroups.isEmpty {
            var cg = TextTable(["cgroup inode", "pages", "size"])
            for (ino, n) in census.cgroups.sorted(by: { ($0.value, $0.key) > ($1.value, $1.key) }).prefix(10) {
                cg.append(["\(ino)", "\(n)", Units.bytes(n * ps)])
            }
            out += "\nMemcg-charged pages by cgroup (largest 10)\n" + cg.render(indent: "  ")
        }
        return out + CensusVmallocText.render(census)
    }
}
