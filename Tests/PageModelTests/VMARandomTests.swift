// Random sequences of mmap/munmap/mprotect/madvise/mlock/mremap on a small window, checked page
// by page against a reference model of what Linux does, and for VMA lists that are
// sorted, non-overlapping and fully merged (in this world of never-faulted anonymous
// memory every operation leaves mergeable neighbours merged).
@testable import PageModel
import Testing
import TestSupport

@Suite struct VMARandomTests {
    /// The state of one page in the reference model.
    struct PageState: Equatable {
        var prot: Prot
        var dontFork: Bool
        var locked = false

        /// The VMA flags Linux gives never-faulted private anonymous memory with this state.
        var flags: VMFlags {
            var flags: VMFlags = [.mayRead, .mayWrite, .mayExec, .softDirty]
            flags.formUnion(VMFlags(prot: prot))
            if prot.contains(.write) { flags.insert(.account) }
            if dontFork { flags.insert(.dontCopy) }
            if locked { flags.insert(.locked) }
            return flags
        }
    }


    static let base: UInt64 = 0x1000_0000
    static let window = 48

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func randomOperationsMatchTheReference(seed: UInt64) throws {
        var rng = SplitMix64(state: seed)
        let mm = MM(layout: AddressSpaceLayout(memlockLimit: nil))
        var reference: [Int: PageState] = [:]
        let prots: [Prot] = [.none, .read, [.read, .write], [.read, .exec]]
        func addr(_ page: Int) -> UInt64 { Self.base + UInt64(page) * UserVM.pageSize }

        for step in 0..<1000 {
            let first = Int.random(in: 0..<Self.window, using: &rng)
            let count = Int.random(in: 1...min(8, Self.window - first), using: &rng)
            let pages = first..<(first + count)
            let prot = prots[Int.random(in: 0..<prots.count, using: &rng)]
            let length = UInt64(count) * UserVM.pageSize
            let hole = pages.contains { reference[$0] == nil }
            switch Int.random(in: 0..<7, using: &rng) {
            case 0, 1:
                try mm.mmap(addr: addr(first), length: length, prot: prot, flags: [.private, .anonymous, .fixed])
                for page in pages { reference[page] = PageState(prot: prot, dontFork: false) }
            case 2:
                try mm.munmap(addr: addr(first), length: length)
                for page in pages { reference[page] = nil }
            case 3:
                do {
                    try mm.mprotect(addr: addr(first), length: length, prot: prot)
                    #expect(!hole, "seed \(seed) step \(step): mprotect over a hole succeeded")
                } catch {
                    #expect(hole && error == .ENOMEM, "seed \(seed) step \(step): mprotect \(error)")
                }
                // Pages up to the first hole change, as in the kernel.
                for page in pages {
                    guard reference[page] != nil else { break }
                    reference[page]?.prot = prot
                }
            case 4:
                let advice: Advice = Bool.random(using: &rng) ? .dontFork : .doFork
                do {
                    try mm.madvise(addr: addr(first), length: length, advice: advice)
                    #expect(!hole, "seed \(seed) step \(step): madvise over a hole succeeded")
                } catch {
                    #expect(hole && error == .ENOMEM, "seed \(seed) step \(step): madvise \(error)")
                }
                // Every mapped page in the range changes; gaps are skipped.
                for page in pages where reference[page] != nil { reference[page]?.dontFork = advice == .dontFork }
            case 5:
                let lock = Bool.random(using: &rng)
                do {
                    if lock {
                        try mm.mlock(addr: addr(first), length: length)
                    } else {
                        try mm.munlock(addr: addr(first), length: length)
                    }
                    #expect(!hole, "seed \(seed) step \(step): mlock over a hole succeeded")
                } catch {
                    #expect(hole && error == .ENOMEM, "seed \(seed) step \(step): mlock \(error)")
                }
                for page in pages {
                    guard reference[page] != nil else { break }
                    reference[page]?.locked = lock
                }
            default:
                // MREMAP_FIXED move of the same size to a disjoint place in the window.
                let target = Int.random(in: 0...(Self.window - count), using: &rng)
                if target < first + count && first < target + count { continue }
                do {
                    let moved = try mm.mremap(oldAddr: addr(first), oldLength: length, newLength: length,
                                              flags: [.mayMove, .fixed], newAddr: addr(target))
                    #expect(moved == addr(target))
                    #expect(reference[first] != nil, "seed \(seed) step \(step): moved from a hole")
                    // Each mapped source page lands at the same offset; gaps stay as they were.
                    let states = pages.map { reference[$0] }
                    for page in pages { reference[page] = nil }
                    for (offset, state) in states.enumerated() where state != nil {
                        reference[target + offset] = state
                    }
                } catch {
                    #expect(reference[first] == nil && error == .EFAULT, "seed \(seed) step \(step): mremap \(error)")
                }
            }
            try checkAgainstReference(mm, reference, seed: seed, step: step)
        }
    }

    private func checkAgainstReference(_ mm: MM, _ reference: [Int: PageState], seed: UInt64, step: Int) throws {
        #expect(mm.checkInvariants().isEmpty, "seed \(seed) step \(step)")
        let vmas = mm.vmas
        var seen: [Int: PageState] = [:]
        for vma in vmas {
            // Never faulted: pgoff is the page number, and there is no anon_vma.
            #expect(vma.pgoff == vma.start >> UserVM.pageShift && vma.anonVMA == nil, "seed \(seed) step \(step): \(vma)")
            let firstPage = Int((vma.start - Self.base) / UserVM.pageSize)
            for page in firstPage..<(firstPage + Int(vma.pages)) {
                seen[page] = PageState(prot: Prot(rawValue: UInt32(vma.flags.intersection(.accessFlags).rawValue)),
                                       dontFork: vma.flags.contains(.dontCopy), locked: vma.flags.contains(.locked))
                if let expected = reference[page] {
                    #expect(vma.flags == expected.flags, "seed \(seed) step \(step): page \(page) \(vma.flags) != \(expected.flags)")
                }
            }
        }
        #expect(seen == reference, "seed \(seed) step \(step): mapped pages differ")
        #expect(mm.lockedVM == UInt64(reference.values.filter(\.locked).count), "seed \(seed) step \(step): locked_vm")
        // Fully merged: no two touching VMAs with the same flags.
        for (left, right) in zip(vmas, vmas.dropFirst()) where left.end == right.start {
            #expect(left.flags != right.flags, "seed \(seed) step \(step): unmerged \(left) | \(right)")
        }
    }
}
