// The `basic` workload: what a process's memory goes through in a day, on a two-node
// machine: anonymous memory, a MADV_HUGEPAGE region, shmem and disk files mapped shared
// and private and written both through mappings and with pwrite(), fork() with writes
// on both sides, MADV_PAGEOUT and reclaim to swap, migration to node 1 and reclaim
// there, MADV_DONTNEED, munmap (one splitting a THP), then every byte read back;
// finally exit and a leak check.

import PageLayout

/// The script of `WorkloadKind.basic`. Sizes scale with RAM: a unit is RAM / 256
/// (at most 16 MiB), the anonymous region 8 units, the files 1-2 units each, the THP
/// region at least one 2 MiB PMD.
enum BasicWorkload: WorkloadScript {
    static let minimumRAM: UInt64 = 256 << 20
    static let nodes = 2

    /// The region sizes, in 4 KiB pages, for a machine of `ramBytes`.
    struct Sizes {
        let unit: Int
        var anon: Int { 8 * unit }
        var thp: Int { max(512, unit / 512 * 512) }
        var shmem: Int { 2 * unit }
        var diskPrivate: Int { 2 * unit }
        var diskShared: Int { unit }

        init(ramBytes: UInt64) {
            unit = BasicWorkload.unitPages(ramBytes: ramBytes)
        }
    }

    static func run(design: Design, ramBytes: UInt64) throws(WorkloadError) -> WorkloadResult {
        try validate(ramBytes: ramBytes)
        let sizes = Sizes(ramBytes: ramBytes)
        return try WorkloadRun.measure(.basic, design: design, ramBytes: ramBytes, nodes: nodes) { run in
            script(run, sizes)
            return nil
        }
    }

    /// The operations, in order. Every step that fails is recorded by `run` and the
    /// script goes on.
    static func script(_ run: WorkloadRun, _ sizes: Sizes) {
        let machine = run.machine
        guard let parent = run.newProcess("parent", failing: "parent: fork/exec") else { return }
        let shmemFS = Filesystem(machine: machine, kind: .shmem)
        let diskFS = Filesystem(machine: machine, kind: .disk)
        var files: [(Filesystem, ExpectedFile)] = []
        func create(_ fs: Filesystem, _ name: String, pages: Int) -> ExpectedFile? {
            let file = run.createFile(fs, name, pages: pages)
            if let file { files.append((fs, file)) }
            return file
        }

        // 1. Populate: anonymous memory, a THP region, a shmem file mapped shared and a
        //    disk file mapped private and one mapped shared.
        run.mmapWritten(parent, "anon", pages: sizes.anon)
        run.mmapWritten(parent, "thp", pages: sizes.thp, advice: .hugePage)
        let shmem = create(shmemFS, "basic-shmem", pages: sizes.shmem)
        if let shmem, run.mmap(parent, "shmem", pages: sizes.shmem, flags: .shared, file: shmem) != nil {
            for page in 0..<sizes.shmem {
                if page % 2 == 0 { run.write(parent, "shmem", page: page) } else { run.pwrite(shmem, page: page) }
            }
        }
        let diskPrivate = create(diskFS, "basic-private", pages: sizes.diskPrivate)
        if let diskPrivate {
            for page in 0..<sizes.diskPrivate { run.pwrite(diskPrivate, page: page) }
            if run.mmap(parent, "disk-private", pages: sizes.diskPrivate, flags: .private, file: diskPrivate) != nil {
                for page in stride(from: 0, to: sizes.diskPrivate, by: 4) { run.write(parent, "disk-private", page: page) }
            }
        }
        let diskShared = create(diskFS, "basic-shared", pages: sizes.diskShared)
        if let diskShared, run.mmap(parent, "disk-shared", pages: sizes.diskShared, flags: .shared, file: diskShared) != nil {
            for page in 0..<sizes.diskShared { run.write(parent, "disk-shared", page: page) }
            for page in stride(from: 0, to: sizes.diskShared, by: 8) { run.pwrite(diskShared, page: page) }
        }
        run.checkpoint("populate")

        // 2. fork(), then writes on both sides: COW copies in the child and the parent,
        //    a THP written by both, the shared file seen by both, private file pages
        //    copied in the child.
        let child: ExpectedProcess
        do { child = parent.forked(name: "child", process: try parent.process.fork()) } catch {
            run.fail("fork: \(error)")
            finish(run, [parent], files)
            return
        }
        for page in 0..<sizes.anon {
            switch page % 4 {
            case 0: run.write(child, "anon", page: page)
            case 1: run.write(parent, "anon", page: page)
            default: break
            }
        }
        for page in stride(from: 0, to: sizes.thp / 2, by: 3) { run.write(child, "thp", page: page) }
        for page in stride(from: sizes.thp / 2, to: sizes.thp, by: 5) { run.write(parent, "thp", page: page) }
        for page in stride(from: 1, to: sizes.shmem, by: 8) { run.write(child, "shmem", page: page) }
        for page in stride(from: 2, to: sizes.diskPrivate, by: 4) { run.write(child, "disk-private", page: page) }
        for page in stride(from: 3, to: sizes.diskShared, by: 4) { run.write(child, "disk-shared", page: page) }
        // pwrite() to file pages neither process copied: both private mappings see it.
        if let diskPrivate {
            for page in stride(from: 1, to: sizes.diskPrivate, by: 4) { run.pwrite(diskPrivate, page: page) }
        }
        run.checkpoint("fork and COW")

        // 3. Swap: a device, MADV_PAGEOUT in both processes (only folios they map alone
        //    go), then reclaim from node 0's LRU lists (shared COW pages and file pages).
        do { _ = try machine.swap.swapon(slots: sizes.anon + sizes.thp + sizes.shmem + 64) } catch {
            run.fail("swapon: \(error)")
        }
        run.madvise(parent, "anon", first: sizes.anon / 2, .pageOut)
        run.madvise(child, "anon", first: 0, count: sizes.anon / 4, .pageOut)
        run.madvise(parent, "thp", first: sizes.thp / 2, .pageOut)
        machine.reclaim(nid: 0, count: 2 * sizes.unit)
        run.checkpoint("swap")

        // 4. Migration of what is still resident to node 1.
        run.migrate(parent, "anon", toNode: 1)
        run.migrate(child, "thp", toNode: 1)
        run.migrate(parent, "disk-private", toNode: 1)
        run.checkpoint("migrate")
        // ... and reclaim on node 1 of what migrated there; MADV_DONTNEED of the first
        // eighth of the parent's anonymous memory (zeroes from now on) and of its private
        // file copies (the file shows through again).
        machine.reclaim(nid: 1, count: sizes.unit)
        run.madvise(parent, "anon", first: 0, count: sizes.anon / 8, .dontNeed)
        run.madvise(parent, "disk-private", .dontNeed)

        // 5. Every byte, in both processes and in the files.
        run.checkpoint("reclaim on node 1 and MADV_DONTNEED")
        verifyAll(run, [parent, child], files, phase: "after swap and migration")
        run.checkpoint("verify")

        // 6. munmap: the child drops half of its anonymous memory and its shmem mapping,
        //    the parent a hole in the middle of its THP region (splitting the PMD); then
        //    the child exits and the parent's pages it shared become exclusive again.
        run.munmap(child, "anon", first: sizes.anon / 2)
        run.munmap(child, "shmem")
        run.munmap(parent, "thp", first: 128, count: 128)
        run.checkpoint("munmap")
        verifyAll(run, [parent, child], files, phase: "after munmap")
        child.process.exit()
        run.checkpoint("the child's exit")
        for page in stride(from: 2, to: sizes.anon, by: 16) { run.write(parent, "anon", page: page) }
        verifyAll(run, [parent], files, phase: "after the child's exit")
        finish(run, [parent], files)
        run.checkpoint("exit and unlink")
    }

