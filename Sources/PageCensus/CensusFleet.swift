// Several snapshots (a fleet of machines) added up into one census.

extension Census {
    /// The sum of several censuses: every count adds up; the info names the fleet. Costs
    /// are linear in the counts, so the costs of the sum are the sum of the costs.
    public static func fleet(_ machines: [Census]) -> Census {
        guard let first = machines.first else { return Census(info: SnapshotInfo(kernelRelease: "")) }
        if machines.count == 1 { return first }
        let releases = Array(Set(machines.map(\.info.kernelRelease))).sorted()
        var info = SnapshotInfo(kernelRelease: releases.joined(separator: ", "), machine: "fleet of \(machines.count) machines",
                                arch: first.info.arch, pageSize: first.info.pageSize, pagesPerSection: first.info.pagesPerSection)
        info.createdAt = machines.map(\.info.createdAt).max() ?? 0
        var sum = Census(info: info)
        var flagIndex: [UInt64: Int] = [:]
        for m in machines {
            sum.pfns += m.pfns
            sum.pfnsWithMemmap += m.pfnsWithMemmap
            sum.ramPages += m.ramPages
            for k in 0..<PageKind.count {
                sum.kinds[k].pages += m.kinds[k].pages
                sum.kinds[k].heads += m.kinds[k].heads
                sum.kinds[k].tails += m.kinds[k].tails
                sum.kinds[k].mapped += m.kinds[k].mapped
                sum.kinds[k].charged += m.kinds[k].charged
                sum.kinds[k].memmapPages += m.kinds[k].memmapPages
                for o in 0...maxFolioOrder { sum.units[k][o] += m.units[k][o] }
            }
            sum.irregularCompounds += m.irregularCompounds
            for o in 0...maxFolioOrder { sum.thpHeads[o] += m.thpHeads[o] }
            for o in 0...maxPageOrder { sum.buddyBlocks[o] += m.buddyBlocks[o] }
            for (o, n) in m.buddyinfo.enumerated() {
                if o >= sum.buddyinfo.count { sum.buddyinfo.append(0) }
                sum.buddyinfo[o] += n
            }
            sum.zones += m.zones
            for (value, n) in m.mapcount { sum.mapcount[value, default: 0] += n }
            for (ino, n) in m.cgroups { sum.cgroups[ino, default: 0] += n }
            for entry in m.flagCombinations {
                if let i = flagIndex[entry.flags] { sum.flagCombinations[i].pages += entry.pages } else {
                    flagIndex[entry.flags] = sum.flagCombinations.count
                    sum.flagCombinations.append(entry)
                }
            }
            sum.slabWithAnon += m.slabWithAnon
            sum.slabWithKsm += m.slabWithKsm
            sum.zsmallocPages += m.zsmallocPages
            sum.warnings += m.warnings.map { "\(m.info.machine.isEmpty ? "a machine" : m.info.machine): \($0)" }
        }
        return sum
    }
}
