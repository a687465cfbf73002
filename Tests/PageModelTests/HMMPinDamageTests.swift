// Seed 001 on the HMM mirror's own device pages (issue 14 item 5), per design: a pin
// of a device page under `lru-pinned` (J. Hubbard's v2, seed 002: dma_pinned_flags and
// dma_pinned_count in the lru words) lands on v6.19's `folio->pgmap` (the lru slot,
// include/linux/mm_types.h) and the ZONE_DEVICE arm's `zone_device_data` next to it; the
// damage shows when the device next uses the page (lib/test_hmm.c reads the backing page
// from zone_device_data, BACKING_PAGE(), and the pagemap from page_pgmap()) or frees it
// (free_zone_device_folio(), mm/memremap.c, calls `pgmap->ops->folio_free` through
// folio->pgmap: with pgmap gone the page never reaches dmirror_devmem_free() and never
// goes back on the device's free list). `lru-pinned-rearranged` (M. Wilcox's re-ordered
// ZONE_DEVICE arm) keeps pgmap and zone_device_data out of the pin words: the same pin
// damages nothing and the page goes home. The page is the one dmirror_devmem_alloc_page()
// makes (zone_device_page_init(): refcount 1, locked; zone_device_data the backing page
// for private memory) and the pin is the design's try_grab_folio(FOLL_PIN), whatever GUP
// path would reach it (GUP itself faults private pages home first: HMMMigrateTests).
//
// The memdesc designs keep pgmap in the device folio's descriptor (offset 8, v6.19's
// struct folio) and the pin count in the same descriptor's `_pincount`, apart from it:
// the pin damages nothing (`memdescPinLeavesPgmapInTheDescriptor`).
import PageLayout
@testable import PageModel
import Testing

