// Typed errors of the PageModel module: impossible machine configurations and
// allocation failures the caller asked to see. Never a trap.
import PageLayout

/// An impossible or unsupported machine configuration. `description` is the one line
/// the command line prints before exiting with status 2.
public enum MachineError: Error, Equatable, CustomStringConvertible {
    case zeroRAM
    /// RAM (or a hole) that does not cover whole memory sections.
    case notSectionMultiple(what: String, bytes: UInt64, sectionBytes: UInt64)
    case zeroNodes
    case tooManyNodes(nodes: Int, sections: Int)
    /// More nodes than the kernel config's MAX_NUMNODES.
    case tooManyNodesForConfig(nodes: Int, maxNumnodes: Int)
    /// A memmap larger than the host's memory: building it would get the process killed.
    case memmapExceedsHost(memmapBytes: UInt64, hostBytes: UInt64)
    /// More physical address space than the architecture's MAX_PHYSMEM_BITS.
    case beyondPhysmem(bytes: UInt64, arch: Arch, maxPhysmemBits: Int)
    /// 32-bit memory above lowmem on a kernel without CONFIG_HIGHMEM (which ignores it).
    case beyondLowmem(bytes: UInt64, lowmemBytes: UInt64)
    /// A design whose layout does not exist on this architecture.
    case designDoesNotFitArch(design: Design, arch: Arch, reason: String)
    /// A zone the kernel cannot have on this architecture (ZONE_DEVICE on 32-bit x86).
    case zoneNotAvailable(zone: String, arch: Arch)
    /// The memmap or the descriptor heap does not fit the kernel's address space.
    case addressSpaceExhausted(what: String)
    /// The host refused to reserve memory for the model (mmap failed).
    case hostMemory(what: String, bytes: UInt64, errno: Int32)
    /// A hole outside RAM, overlapping another, or leaving no RAM.
    case badHole(String)
    case layout(String)
    /// A size that is not a number with an optional K/M/G/T/P suffix.
    case badSize(String)
    /// A size that is a number but out of range (negative, or beyond 64 bits).
    case sizeOutOfRange(String, reason: String)

    public var description: String {
        switch self {
        case .zeroRAM:
            "a machine needs RAM (got 0 bytes)"
        case let .notSectionMultiple(what, bytes, sectionBytes):
            "\(what) of \(bytes) bytes is not a multiple of the memory section size (\(sectionBytes) bytes)"
        case .zeroNodes:
            "a machine needs at least one NUMA node"
        case let .tooManyNodes(nodes, sections):
            "\(nodes) NUMA nodes cannot share \(sections) memory sections (at least one section per node)"
        case let .tooManyNodesForConfig(nodes, maxNumnodes):
            "\(nodes) NUMA nodes exceed the kernel config's MAX_NUMNODES (\(maxNumnodes))"
        case let .memmapExceedsHost(memmapBytes, hostBytes):
            "a memmap of \(memmapBytes) bytes does not fit this host's \(hostBytes) bytes of memory"
        case let .beyondPhysmem(bytes, arch, bits):
            "\(bytes) bytes of physical address space exceed \(arch)'s MAX_PHYSMEM_BITS (\(bits))"
        case let .beyondLowmem(bytes, lowmemBytes):
            "\(bytes) bytes of RAM exceed lowmem (\(lowmemBytes) bytes) and the kernel config has no HIGHMEM"
        case let .designDoesNotFitArch(design, arch, reason):
            "design '\(design)' does not fit arch '\(arch)': \(reason)"
        case let .zoneNotAvailable(zone, arch):
            "zone \(zone) does not exist on arch '\(arch)'"
        case let .addressSpaceExhausted(what):
            "\(what) does not fit the kernel address space"
        case let .hostMemory(what, bytes, errno):
            "cannot reserve \(bytes) bytes of host memory for \(what) (errno \(errno))"
        case let .badHole(reason):
            "bad memory hole: \(reason)"
        case let .layout(reason):
            "layout: \(reason)"
        case let .sizeOutOfRange(text, reason):
            "size '\(text)' is out of range: \(reason)"
        case let .badSize(text):
            "'\(text)' is not a size (use a number with an optional K, M, G, T or P suffix, e.g. 64G)"
        }
    }
}
