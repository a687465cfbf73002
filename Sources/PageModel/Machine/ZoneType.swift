// enum zone_type, include/linux/mmzone.h (v6.19 lines 786-870).
import PageLayout

/// The kinds of zone. Which exist is a kernel-config choice, and a zone's index
/// (ZONE_NORMAL = 2 on x86_64, 1 on i386) is its position among those that exist, as in
/// the kernel's `enum zone_type`; `MachineConfig.zones` fixes that order.
public enum ZoneType: String, CaseIterable, Sendable, Codable, CustomStringConvertible {
    case dma = "DMA"
    case dma32 = "DMA32"
    case normal = "Normal"
    case highmem = "HighMem"
    case movable = "Movable"
    case device = "Device"

    public var description: String { rawValue }

    /// The zones a defconfig-like kernel of the arch has, in `enum zone_type` order.
    /// x86_64: ZONE_DMA, ZONE_DMA32, ZONE_NORMAL, ZONE_MOVABLE, ZONE_DEVICE (ZONE_DEVICE
    /// needs SPARSEMEM_VMEMMAP, 64-bit only [mm/Kconfig ZONE_DEVICE]); i386: DMA, NORMAL,
    /// HIGHMEM, MOVABLE; 32-bit ARM: NORMAL, HIGHMEM, MOVABLE; arm64: DMA, DMA32, NORMAL,
    /// MOVABLE, DEVICE.
    public static func defaults(for arch: Arch) -> [ZoneType] {
        switch arch {
        case .x86_64, .arm64: [.dma, .dma32, .normal, .movable, .device]
        case .i386, .i386PAE: [.dma, .normal, .highmem, .movable]
        case .arm: [.normal, .highmem, .movable]
        }
    }

    /// The highest physical address (exclusive) a zone may hold on the arch, for the
    /// zones bounded by address: MAX_DMA_PFN (16 MiB on x86 [arch/x86/include/asm/dma.h]),
    /// MAX_DMA32_PFN (4 GiB), and the end of lowmem on 32-bit (896 MiB on i386 with the
    /// 3G/1G split [arch/x86/include/asm/pgtable_32_areas.h]; 768 MiB on ARM's default
    /// VMSPLIT_3G with a 240 MiB vmalloc area). nil: no fixed upper bound.
    public func addressLimit(on arch: Arch) -> UInt64? {
        switch (self, arch) {
        case (.dma, .x86_64), (.dma, .i386), (.dma, .i386PAE): 16 << 20
        // arm64's zone_dma_limit is 4 GiB without a device tree restriction, which
        // leaves ZONE_DMA32 empty, as on such machines.
        case (.dma, .arm64): 4 << 30
        case (.dma32, _): 4 << 30
        case (.normal, .i386), (.normal, .i386PAE): 896 << 20
        case (.normal, .arm): 768 << 20
        default: nil
        }
    }
}
