// The shape of a model machine: RAM and holes, NUMA nodes, zones, memory sections and
// the design (include/linux/mmzone.h, mm/sparse.c, arch/*/include/asm/sparsemem.h).
import PageLayout

/// A physical byte range [start, end) with no RAM behind it (an e820 hole, the PCI hole).
public struct PhysicalHole: Sendable, Equatable, Hashable, Codable {
    public var start: UInt64
    public var end: UInt64
    public init(start: UInt64, end: UInt64) {
        self.start = start
        self.end = end
    }
}

/// Everything that fixes a model machine before it is built. `validate()` rejects the
/// impossible ones with a typed error; `Machine(config:)` calls it.
public struct MachineConfig: Sendable, Equatable {
    /// PAGE_SIZE: the model has 4 KiB pages only (PAGE_SHIFT 12).
    public static let pageShift = 12
    public static let pageSize = 1 << pageShift

    /// Bytes of RAM. Placed from physical address 0 upwards, skipping `holes`.
    public var ramBytes: UInt64
    /// Physical ranges without RAM, page aligned, sorted, not overlapping.
    public var holes: [PhysicalHole]
    /// NUMA nodes; the physical address space is split between them by whole sections.
    public var nodes: Int
    /// The descriptor design, which fixes the layout of struct page and the descriptors.
    public var design: Design
    /// The kernel configuration: arch, zones, page flags and their bit budget.
    public var kernel: KernelConfig
    /// Bytes of ZONE_MOVABLE, taken from the top of the last node (`movablecore=`).
    public var movableBytes: UInt64
    /// Section numbers whose memory is offline (memory hotplug): their memmap exists,
    /// their pages are not handed to the buddy allocator.
    public var offlineSections: Set<Int>
    /// The page_ext clients the kernel would enable (their `need()` returns true).
    public var pageExtClients: PageExtClients

    /// A machine of `arch` with that arch's default kernel config
    /// (`Arch.defaultPresetName`), or with `kernel` when given.
    public init(ramBytes: UInt64, holes: [PhysicalHole] = [], nodes: Int = 1,
                design: Design = .mainline, arch: Arch = .x86_64, kernel: KernelConfig? = nil,
                movableBytes: UInt64 = 0, offlineSections: Set<Int> = [],
                pageExtClients: PageExtClients = []) throws(MachineError) {
        self.ramBytes = ramBytes
        self.holes = holes
        self.nodes = nodes
        self.design = design
        if let kernel {
            self.kernel = kernel
        } else {
            do {
                self.kernel = try KernelConfig.preset(arch.defaultPresetName)
            } catch {
                throw .layout(error.description)
            }
        }
        self.movableBytes = movableBytes
        self.offlineSections = offlineSections
        self.pageExtClients = pageExtClients
    }

    public var arch: Arch { kernel.arch }
    /// The page->flags bit budget of the kernel config.
    public var flagsBudget: FlagsBudget { FlagsBudget(config: kernel) }
    /// The descriptor-layout inputs (with `_last_cpupid` where the budget moves it out).
    public var layout: LayoutConfig { flagsBudget.layoutConfig }
    /// The zones the kernel config has, in `enum zone_type` order.
    public var zones: [Zone] { Zone.zones(of: kernel) }
    /// PFN_SECTION_SHIFT = SECTION_SIZE_BITS - PAGE_SHIFT.
    public var pfnSectionShift: Int { arch.sectionSizeBits - Self.pageShift }
    /// PAGES_PER_SECTION.
    public var pagesPerSection: Int { 1 << pfnSectionShift }
    public var sectionBytes: UInt64 { 1 << UInt64(arch.sectionSizeBits) }
    /// The end of the physical address space: RAM plus holes below it.
    public var physicalEnd: UInt64 { ramBytes + holes.reduce(0) { $0 + ($1.end - $1.start) } }
    /// Pfns spanned, holes included.
    public var spannedPfns: Int { Int(physicalEnd >> UInt64(Self.pageShift)) }
    /// Sections spanned (NR_MEM_SECTIONS needed for this machine).
    public var sectionCount: Int { Int((physicalEnd + sectionBytes - 1) / sectionBytes) }

    /// Rejects impossible machines: zero RAM, RAM or movable memory that is not whole
    /// sections, zero nodes, more nodes than sections, more physical memory than
    /// MAX_PHYSMEM_BITS, zones the arch cannot have, bad holes.
    public func validate() throws(MachineError) {
        guard ramBytes > 0 else { throw .zeroRAM }
        guard ramBytes % sectionBytes == 0 else {
            throw .notSectionMultiple(what: "RAM", bytes: ramBytes, sectionBytes: sectionBytes)
        }
        guard nodes > 0 else { throw .zeroNodes }
        guard movableBytes % sectionBytes == 0 else {
            throw .notSectionMultiple(what: "ZONE_MOVABLE", bytes: movableBytes, sectionBytes: sectionBytes)
        }
        var previousEnd: UInt64 = 0
        for hole in holes {
            let page = UInt64(Self.pageSize)
            guard hole.start < hole.end, hole.start % page == 0, hole.end % page == 0 else {
                throw .badHole("[\(hole.start), \(hole.end)) is empty or not page aligned")
            }
            guard hole.start >= previousEnd else {
                throw .badHole("holes must be sorted and must not overlap")
            }
            guard hole.start < physicalEnd else {
                throw .badHole("[\(hole.start), \(hole.end)) lies beyond the end of RAM")
            }
            previousEnd = hole.end
        }
        let maxBits = arch.maxPhysmemBits
        guard maxBits >= 64 || physicalEnd <= (UInt64(1) << UInt64(maxBits)) else {
            throw .beyondPhysmem(bytes: physicalEnd, arch: arch, maxPhysmemBits: maxBits)
        }
        guard nodes <= sectionCount else { throw .tooManyNodes(nodes: nodes, sections: sectionCount) }
        if arch.bitsPerLong == 32, !zones.contains(.highmem), let lowmem = Zone.normal.addressLimit(on: arch), physicalEnd > lowmem {
            throw .beyondLowmem(bytes: physicalEnd, lowmemBytes: lowmem)
        }
        // MAX_NUMNODES = 1 << NODES_SHIFT with CONFIG_NUMA, else 1.
        let maxNodes = kernel.isEnabled("NUMA") ? 1 << (kernel.number("NODES_SHIFT") ?? 0) : 1
        guard nodes <= maxNodes else { throw .tooManyNodesForConfig(nodes: nodes, maxNumnodes: maxNodes) }
        if let error = flagsBudget.error { throw .layout("the kernel config does not build: \(error)") }
        if let refusal = ModelLayout.refusal(kernel.kernel, bitsPerLong: arch.bitsPerLong) { throw .layout(refusal) }
        if kernel.kernel != .reference, design != .mainline {
            throw .layout("the designs are variants of v\(KernelVersion.reference)'s layout; a Linux \(kernel.kernel) machine takes design mainline")
        }
        if let reason = design.unfitReason(on: arch) {
            throw .designDoesNotFitArch(design: design, arch: arch, reason: reason)
        }
        guard movableBytes < ramBytes || movableBytes == 0 else {
            throw .badHole("ZONE_MOVABLE (\(movableBytes) bytes) leaves no RAM for the kernel")
        }
        if movableBytes > 0, !zones.contains(.movable) {
            throw .zoneNotAvailable(zone: Zone.movable.kernelName, arch: arch)
        }
    }
}
