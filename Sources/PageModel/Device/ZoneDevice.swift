// Whether memory is ZONE_DEVICE memory (include/linux/mmzone.h: zone_is_zone_device(),
// include/linux/mm.h: folio_is_zone_device()), asked by the free path, pinning, P2PDMA
// and the long-term pinning checks.

extension Machine {
    /// Linux: `folio_is_zone_device()`: the zone in page->flags is ZONE_DEVICE. Only the
    /// struct page designs have ZONE_DEVICE memory (`memremapPages` refuses the others).
    @inline(__always)
    func isZoneDevice(_ pfn: Int) -> Bool {
        pins.deviceZoneIndex >= 0 && layout.kind.describesZoneDevice && context.zone(of: pfn) == pins.deviceZoneIndex
    }
}
