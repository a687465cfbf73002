scenario "cow.c: a R/O long-term pin of a COW-shared page unshares it, so the pin sees later writes and the child does not"
# tools/testing/selftests/mm/cow.c do_test_ro_pin() ("Longterm R/O pin is reliable"):
# FOLL_LONGTERM without FOLL_WRITE on a shared anonymous page triggers an unshare fault
# (FAULT_FLAG_UNSHARE, mm/gup.c gup_must_unshare()), copying the page for the pinner.
include "include/anon-page.pls"
c = fork p
pins = pin_user_pages p a 1 flags=longterm
expect vmstat(unshare_copies) == 1
expect same_page(pins[0], p@a) == true
fill p a PAGE 0xff
expect bytes(pins[0], 0, 4096) == fill(0xff)
expect memory(c, a, 4096) == fill(0x5a)
unpin_user_pages pins
expect vmstat(pins_outstanding) == 0
