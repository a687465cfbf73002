// Names interned while parsing: each distinct name's bytes are kept once, its String made
// once, and it gets a number. The lexer hands the parser that number with every name
// token, so the parser finds a statement keyword, an operation, a query or a bound name
// by indexing an array instead of hashing and comparing a String per name (a profile
// showed String validation, hashing and compares as a quarter of the parse).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A parse's interned names and literals, in one object the lexer fills and every
/// line's `Cursor` reads unretained.
final class Lexicon {
    // One parser on one thread: no dynamic exclusivity checks.
    @exclusivity(unchecked) var interner: Interner
    @exclusivity(unchecked) var literals = Literals()
    init(interner: Interner) { self.interner = interner }
}

struct Interner {
    /// Each name by number.
    private(set) var names: [String] = []
    /// Each name's bytes, concatenated: name `i` is `bytes[starts[i]..<starts[i + 1]]`.
    private var bytes: [UInt8] = []
    private var starts: [Int] = [0]
    /// Open addressing on FNV-1a of the bytes: -1 empty, else a name's number.
    private var slots: [Int32]
    /// A direct-mapped cache in front of `slots` for names of at most 8 bytes (most of a
    /// script's: `p`, `a`, `PAGE`, `write`, `flags`), keyed by the bytes packed in an
    /// integer and the length: a hit costs a multiply and two compares instead of the
    /// hash, the probe and a memcmp (~100 instructions a name in a profile).
    private var short = [(key: UInt64, count: Int, id: Int32)](repeating: (0, -1, -1), count: 256)

    /// `seed` gets the numbers 0..<seed.count, in order.
    init(seed: [String]) {
        slots = Array(repeating: -1, count: 1024)
        for name in seed {
            let utf8 = Array(name.utf8)
            _ = intern(utf8, 0..<utf8.count)
        }
    }

    var count: Int { names.count }

    /// The number of the name in `source[range]`, interned if new.
    mutating func intern(_ source: [UInt8], _ range: Range<Int>) -> Int {
        source.withUnsafeBufferPointer { intern(UnsafeBufferPointer(rebasing: $0[range])) }
    }

    /// The number of the name `name`, interned if new.
    mutating func intern(_ name: UnsafeBufferPointer<UInt8>) -> Int {
        guard name.count <= 8 else { return lookup(name) }
        var key: UInt64 = 0
        for i in 0..<name.count { key |= UInt64(name[i]) << (8 * UInt64(i)) }
        let c = Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(name.count)) >> 56)
        let cached = short[c]
        if cached.key == key, cached.count == name.count { return Int(cached.id) }
        let id = lookup(name)
        short[c] = (key, name.count, Int32(id))
        return id
    }

    /// The number of the name `name` by the hash table, interned if new.
    private mutating func lookup(_ name: UnsafeBufferPointer<UInt8>) -> Int {
        let mask = slots.count - 1
        let hash = fnv1a(name)
        var s = hash & mask
        let found: Int? = slots.withUnsafeBufferPointer { slots in
            bytes.withUnsafeBufferPointer { stored in
                starts.withUnsafeBufferPointer { starts in
                    while slots[s] >= 0 {
                        let id = Int(slots[s])
                        let start = starts[id]
                        if starts[id + 1] - start == name.count,
                           name.count == 0 || memcmp(stored.baseAddress! + start, name.baseAddress!, name.count) == 0 { return id }
                        s = (s + 1) & mask
                    }
                    return nil
                }
            }
        }
        if let found { return found }
        let id = names.count
        bytes.append(contentsOf: name)
        starts.append(bytes.count)
        names.append(String(decoding: name, as: UTF8.self))
        slots[s] = Int32(id)
        if names.count * 2 > slots.count { grow() }
        return id
    }

    private mutating func grow() {
        slots = Array(repeating: -1, count: slots.count * 2)
        let mask = slots.count - 1
        for id in names.indices {
            var s = fnv1a(bytes[starts[id]..<starts[id + 1]]) & mask
            while slots[s] >= 0 { s = (s + 1) & mask }
            slots[s] = Int32(id)
        }
    }
}

/// FNV-1a (64-bit) of `bytes`, folded: the names' hash (a few bytes each; SipHash's seed,
/// combine and finalize cost more than the name).
@inline(__always)
func fnv1a<Bytes: Sequence<UInt8>>(_ bytes: Bytes) -> Int {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
    return Int(truncatingIfNeeded: h ^ (h >> 29))
}
