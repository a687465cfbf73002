// Shared helpers for the virtual memory tests.
@testable import PageModel
import PageLayout

extension Machine {
    /// Pages free in the buddy allocator and on the per-cpu lists.
    var totalFreePages: Int { allZones.reduce(0) { $0 + $1.freePages + $1.pcpPages } }
}

/// A 64 MiB x86-64 machine of `design` and one process on it.
func makeProcess(_ design: Design = .mainline, ram: UInt64 = 128 << 20) throws -> (Machine, Process) {
    let machine = try Machine(ramBytes: ram, design: design)
    return (machine, try Process(machine: machine))
}

extension Process {
    /// mmap of anonymous private read-write memory.
    func mmapAnon(_ length: UInt64, flags: MapFlags = [.private, .anonymous], prot: Prot = [.read, .write]) throws -> UInt64 {
        try mm.mmap(length: length, prot: prot, flags: flags)
    }
}

/// A recognisable byte pattern for page `n` written by `who`.
func pattern(_ n: Int, _ who: UInt8 = 0xa5) -> [UInt8] {
    (0..<64).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ n &* 13) ^ who }
}
