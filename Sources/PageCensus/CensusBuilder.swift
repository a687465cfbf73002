// Classifies pfns as they stream in, chunk by chunk, and counts them. The per-pfn loop
// allocates nothing, looks nothing up in a dictionary (only when a run of equal values
// ends) and calls nothing dynamically, so a census is linear in pfns and memory stays
// at a few chunks whatever the machine's size.

/// Builds a `Census` from /proc/kpageflags, kpagecount and kpagecgroup values fed in pfn
/// order. Tails are given their head's kind (older kernels leave a tail's own flags
/// almost empty; 6.9+ copy the folio's), folio orders come from head/tail runs, and
/// free memory is decomposed into naturally aligned buddy blocks.
public struct CensusBuilder {
    private var census: Census
    private let ram: [Range<Int>]
    private let pagesPerSection: Int
    private var nextPfn = 0

    // Per-kind counters, flat: [kind * statStride + field].
    private var stats = [Int](repeating: 0, count: PageKind.count * 6)
    private static let statStride = 6
    private var units = [Int](repeating: 0, count: PageKind.count * (Census.maxFolioOrder + 1))

    // The compound (head + tails) being walked.
    private var compoundOpen = false
    private var compoundKind = PageKind.untyped
    private var compoundHead = 0
    private var compoundTails = 0
    private var compoundTHP = false

    // The run of free (buddy) pfns being walked.
    private var buddyStart = 0
    private var buddyLength = 0

    // Runs of equal values, flushed into dictionaries when they end.
    private var flagsRunValue: UInt64 = 0
    private var flagsRunLength = 0
    private var flagIndex: [UInt64: Int] = [:]
    private var mapcountSmall = [Int](repeating: 0, count: 1024)
    private var cgroupRunValue: UInt64 = 0
    private var cgroupRunLength = 0

    // The picture, when asked for.
    private var picturePixels: [UInt8]?
    private let pictureBlock: Int
    private var pictureCounts = [Int](repeating: 0, count: PageKind.count)

    /// `info` carries iomem (RAM ranges; without it every pfn counts as RAM), zoneinfo,
    /// buddyinfo and vmstat. `expectedPfns` sizes the picture when `picture` is true.
    /// `pictureMaxPixels` bounds the picture: above it, one pixel stands for a block of
    /// 2^k pfns and takes the block's most common kind.
    public init(info: SnapshotInfo, picture: Bool = false, expectedPfns: Int = 0, pictureMaxPixels: Int = 1 << 23) {
        census = Census(info: info)
        pagesPerSection = max(1, info.pagesPerSection)
        if let iomem = info.text("iomem") {
            let map = Iomem(parsing: iomem, pageShift: info.pageSize.trailingZeroBitCount)
            ram = map.ramRanges
            census.ramPages = map.ramPages
        } else {
            ram = [0..<Int.max]
        }
        census.zones = info.text("zoneinfo").map(ZoneInfo.parse) ?? []
        census.buddyinfo = info.text("buddyinfo").map(BuddyInfo.parse) ?? []
        census.vmalloc = info.text("vmallocinfo").map(VmallocInfoFile.parse)
        census.zsmallocPages = info.text("vmstat").flatMap { KeyValueFile.parse($0)["nr_zspages"] } ?? 0
        pictureBlock = KindPicture.pfnsPerPixel(pfns: expectedPfns, maxPixels: pictureMaxPixels)
        if picture { picturePixels = [UInt8](); picturePixels?.reserveCapacity(expectedPfns / pictureBlock + 1) }
    }

    /// Feeds the next `flags.count` pfns. `counts` and `cgroups` have the same length
    /// (zeros where the file is not available). A section is recognised as
    /// uninitialised memmap only when it lies whole inside one call, so callers feed
    /// chunks that are multiples of PAGES_PER_SECTION (the readers do).
    public mutating func consume(flags: [UInt64], counts: [UInt64], cgroups: [UInt64]) {
        let n = min(flags.count, counts.count, cgroups.count)
        flags.withUnsafeBufferPointer { f in
            counts.withUnsafeBufferPointer { c in
                cgroups.withUnsafeBufferPointer { g in
                    consume(f, c, g, n)
                }
            }
        }
    }

