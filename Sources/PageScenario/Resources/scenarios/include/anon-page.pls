# Shared setup: one process with one anonymous page written (PAGE bytes of 0x5a).
p = process
a = mmap p PAGE
fill p a PAGE 0x5a
