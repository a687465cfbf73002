scenario "seed 001: pin fields in page->lru overwrite ZONE_DEVICE's pgmap; Wilcox's rearranged arm does not"
# J. Hubbard v2, Jul 2018 (seeds 001, 002) keeps dma_pinned_flags/count in the lru words
# while a page is off the LRU; a ZONE_DEVICE page keeps its pgmap in the same words
# ("struct dev_pagemap *pgmap" aliases lru.prev), and get_user_pages() must work on them.
# M. Wilcox: "switch pgmap and hmm_data around" so the pad word takes the pin.
# The memdesc designs keep pgmap in the device folio descriptor, apart from the pin count
# (_pincount); page-ext has no page_ext for device memory and refuses the pin.
designs mainline, dma-pinned-field, lru-pinned, lru-pinned-rearranged, proxy, memdesc32, memdesc8
p = process
d = devdax_mmap p 4
pins = pin_user_pages p d 4 flags=write
expect count(pins) == 4
for i in 0..<4
  expect has_pgmap(pins[i]) == lru-pinned:false others:true
end
unpin_user_pages pins
# The overwritten pgmap is reported (a corruption record) when the pin is dropped;
# nothing is reported under the other designs.
expect vmstat(pin_corruptions) != lru-pinned:0
expect vmstat(pin_corruptions) == mainline:0 dma-pinned-field:0 lru-pinned-rearranged:0 proxy:0
expect diagnostics(corruption) != lru-pinned:0
expect diagnostics(corruption) == mainline:0 dma-pinned-field:0 lru-pinned-rearranged:0 proxy:0
expect vmstat(pins_outstanding) == 0