    static func verifyAll(_ run: WorkloadRun, _ processes: [ExpectedProcess], _ files: [(Filesystem, ExpectedFile)], phase: String) {
        for process in processes { run.verify(process, phase: phase) }
        for (_, file) in files { run.verify(file, phase: phase) }
    }

    /// exit(), then the files are truncated and unlinked, so every page they held goes.
    static func finish(_ run: WorkloadRun, _ processes: [ExpectedProcess], _ files: [(Filesystem, ExpectedFile)]) {
        for process in processes { process.process.exit() }
        for (fs, file) in files {
            do {
                try file.file.ftruncate(0)
                try fs.unlink(name: file.name)
            } catch {
                run.fail("\(file.name): truncate and unlink: \(error)")
            }
        }
    }
}

extension VMEventCounts {
    /// The events counted since `before`.
    mutating func subtract(_ before: VMEventCounts) {
        faults -= before.faults; majorFaults -= before.majorFaults; zeroPageFaults -= before.zeroPageFaults
        cowCopies -= before.cowCopies; cowReuses -= before.cowReuses; unshareCopies -= before.unshareCopies
        forkPinnedCopies -= before.forkPinnedCopies; thpFaultAlloc -= before.thpFaultAlloc
        thpFaultFallback -= before.thpFaultFallback; thpSplitPmd -= before.thpSplitPmd; thpSplitPage -= before.thpSplitPage
        thpCollapse -= before.thpCollapse; swapOuts -= before.swapOuts; swapIns -= before.swapIns
        reclaimed -= before.reclaimed; reclaimKeptPinned -= before.reclaimKeptPinned
        migrations -= before.migrations; migrationFailures -= before.migrationFailures
    }
}

extension Duration {
    /// The duration in seconds, as a Double.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