@Suite struct HMMPinDamageTests {
    /// A device page of mirror device `id` (0 private, 2 coherent), allocated as the
    /// mirror allocates it, with its pgmap and zone_device_data before any pin.
    static func devicePage(_ design: Design, device id: Int) throws
        -> (Machine, DeviceMirrorDevice, Folio, pgmap: UInt64, data: UInt64) {
        let kernel = try KernelConfig.preset("x86_64-distro").setting(["DEVICE_PRIVATE": .yes])
        let machine = try Machine(config: MachineConfig(ramBytes: 128 << 20, design: design, kernel: kernel))
        let device = try DeviceMirrorDevice(machine: machine, id: id)
        let folio = try #require(device.allocPage())
        #expect(folio.refcount == 1)
        #expect(device.pagesInUse == 1)
        let page = folio.headPage
        let pgmap = try #require(machine.pagePgmap(page))
        #expect(pgmap.owner == device.owner)
        // dmirror_devmem_alloc_page(): zone_device_data names the backing page (private)
        // or is NULL (coherent: the page holds its own bytes).
        let data = machine.zoneDeviceData(page)
        if id < 2 { #expect(machine.memmap.page(atAddress: data) != nil) } else { #expect(data == 0) }
        return (machine, device, folio, folio.pgmap, data)
    }

    /// lru-pinned: the pin writes PageDmaPinned over pgmap and the count over
    /// zone_device_data; the device's next use cannot find its pagemap (nor, for private
    /// memory, its backing page), and when the page is freed free_zone_device_folio()
    /// finds no dev_pagemap, so the page never returns to the driver: a leak.
    @Test(arguments: [0, 2])
    func lruPinnedPinDamagesTheDevicePage(device id: Int) throws {
        let (machine, device, folio, _, _) = try Self.devicePage(.lruPinned, device: id)
        let page = folio.headPage
        let free = device.freePages
        try machine.tryGrabFolio(folio)
        // seed 002's SetPageDmaPinned() in lru.next = folio->pgmap; dma_pinned_count = 1
        // in lru.prev = zone_device_data.
        #expect(folio.pgmap == LRUPinnedPins.pageDmaPinned)
        #expect(page.zoneDeviceData == 1)
        // The device uses the page: page_pgmap() names no pagemap, and a private page's
        // data cannot be found (recorded as corruption, not trapped on).
        #expect(machine.pagePgmap(page) == nil)
        if id < 2 {
            #expect(device.dataPfn(page) == nil)
            #expect(machine.diagnostics.all.contains { $0.kind == .corruption && $0.reason.contains("zone_device_data") })
        }
        machine.unpinUserPage(page)
        #expect(folio.refcount == 1)
        #expect(machine.pagePgmap(page) == nil)
        // The device frees it: the last put reaches free_zone_device_folio() with no
        // pagemap, so dmirror_devmem_free() never runs.
        folio.unlock()
        machine.folioPut(folio)
        #expect(machine.diagnostics.all.contains { $0.kind == .corruption && $0.reason.hasPrefix("free_zone_device_folio") })
        #expect(device.freePages == free)
        #expect(device.pagesInUse == 1)
    }

    /// lru-pinned-rearranged: the same pin leaves pgmap and zone_device_data alone; the
    /// device still finds both, and the freed page goes back on its free list (and a
    /// private page's backing page is freed).
    @Test(arguments: [0, 2])
    func rearrangedPinLeavesTheDevicePageIntact(device id: Int) throws {
        let (machine, device, folio, pgmap, data) = try Self.devicePage(.lruPinnedRearranged, device: id)
        let page = folio.headPage
        let free = device.freePages
        try machine.tryGrabFolio(folio)
        #expect(machine.folioMaybeDMAPinned(folio))
        #expect(folio.pgmap == pgmap)
        #expect(page.zoneDeviceData == data)
        #expect(machine.pagePgmap(page)?.owner == device.owner)
        let backing = id < 2 ? try #require(device.dataPfn(page)) : page.pfn
        machine.unpinUserPage(page)
        #expect(folio.pgmap == pgmap)
        #expect(page.zoneDeviceData == data)
        folio.unlock()
        machine.folioPut(folio)
        #expect(device.freePages == free + 1)
        #expect(device.pagesInUse == 0)
        if id < 2 { #expect(machine.page(backing)?.refcount == 0) }
        #expect(machine.diagnostics.all.filter { $0.kind == .corruption || $0.kind == .bug }.isEmpty)
    }

    /// memdesc32 and memdesc8: the pin is counted in the device folio descriptor's
    /// `_pincount` (exact, every order), which is not the `pgmap` word at offset 8: the
    /// raw descriptor bytes keep the pagemap's address through pin and unpin, the device
    /// still finds its pagemap and backing page, and the freed page goes back on the
    /// device's free list (a private page's backing page freed with it).
    @Test(arguments: [Design.memdesc32, .memdesc8], [0, 2])
    func memdescPinLeavesPgmapInTheDescriptor(_ design: Design, device id: Int) throws {
        let (machine, device, folio, pgmap, data) = try Self.devicePage(design, device: id)
        let page = folio.headPage
        let free = device.freePages
        let expected = try #require(machine.pagePgmap(page)).address
        #expect(pgmap == expected)
        // The descriptor the page's memdesc word points to, read as raw bytes.
        let descriptor = page.memdesc & ~0xf
        #expect(descriptor == folio.address)
        func pgmapWord() -> UInt64 { machine.heap.pointer(descriptor).load(fromByteOffset: 8, as: UInt64.self) }
        #expect(pgmapWord() == expected)
        try machine.tryGrabFolio(folio)
        #expect(machine.folioMaybeDMAPinned(folio))
        #expect(folio.pincount == 1)
        #expect(pgmapWord() == expected)
        #expect(machine.zoneDeviceData(page) == data)
        #expect(machine.pagePgmap(page)?.owner == device.owner)
        let backing = id < 2 ? try #require(device.dataPfn(page)) : page.pfn
        machine.unpinUserPage(page)
        #expect(folio.pincount == 0)
        #expect(pgmapWord() == expected)
        folio.unlock()
        machine.folioPut(folio)
        #expect(device.freePages == free + 1)
        #expect(device.pagesInUse == 0)
        if id < 2 { #expect(HMMMigrateTests.folioRefcount(machine, backing) == 0) }
        #expect(machine.diagnostics.all.filter { $0.kind == .corruption || $0.kind == .bug }.isEmpty)
    }
}