    /// The same as `consume(flags:counts:cgroups:)`, on buffers the caller owns.
    public mutating func consume(flags: UnsafeBufferPointer<UInt64>, counts: UnsafeBufferPointer<UInt64>,
                                 cgroups: UnsafeBufferPointer<UInt64>) {
        consume(flags, counts, cgroups, min(flags.count, counts.count, cgroups.count))
    }

    private mutating func consume(_ flags: UnsafeBufferPointer<UInt64>, _ counts: UnsafeBufferPointer<UInt64>,
                                  _ cgroups: UnsafeBufferPointer<UInt64>, _ n: Int) {
        let head = KernelPageFlags.compoundHead.rawValue, tail = KernelPageFlags.compoundTail.rawValue
        let buddy = KernelPageFlags.buddy.rawValue, thp = KernelPageFlags.thp.rawValue
        let slabAnon = KernelPageFlags([.slab, .anon]).rawValue, slabKsm = KernelPageFlags([.slab, .ksm]).rawValue
        let perSection = pagesPerSection
        let first = nextPfn
        var ramIndex = ram.firstIndex(where: { $0.upperBound > first }) ?? ram.count
        var inRAM = false, ramBoundary = first
        var sectionZero = false, sectionHasMemmap = false
        var nextSection = first
        let stride = Self.statStride
        var stats = self.stats
        var units = self.units
        var mapcounts = self.mapcountSmall
        self.stats = []; self.units = []; self.mapcountSmall = []
        var slabWithAnon = 0, slabWithKsm = 0
        var flagsValue = flagsRunValue, flagsLength = flagsRunLength
        var cgroupValue = cgroupRunValue, cgroupLength = cgroupRunLength
        let wantPicture = picturePixels != nil
        defer {
            self.stats = stats; self.units = units; self.mapcountSmall = mapcounts
            census.slabWithAnon += slabWithAnon; census.slabWithKsm += slabWithKsm
            flagsRunValue = flagsValue; flagsRunLength = flagsLength
            cgroupRunValue = cgroupValue; cgroupRunLength = cgroupLength
        }
        stats.withUnsafeMutableBufferPointer { st in
        units.withUnsafeMutableBufferPointer { un in
        mapcounts.withUnsafeMutableBufferPointer { mc in
        for i in 0..<n {
            let pfn = first + i
            if pfn == nextSection {
                let offset = pfn % perSection
                nextSection = pfn - offset + perSection
                let end = i + (nextSection - pfn)
                sectionZero = false
                if offset == 0 && end <= n {
                    var any: UInt64 = 0
                    for j in i..<end { any |= flags[j] | counts[j] | cgroups[j] }
                    sectionZero = any == 0
                }
                sectionHasMemmap = sectionHoldsRAM(pfn - offset, from: ramIndex)
            }
            if pfn >= ramBoundary {
                while ramIndex < ram.count && ram[ramIndex].upperBound <= pfn { ramIndex += 1 }
                if ramIndex < ram.count && ram[ramIndex].lowerBound <= pfn {
                    inRAM = true; ramBoundary = ram[ramIndex].upperBound
                } else {
                    inRAM = false; ramBoundary = ramIndex < ram.count ? ram[ramIndex].lowerBound : Int.max
                }
            }
            let f = flags[i]
            let kind: PageKind
            if f == 0 {
                if compoundOpen { closeCompound(un) }
                kind = !inRAM ? .hole : sectionZero ? .uninitialised : .untyped
                if kind == .untyped { un[Int(kind.rawValue) * (Census.maxFolioOrder + 1)] += 1 }
            } else if f & tail != 0 && compoundOpen && f & buddy == 0 {
                kind = compoundKind
                compoundTails += 1
                st[Int(kind.rawValue) * stride + 2] += 1
            } else {
                if compoundOpen { closeCompound(un) }
                kind = PageKind.classify(f)
                let k = Int(kind.rawValue)
                if f & head != 0 {
                    compoundOpen = true; compoundKind = kind; compoundHead = pfn
                    compoundTails = 0; compoundTHP = f & thp != 0
                    st[k * stride + 1] += 1
                } else if f & tail != 0 {
                    st[k * stride + 2] += 1   // a tail whose head is not in this census
                } else if kind != .free {
                    un[k * (Census.maxFolioOrder + 1)] += 1
                }
                if f & buddy != 0 {
                    if pfn == buddyStart + buddyLength { buddyLength += 1 } else {
                        flushBuddy(); buddyStart = pfn; buddyLength = 1
                    }
                }
            }
            if f & slabAnon == slabAnon { slabWithAnon += 1 }
            if f & slabKsm == slabKsm { slabWithKsm += 1 }
            let k = Int(kind.rawValue) * stride
            st[k] += 1
            let c = counts[i]
            if c != 0 { st[k + 3] += 1 }
            if c < 1024 { mc[Int(c)] += 1 } else { recordLargeMapcount(c) }
            let g = cgroups[i]
            if g != 0 { st[k + 4] += 1 }
            if g == cgroupValue { cgroupLength += 1 } else {
                recordCgroupRun(cgroupValue, cgroupLength); cgroupValue = g; cgroupLength = 1
            }
            if sectionHasMemmap { st[k + 5] += 1 }
            if f == flagsValue && flagsLength > 0 { flagsLength += 1 } else {
                recordFlagsRun(flagsValue, flagsLength); flagsValue = f; flagsLength = 1
            }
            if wantPicture { addPixel(kind) }
        }
        }
        }
        }
        nextPfn = first + n
    }

