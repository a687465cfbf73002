// The census's section on what /proc/kpageflags means in the kernel version it is read
// as (KernelPageFlags.Semantics): the rules that differ between versions, and the bits
// the snapshot carries that this version never writes.
import PageCensus
import PageLayout

/// The section as text and as JSON (`kpageflags` of `census --format json`).
struct KpageflagsSection: Encodable {
    let kernel: String
    let rules: [String]
    /// Bits set in the snapshot that the kernel version never writes.
    let bitsNotWritten: [Bit]
    /// Slab pages with KPF_ANON, and whether this version's struct slab can produce them.
    let slabWithAnon: Int
    let slabAnonPossible: Bool

    struct Bit: Encodable {
        let bit: Int
        let name: String
        let pages: Int
    }

    enum CodingKeys: String, CodingKey {
        case kernel, rules
        case bitsNotWritten = "bits_not_written", slabWithAnon = "slab_with_anon", slabAnonPossible = "slab_anon_possible"
    }

    init(_ semantics: KernelPageFlags.Semantics, census: Census) {
        kernel = semantics.version.description
        rules = semantics.rules
        bitsNotWritten = semantics.unexpected(in: census).map { Bit(bit: $0.bit, name: $0.name, pages: $0.pages) }
        slabWithAnon = census.slabWithAnon
        slabAnonPossible = semantics.slabCanShowAnon(arch: census.info.layoutArch ?? .x86_64)
    }

    /// The lines of the text report.
    var text: String {
        var out = "/proc/kpageflags as Linux \(kernel) writes it (fs/proc/page.c, stable_page_flags())\n"
        for rule in rules { out += "  \(rule)\n" }
        for bit in bitsNotWritten {
            out += "  warning: bit \(bit.bit) (\(bit.name)) is set on \(bit.pages) pages, but Linux \(kernel) never writes it: a snapshot of another kernel, or a vendor bit\n"
        }
        if slabWithAnon > 0 && !slabAnonPossible {
            out += "  warning: \(slabWithAnon) slab pages show KPF_ANON, but Linux \(kernel)'s struct slab has slab_cache (a pointer, bit 0 clear) at struct page's mapping\n"
        }
        return out + "\n"
    }
}
