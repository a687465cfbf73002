// The C baseline of `pin_user_pages_fast() + unpin_user_pages()` on already-faulted 4 KiB
// pages: what the model's GUP-fast loop would cost as plain C. It builds x86-64 4-level
// page tables (512 eight-byte entries per table) in a malloc'd arena over a memmap of
// 64-byte struct pages (_refcount at offset 52, compound_head at 8), then per page does
// what mm/gup.c does on mainline for a small folio: the lockless walk (one PGD/PUD read per
// PUD range, one PMD read per PMD range, one PTE read per page), the access check
// (present|user|rw, !special), page_folio(), try_get_folio() (folio_ref_try_add(): an
// add-unless-zero CAS loop, then the page_folio() re-check), the bias add of
// try_grab_folio_fast() (refs * (GUP_PIN_COUNTING_BIAS - 1)), the PMD and PTE re-check,
// the store into pages[]; then unpin_user_pages(): page_folio() and folio_put_refs(1024)
// per page (atomic sub-and-test). No statistics counters, no fork sequence count: the
// bare per-page work.
//
// With a third argument `thp`, the range is mapped by PMD leaves onto 2 MiB folios (order
// 9, compound heads in the tail pages, PG_head in the head's flags): per PMD,
// gup_fast_pmd_leaf() does one try_get_folio() of 512 references, the `_pincount += 512`
// of try_grab_folio_fast() for a large folio, the PMD re-check and the 512 stores into
// pages[]; unpin_user_pages() finds each folio's run (gup_folio_next(): page_folio() of
// every entry) and does `_pincount -= 512` and folio_put_refs(512) once per run.
//
// With a third argument `model`, it also does what the model adds per page on top of the
// kernel's work: the smp_mb__after_atomic() as a full fence (the model's portable form of
// it; on x86 the kernel's is only a compiler barrier), and the exact pin shadow every
// design keeps (an atomic add per pin, a compare-and-swap subtract per unpin).
//
//   cc -O2 -o pin_baseline pin_baseline.c && ./pin_baseline [MiB] [rounds] [model|thp]
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PAGE_SHIFT 12
#define PMD_SHIFT 21
#define PUD_SHIFT 30
#define PGD_SHIFT 39
#define PTRS 512
#define PTE_PRESENT (1ull << 0)
#define PTE_RW (1ull << 1)
#define PTE_USER (1ull << 2)
#define PTE_PSE (1ull << 7)
#define PTE_SPECIAL (1ull << 9)
#define PFN_MASK 0x000ffffffffff000ull
#define BIAS 1024
#define PG_HEAD (1ull << 6)
#define HPAGE_NR (1 << (PMD_SHIFT - PAGE_SHIFT))

struct page {                 // 64 bytes, as on x86-64
    uint64_t flags;
    uint64_t compound_head;   // lru.next / compound_head (bit 0: tail)
    uint64_t words[4];
    uint32_t mapcount;
    int32_t refcount;         // offset 52
    uint64_t memcg;
};
_Static_assert(sizeof(struct page) == 64, "struct page is 64 bytes");
_Static_assert(__builtin_offsetof(struct page, refcount) == 52, "_refcount at 52");

static uint64_t *arena;       // the page tables, 4 KiB each, the "physical" memory of tables
static size_t arena_tables, arena_used;
static struct page *memmap;
static int64_t *shadow;       // NULL: bare kernel work; else the model's exact pin count per pfn

static uint64_t *table(uint64_t pfn) { return arena + pfn * PTRS; }
static uint64_t new_table(void) { return arena_used++; }
static unsigned idx(uint64_t addr, int shift) { return (addr >> shift) & (PTRS - 1); }

static inline uint64_t load(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }

static inline struct page *page_folio(struct page *page) {
    uint64_t head = __atomic_load_n(&page->compound_head, __ATOMIC_RELAXED);
    return head & 1 ? (struct page *)(head - 1) : page;
}

// folio->_pincount: in the second struct page of a large folio (struct folio's third word
// of page[1] here; only its being a separate atomic matters).
static inline int32_t *pincount(struct page *folio) { return (int32_t *)&folio[1].words[1]; }
static inline int folio_test_large(struct page *folio) { return (__atomic_load_n(&folio->flags, __ATOMIC_RELAXED) & PG_HEAD) != 0; }

