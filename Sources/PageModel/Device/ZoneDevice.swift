// Whether memory is ZONE_DEVICE memory (include/linux/mmzone.h: zone_is_zone_device(),
// include/linux/mm.h: folio_is_zone_device()), asked by the free path, pinning, P2PDMA
// and the long-term pinning checks.

extension Machine {
    /// Linux: `folio_is_zone_device()`: the page's zone number is ZONE_DEVICE
    /// (`page_zonenum()`: from page->flags, or by pfn where the design keeps no flags in
    /// the page, memdesc8).
    @inline(__always)
    func isZoneDevice(_ pfn: Int) -> Bool {
        pins.deviceZoneIndex >= 0 && context.zone(of: pfn) == pins.deviceZoneIndex
    }
}
