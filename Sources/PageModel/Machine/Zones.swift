// The model's view of `enum zone_type` (include/linux/mmzone.h): PageLayout's `Zone`
// (which zones a kernel config has), plus the address limits that place them.
import PageLayout

extension Zone {
    /// The name /proc/zoneinfo and /proc/buddyinfo print (`zone_names[]` of mm/page_alloc.c).
    public var kernelName: String {
        switch self {
        case .dma: "DMA"
        case .dma32: "DMA32"
        case .normal: "Normal"
        case .highmem: "HighMem"
        case .movable: "Movable"
        case .device: "Device"
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
        case (.dma, .arm): 16 << 20
        case (.dma32, _): 4 << 30
        case (.normal, .i386), (.normal, .i386PAE): 896 << 20
        case (.normal, .arm): 768 << 20
        default: nil
        }
    }
}

extension Arch {
    /// The kernel configuration a model machine of this arch uses unless told otherwise:
    /// a distribution-like kernel on x86_64 (with ZONE_DEVICE, as GPUs and pmem need),
    /// the defconfig-like presets elsewhere.
    public var defaultPresetName: String {
        switch self {
        case .x86_64: "x86_64-distro"
        case .i386: "i386-defconfig"
        case .i386PAE: "i386-pae"
        case .arm: "arm-defconfig"
        case .arm64: "arm64-defconfig"
        }
    }
}
