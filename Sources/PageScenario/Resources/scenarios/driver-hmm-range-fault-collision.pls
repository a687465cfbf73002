scenario "a driver's hmm_range_fault() under its interval notifier: a concurrent invalidation makes it -EBUSY, retried until HMM_RANGE_DEFAULT_TIMEOUT"
# A GPU driver mirroring a user buffer (lib/test_hmm.c dmirror_range_fault(), v6.19):
# mmu_interval_notifier_insert() over the range, then in a loop mmu_interval_read_begin(),
# hmm_range_fault() under the mmap_lock, and mmu_interval_read_retry() under its own lock;
# -EBUSY from either goes round again until HMM_RANGE_DEFAULT_TIMEOUT (1000 ms,
# include/linux/hmm.h). hmm_range_fault() (mm/hmm.c) checks
# mmu_interval_check_retry(range->notifier, range->notifier_seq) before it walks: an
# invalidation of the range after read_begin (mm/mmu_notifier.c mn_itree_invalidate()
# gave the notifier a new sequence) is -EBUSY before anything is faulted.
# `collisions=N`: another thread's invalidation of the range (MMU_NOTIFY_CLEAR) lands
# between read_begin and the walk on each of the first N passes. The model's clock counts
# a pass as one jiffy at HZ=1000, so the timeout allows 1001 passes.
# Device-private anonymous memory: the designs that can hold it (see
# seed-001-device-private-pages-are-never-pinned).
designs mainline, dma-pinned-field, lru-pinned, page-ext, proxy
machine device_private=true
p = process
a = mmap p 4*PAGE
d = dmirror_open p 0
# Three passes collide, the fourth walks: HMM_PFN_REQ_FAULT faults the four holes in
# (hmm_vma_fault() -> handle_mm_fault(), a read: the zero page, mapped read-only).
hmm_range_fault d a 4 collisions=3
expect errno == ok
expect mapped(p, a+3*PAGE) == true
expect writable(p, a) == false
# Every pass collides: -EBUSY from the check before the walk, so the write fault
# HMM_PFN_REQ_WRITE asks for is never made and the pages stay read-only.
hmm_range_fault d a 4 write=true collisions=1001
expect errno == EBUSY
expect writable(p, a) == false
# 1000 collisions leave the last pass (jiffies 1000, not yet time_after the timeout),
# a clean walk of the four mapped pages.
hmm_range_fault d a 4 collisions=1000
expect errno == ok
# A fault the walk makes can invalidate the range itself: a write to the zero page is a
# COW copy (wp_page_copy(): MMU_NOTIFY_CLEAR over the page), and hmm_vma_fault() faults
# one PTE at a time and returns -EBUSY, after which hmm_range_fault()'s check finds its
# own sequence stale. So each pass makes one page writable: with 998 collisions the
# passes at jiffies 998, 999 and 1000 copy pages 0-2 and the timeout leaves page 3.
hmm_range_fault d a 4 write=true collisions=998
expect errno == EBUSY
expect writable(p, a+2*PAGE) == true
expect writable(p, a+3*PAGE) == false
hmm_range_fault d a 4 write=true
expect errno == ok
expect writable(p, a+3*PAGE) == true
fill p a 4*PAGE 0x5a
# A page on this device is left where it is (hmm_vma_handle_pte(): a device-private
# entry whose pgmap->owner is range->dev_private_owner is reported, not faulted), even
# when the walk is retried; another device's walk faults it home through migrate_to_ram().
dmirror_migrate_to_dev d a 4
hmm_range_fault d a 4 collisions=2
expect errno == ok
expect is_device_private(p@a) == true
e = dmirror_open p 1
hmm_range_fault e a 1
expect is_device_private(p@a) == false
expect is_device_private(p@a+PAGE) == true
expect memory(p, a, 4*PAGE) == fill(0x5a)
# An empty range cannot be subscribed: __mmu_interval_notifier_insert() is -EOVERFLOW
# for length 0.
hmm_range_fault d a 0
expect errno == EOVERFLOW
expect diagnostics(all) == 0
