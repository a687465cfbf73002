// The physical memory model's speed and size targets (issue 3): building a machine,
// the memdesc8 memmap, order-0 alloc + free, refcount get + put against one atomic add.
import Atomics
import Benchmark
import PageLayout
import PageModel

func registerModelBenchmarks() {
    let build = Benchmark.Configuration(metrics: [.wallClock, .peakMemoryResident], maxDuration: .seconds(30), maxIterations: 5)

    Benchmark("Machine build: 64 GiB, mainline", configuration: build) { benchmark in
        for _ in benchmark.scaledIterations {
            let machine = try Machine(ramBytes: 64 << 30)
            blackHole(machine.memmap.memmapBytes)
        }
    }

    Benchmark("Machine build: 64 GiB, memdesc8", configuration: build) { benchmark in
        for _ in benchmark.scaledIterations {
            let machine = try Machine(ramBytes: 64 << 30, design: .memdesc8)
            blackHole(machine.memmap.memmapBytes)
        }
    }

    Benchmark("Machine build: 1 TiB, memdesc8", configuration: .init(metrics: [.wallClock, .peakMemoryResident],
                                                                        maxDuration: .seconds(60), maxIterations: 2)) { benchmark in
        for _ in benchmark.scaledIterations {
            let machine = try Machine(ramBytes: 1 << 40, design: .memdesc8)
            blackHole(machine.memmap.memmapBytes)
        }
    }

    let hot = Benchmark.Configuration(metrics: [.wallClock, .throughput], scalingFactor: .mega,
                                      maxDuration: .seconds(5), maxIterations: 20)

    Benchmark("Order-0 alloc + free (pairs)", configuration: hot) { benchmark in
        let machine = try Machine(ramBytes: 1 << 30)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            guard let page = machine.allocPages(.kernel) else { continue }
            machine.freePages(page, order: 0)
        }
        benchmark.stopMeasurement()
    }

    Benchmark("Folio get + put", configuration: hot) { benchmark in
        let machine = try Machine(ramBytes: 256 << 20)
        guard let folio = machine.folioAlloc(.kernel) else { return }
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            machine.folioGet(folio)
            machine.folioPut(folio)
        }
        benchmark.stopMeasurement()
    }

    Benchmark("One atomic add (baseline for get + put)", configuration: hot) { benchmark in
        let counter = ManagedAtomic<Int32>(1)
        for _ in benchmark.scaledIterations {
            counter.wrappingIncrement(ordering: .relaxed)
        }
        blackHole(counter.load(ordering: .relaxed))
    }

    Benchmark("Zone lookup from page->flags (mainline)", configuration: hot) { benchmark in
        let machine = try Machine(ramBytes: 1 << 30)
        var pfn = 4097
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(machine.memmap.zoneIndexFromFlags(of: pfn))
            pfn = pfn &+ 4099 & 0x3ffff
        }
        benchmark.stopMeasurement()
    }

    Benchmark("Zone lookup by pfn via section table (memdesc8)", configuration: hot) { benchmark in
        let machine = try Machine(config: MachineConfig(ramBytes: 1 << 30, design: .memdesc8))
        var pfn = 4097
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(machine.memmap.zoneIndexByPfn(of: pfn))
            pfn = pfn &+ 4099 & 0x3ffff
        }
        benchmark.stopMeasurement()
    }
}