    /// Whether the section starting at `start` holds any System RAM (and so a memmap).
    private func sectionHoldsRAM(_ start: Int, from index: Int) -> Bool {
        let end = start + pagesPerSection
        var i = index
        while i > 0 && ram[i - 1].upperBound > start { i -= 1 }
        while i < ram.count && ram[i].lowerBound < end {
            if ram[i].upperBound > start { return true }
            i += 1
        }
        return false
    }

    private mutating func closeCompound(_ un: UnsafeMutableBufferPointer<Int>) {
        compoundOpen = false
        let pages = compoundTails + 1
        let order = pages.trailingZeroBitCount
        guard pages & (pages - 1) == 0, compoundHead & (pages - 1) == 0, order <= Census.maxFolioOrder else {
            census.irregularCompounds += 1
            return
        }
        un[Int(compoundKind.rawValue) * (Census.maxFolioOrder + 1) + order] += 1
        if compoundTHP { census.thpHeads[order] += 1 }
    }

    /// Splits the run of free pfns into naturally aligned blocks, largest first, as the
    /// buddy allocator keeps them (free blocks that are buddies of each other merge, so
    /// a maximal aligned block is one free-list entry).
    private mutating func flushBuddy() {
        var pfn = buddyStart, left = buddyLength
        while left > 0 {
            var order = min(pfn == 0 ? Census.maxPageOrder : pfn.trailingZeroBitCount, Census.maxPageOrder)
            while 1 << order > left { order -= 1 }
            census.buddyBlocks[order] += 1
            pfn += 1 << order
            left -= 1 << order
        }
        buddyLength = 0
    }

    /// Distinct kpageflags, kpagecount and kpagecgroup values kept: a real machine has a
    /// few hundred flag combinations and cgroups; random data would have one per pfn and
    /// make the census (and its JSON) as large as the input. Pfns beyond are counted and
    /// the census says so.
    public static let maxDistinctValues = 1 << 16
    /// Pfns whose flags, count or cgroup value was not kept (`maxDistinctValues`).
    private var unkept = (flags: 0, counts: 0, cgroups: 0)

    private mutating func recordFlagsRun(_ value: UInt64, _ length: Int) {
        guard length > 0 else { return }
        if let index = flagIndex[value] {
            census.flagCombinations[index].pages += length
        } else if flagIndex.count >= Self.maxDistinctValues {
            unkept.flags += length
        } else {
            flagIndex[value] = census.flagCombinations.count
            census.flagCombinations.append(FlagCount(flags: value, pages: length))
        }
    }

