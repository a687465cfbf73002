scenario "driver story: an RDMA memory region pinned long-term, then the process forks and the child exits: the MR stays valid"
# ib_umem_get() pins with FOLL_WRITE|FOLL_LONGTERM (drivers/infiniband/core/umem.c).
# fork() copies every pinned anon page into the child (copy_present_page()); the
# parent's pages, which the HCA writes, stay mapped, writable and exclusive.
const N = 4
p = process
mr = mmap p N*PAGE
fill p mr N*PAGE 0x11
pins = pin_user_pages_fast p mr N flags=write|longterm
c = fork p
expect vmstat(fork_pinned_copies) == N
for i in 0..<N
  expect same_page(pins[i], p@mr+i*PAGE) == true
  expect writable(p, mr+i*PAGE) == true
  expect same_page(pins[i], c@mr+i*PAGE) == false
end
exit c
for i in 0..<N
  expect mapcount(pins[i]) == 1
  expect maybe_dma_pinned(pins[i]) == true
end
dma_write pins[2] 0 "rdma"
expect memory(p, mr+2*PAGE, 4) == "rdma"
unpin_user_pages pins dirty=true
exit p
expect vmstat(pins_outstanding) == 0
