// The model's kernel-style spinlock (SpinLock.swift) and the descriptor heap it guards,
// under threads. Named a stress suite so that .ci/run's Thread Sanitizer step runs it too:
// TSan must see the lock's acquire/release as it saw the pthread mutexes it replaced.
// Expected values follow from the calls alone (each thread's updates add up; an object
// handed out twice would be a lost lock) and from the kernel's lock word
// (include/asm-generic/qspinlock_types.h: _Q_LOCKED_VAL is 1 << _Q_LOCKED_OFFSET, 0).
import Foundation
@testable import PageModel
import Testing

@Suite(.serialized) struct SpinLockStressTests {
    static let threads = 4

    /// Runs `body(thread)` on `threads` threads at once and waits for all of them.
    static func concurrently(_ body: @escaping @Sendable (Int) -> Void) {
        let group = DispatchGroup()
        for t in 0..<threads {
            group.enter()
            Thread.detachNewThread {
                body(t)
                group.leave()
            }
        }
        group.wait()
    }

    /// The lock word is the kernel's: `queued_spin_lock()` stores _Q_LOCKED_VAL (1) into a
    /// free (0) word, `queued_spin_unlock()` stores 0.
    @Test func lockWordHoldsTheKernelsLockedValue() {
        let word = SpinLock.allocateWords(count: 2, stride: 64)
        defer { word.deallocate() }
        let first = SpinLock(word: word), second = SpinLock(word: word + 64)
        #expect(word.load(as: Int32.self) == 0)
        first.lock()
        #expect(word.load(as: Int32.self) == 1)
        #expect((word + 64).load(as: Int32.self) == 0, "each lock has its own word")
        second.lock()
        first.unlock()
        #expect(word.load(as: Int32.self) == 0)
        #expect((word + 64).load(as: Int32.self) == 1)
        second.unlock()
        #expect((word + 64).load(as: Int32.self) == 0)
        // withLock holds the lock for the body only and hands back its value.
        let held = first.withLock { word.load(as: Int32.self) }
        #expect(held == 1)
        #expect(word.load(as: Int32.self) == 0)
    }

    /// Threads adding to a plain, non-atomic counter under the lock lose no update: the
    /// total is the sum of every thread's additions, and TSan sees no race on it.
    @Test func updatesUnderTheLockAreNotLost() {
        final class Shared: @unchecked Sendable {
            let lock = SpinLock(word: SpinLock.allocateWords(count: 1, stride: 64))
            var counter = 0
            deinit { lock.word.deallocate() }
        }
        let shared = Shared()
        let perThread = 20_000
        Self.concurrently { _ in
            for _ in 0..<perThread { shared.lock.withLock { shared.counter += 1 } }
        }
        #expect(shared.counter == Self.threads * perThread)
    }

    /// The descriptor heap under its spinlock: objects allocated and freed by several
    /// threads at once are never handed out twice, and the live count and bytes per kind
    /// are exact afterwards (the proxy design's dynamic_page accounting).
    @Test func heapAccountingStaysExactUnderThreads() throws {
        let heap = try DescriptorHeap(base: 0xffff_8880_0000_0000, capacity: 64 << 20)
        let perThread = 2_000
        let size = 80  // a multiple of 16: the heap's rounding keeps it
        let kept = ModelMutex<[[UInt64]]>(Array(repeating: [], count: Self.threads))
        Self.concurrently { t in
            var mine: [UInt64] = []
            for i in 0..<perThread {
                guard let address = heap.allocate(size: size, alignment: 16, kind: .dynamicPage) else { continue }
                // Every other object goes straight back, so frees and reuse race too.
                if i & 1 == 0 { heap.free(address, size: size, alignment: 16, kind: .dynamicPage) } else { mine.append(address) }
            }
            kept.withLock { $0[t] = mine }
        }
        let live = kept.withLock { $0.flatMap { $0 } }
        #expect(live.count == Self.threads * perThread / 2)
        #expect(Set(live).count == live.count, "an object handed out twice")
        let usage = try #require(heap.usage()[.dynamicPage])
        #expect(usage.count == Self.threads * perThread / 2)
        #expect(usage.bytes == Self.threads * perThread / 2 * size)
        for address in live { heap.free(address, size: size, alignment: 16, kind: .dynamicPage) }
        #expect(heap.usage()[.dynamicPage]?.count == 0)
        #expect(heap.usage()[.dynamicPage]?.bytes == 0)
    }
}