    private mutating func recordCgroupRun(_ value: UInt64, _ length: Int) {
        guard value != 0 && length > 0 else { return }
        if census.cgroups[value] == nil, census.cgroups.count >= Self.maxDistinctValues {
            unkept.cgroups += length
        } else {
            census.cgroups[value, default: 0] += length
        }
    }

    private mutating func recordLargeMapcount(_ count: UInt64) {
        let key = Int(clamping: count)
        if census.mapcount[key] == nil, census.mapcount.count >= Self.maxDistinctValues {
            unkept.counts += 1
        } else {
            census.mapcount[key, default: 0] += 1
        }
    }

    /// The warnings of a finished census: values not kept, and a kpageflags that ends
    /// before the RAM iomem lists.
    private func warnings() -> [String] {
        var result: [String] = []
        for (pages, what) in [(unkept.flags, "kpageflags values"), (unkept.counts, "kpagecount values"), (unkept.cgroups, "kpagecgroup inodes")]
        where pages > 0 {
            result.append("more than \(Self.maxDistinctValues) distinct \(what): \(pages) pfns with further ones are counted by kind only")
        }
        if let top = ram.last?.upperBound, top != Int.max, nextPfn < top {
            result.append("kpageflags ends at pfn \(nextPfn), but iomem lists System RAM up to pfn \(top): the pfns after it are not in the census")
        }
        return result
    }

    private mutating func flushFlagsRun() {
        recordFlagsRun(flagsRunValue, flagsRunLength)
        flagsRunLength = 0
    }

    private mutating func flushCgroupRun() {
        recordCgroupRun(cgroupRunValue, cgroupRunLength)
        cgroupRunLength = 0
    }

    private mutating func addPixel(_ kind: PageKind) {
        if pictureBlock == 1 { picturePixels?.append(kind.rawValue); return }
        pictureCounts[Int(kind.rawValue)] += 1
        if (nextPixelFill + 1) % pictureBlock == 0 { emitPixel() } else { nextPixelFill += 1 }
    }
    private var nextPixelFill = 0

    private mutating func emitPixel() {
        var best = 0
        for k in 1..<PageKind.count where pictureCounts[k] > pictureCounts[best] { best = k }
        picturePixels?.append(UInt8(best))
        for k in 0..<PageKind.count { pictureCounts[k] = 0 }
        nextPixelFill = 0
    }

    /// Ends the census: closes the open runs and returns the counts.
    public mutating func finish() -> Census {
        if compoundOpen {
            var local = units
            units = []
            local.withUnsafeMutableBufferPointer { closeCompound($0) }
            units = local
        }
        flushBuddy()
        flushFlagsRun()
        flushCgroupRun()
        if pictureCounts.contains(where: { $0 > 0 }) { emitPixel() }
        var result = census
        result.pfns = nextPfn
        for kind in PageKind.allCases {
            let k = Int(kind.rawValue)
            var s = KindStats()
            s.pages = stats[k * Self.statStride]
            s.heads = stats[k * Self.statStride + 1]
            s.tails = stats[k * Self.statStride + 2]
            s.mapped = stats[k * Self.statStride + 3]
            s.charged = stats[k * Self.statStride + 4]
            s.memmapPages = stats[k * Self.statStride + 5]
            result.kinds[k] = s
            result.units[k] = Array(units[(k * (Census.maxFolioOrder + 1))..<((k + 1) * (Census.maxFolioOrder + 1))])
        }
        result.pfnsWithMemmap = result.kinds.reduce(0) { $0 + $1.memmapPages }
        for (value, count) in mapcountSmall.enumerated() where count > 0 { result.mapcount[value] = count }
        if let pixels = picturePixels { result.picture = KindPicture(pfnsPerPixel: pictureBlock, pixels: pixels) }
        result.warnings += warnings()
        return result
    }
}