// folio_ref_try_add(): atomic_add_unless(&_refcount, refs, 0).
static inline int ref_try_add(struct page *folio, int refs) {
    int old = __atomic_load_n(&folio->refcount, __ATOMIC_RELAXED);
    do {
        if (old == 0) return 0;
    } while (!__atomic_compare_exchange_n(&folio->refcount, &old, old + refs, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    return 1;
}

static inline int access_ok(uint64_t pte) {
    uint64_t need = PTE_PRESENT | PTE_USER | PTE_RW;
    return (pte & need) == need && !(pte & PTE_SPECIAL);
}

static __attribute__((noinline)) long gup_fast(uint64_t pgd_pfn, uint64_t start, uint64_t end, struct page **pages) {
    long nr = 0;
    uint64_t addr = start;
    while (addr < end) {
        uint64_t pgd = load(&table(pgd_pfn)[idx(addr, PGD_SHIFT)]);
        if (!(pgd & PTE_PRESENT)) return nr;
        uint64_t pud = load(&table((pgd & PFN_MASK) >> PAGE_SHIFT)[idx(addr, PUD_SHIFT)]);
        if (!(pud & PTE_PRESENT) || (pud & PTE_PSE)) return nr;
        uint64_t pud_end = ((addr >> PUD_SHIFT) + 1) << PUD_SHIFT;
        if (pud_end > end) pud_end = end;
        while (addr < pud_end) {
            uint64_t next = ((addr >> PMD_SHIFT) + 1) << PMD_SHIFT;
            if (next > pud_end) next = pud_end;
            uint64_t *pmdp = &table((pud & PFN_MASK) >> PAGE_SHIFT)[idx(addr, PMD_SHIFT)];
            uint64_t pmd = load(pmdp);
            if (!(pmd & PTE_PRESENT)) return nr;
            if (pmd & PTE_PSE) {   // gup_fast_pmd_leaf()
                if (!access_ok(pmd)) return nr;
                int refs = (int)((next - addr) >> PAGE_SHIFT);
                struct page *page = memmap + ((pmd & PFN_MASK) >> PAGE_SHIFT) + idx(addr, PAGE_SHIFT);
                struct page *folio = page_folio(page);
                if (!ref_try_add(folio, refs)) return nr;
                if (page_folio(page) != folio) { __atomic_sub_fetch(&folio->refcount, refs, __ATOMIC_SEQ_CST); return nr; }
                if (folio_test_large(folio)) __atomic_add_fetch(pincount(folio), refs, __ATOMIC_RELAXED);
                else __atomic_add_fetch(&folio->refcount, refs * (BIAS - 1), __ATOMIC_SEQ_CST);
                if (load(pmdp) != pmd) return nr;   // (release omitted: never taken here)
                for (int j = 0; j < refs; j++) pages[nr + j] = page + j;
                nr += refs;
                addr = next;
                continue;
            }
            uint64_t *ptep = &table((pmd & PFN_MASK) >> PAGE_SHIFT)[idx(addr, PAGE_SHIFT)];
            for (; addr < next; addr += 1ull << PAGE_SHIFT, ptep++) {
                uint64_t pte = load(ptep);
                if (!access_ok(pte)) return nr;
                struct page *page = memmap + ((pte & PFN_MASK) >> PAGE_SHIFT);
                struct page *folio = page_folio(page);
                if (!ref_try_add(folio, 1)) return nr;
                if (page_folio(page) != folio) { __atomic_sub_fetch(&folio->refcount, 1, __ATOMIC_SEQ_CST); return nr; }
                __atomic_add_fetch(&folio->refcount, BIAS - 1, __ATOMIC_SEQ_CST);   // try_grab_folio_fast()
                if (shadow) {
                    __atomic_thread_fence(__ATOMIC_SEQ_CST);
                    __atomic_add_fetch(&shadow[folio - memmap], 1, __ATOMIC_RELAXED);
                }
                if (load(pmdp) != pmd || load(ptep) != pte) {
                    __atomic_sub_fetch(&folio->refcount, BIAS, __ATOMIC_SEQ_CST);
                    return nr;
                }
                pages[nr++] = page;
            }
        }
    }
    return nr;
}

static __attribute__((noinline)) void unpin(struct page **pages, long nr) {
    for (long i = 0; i < nr; i++) {
        struct page *folio = page_folio(pages[i]);
        if (folio_test_large(folio)) {   // gup_folio_next(): the run of this folio
            long run = 1;
            while (i + run < nr && page_folio(pages[i + run]) == folio) run++;
            __atomic_sub_fetch(pincount(folio), (int)run, __ATOMIC_RELAXED);
            if (__atomic_sub_fetch(&folio->refcount, (int)run, __ATOMIC_SEQ_CST) == 0) abort();
            i += run - 1;
            continue;
        }
        if (shadow) {
            int64_t *slot = &shadow[folio - memmap], old = __atomic_load_n(slot, __ATOMIC_RELAXED);
            do {
                if (old < 1) abort();   // an unpin of an unpinned folio
            } while (!__atomic_compare_exchange_n(slot, &old, old - 1, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
        }
        if (__atomic_sub_fetch(&folio->refcount, BIAS, __ATOMIC_SEQ_CST) == 0) abort();   // never freed here
    }
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    long mib = argc > 1 ? atol(argv[1]) : 64;
    int rounds = argc > 2 ? atoi(argv[2]) : 50;
    int model = argc > 3 && strcmp(argv[3], "model") == 0;
    int thp = argc > 3 && strcmp(argv[3], "thp") == 0;
    long npages = mib << (20 - PAGE_SHIFT);
    uint64_t start = 0x7f0000000000ull;   // a typical mmap address
    // Data pfns: spread as the buddy allocator would (not in address order): pfn = 4096 + i*7 mod range.
    long pfns = npages * 2 + 8192;
    if (thp) npages &= ~(long)(HPAGE_NR - 1);
    memmap = aligned_alloc(64, pfns * sizeof(struct page));
    memset(memmap, 0, pfns * sizeof(struct page));
    if (model) shadow = calloc(pfns, sizeof(int64_t));
    arena_tables = 8 + npages / PTRS + 8;
    arena = aligned_alloc(4096, arena_tables * 4096);
    memset(arena, 0, arena_tables * 4096);
    uint64_t pgd_pfn = new_table();
    for (long i = 0; i < npages; i++) {
        uint64_t addr = start + ((uint64_t)i << PAGE_SHIFT);
        uint64_t *pgd = &table(pgd_pfn)[idx(addr, PGD_SHIFT)];
        if (!*pgd) *pgd = (new_table() << PAGE_SHIFT) | PTE_PRESENT | PTE_RW | PTE_USER;
        uint64_t *pud = &table((*pgd & PFN_MASK) >> PAGE_SHIFT)[idx(addr, PUD_SHIFT)];
        if (!*pud) *pud = (new_table() << PAGE_SHIFT) | PTE_PRESENT | PTE_RW | PTE_USER;
        uint64_t *pmd = &table((*pud & PFN_MASK) >> PAGE_SHIFT)[idx(addr, PMD_SHIFT)];
        if (thp) {
            // One 2 MiB folio per PMD, at an aligned pfn: head flags, tails' compound_head.
            uint64_t head = 4096 + (uint64_t)i;
            memmap[head].refcount = 1;
            memmap[head].flags = PG_HEAD;
            for (int j = 1; j < HPAGE_NR; j++) memmap[head + j].compound_head = (uint64_t)&memmap[head] + 1;
            *pmd = (head << PAGE_SHIFT) | PTE_PRESENT | PTE_RW | PTE_USER | PTE_PSE;
            i += HPAGE_NR - 1;
            continue;
        }
        if (!*pmd) *pmd = (new_table() << PAGE_SHIFT) | PTE_PRESENT | PTE_RW | PTE_USER;
        uint64_t pfn = 4096 + (uint64_t)((i * 7) % (pfns - 8192));
        memmap[pfn].refcount = 1;   // mapped once: the mapping's reference
        table((*pmd & PFN_MASK) >> PAGE_SHIFT)[idx(addr, PAGE_SHIFT)] = (pfn << PAGE_SHIFT) | PTE_PRESENT | PTE_RW | PTE_USER;
    }
    struct page **pages = malloc(npages * sizeof(*pages));
    double *ns = malloc(rounds * sizeof(double));
    uint64_t end = start + ((uint64_t)npages << PAGE_SHIFT);
    if (gup_fast(pgd_pfn, start, end, pages) != npages) return 1;   // warm-up
    unpin(pages, npages);
    for (int r = 0; r < rounds; r++) {
        double t0 = now();
        long nr = gup_fast(pgd_pfn, start, end, pages);
        unpin(pages, nr);
        double t1 = now();
        if (nr != npages) { fprintf(stderr, "pinned %ld of %ld\n", nr, npages); return 1; }
        ns[r] = (t1 - t0) * 1e9 / npages;
    }
    qsort(ns, rounds, sizeof(double), compare);
    printf("C baseline%s: pin_user_pages_fast + unpin_user_pages, %ld MiB of %s (%ld pages), %d rounds\n",
           model ? " + the model's fence and exact shadow" : "", mib, thp ? "PMD-mapped THPs" : "4 KiB pages", npages, rounds);
    printf("  ns/page: p0 %.2f  p50 %.2f  p90 %.2f   (%.1f M pages/s at p50)\n", ns[0], ns[rounds / 2], ns[rounds * 9 / 10],
           1e3 / ns[rounds / 2]);
    return 0;
}
