// What most hmm-tests cases start with (hmm-tests.c's hmm_buffer): a mirror of a fresh
// process and an anonymous private RW buffer of `npages` holding `ptr[i] = i`.
import PageLayout
@testable import PageModel

enum HMMBuffer {
    /// The buffer, written with the pattern by the CPU unless `filled` is false (then
    /// the pages are pte_none and `data` is what a test writes itself).
    static func make(_ design: Design, device: Int, npages: Int,
                     filled: Bool = true) throws -> (Machine, Process, DeviceMirror, UInt64, [UInt8]) {
        let (machine, process, mirror) = try HMMMigrateTests.setup(design, device: device)
        let (addr, data) = try buffer(process, npages: npages, filled: filled)
        return (machine, process, mirror, addr, data)
    }

    /// As `make`, with a second mirror, of device `device + 1`, on the same process,
    /// opened before the buffer is mapped (hmm2-tests open both devices first).
    static func makeWithSecondMirror(_ design: Design, device: Int, npages: Int)
        throws -> (Machine, Process, DeviceMirror, DeviceMirror, UInt64, [UInt8]) {
        let (machine, process, mirror) = try HMMMigrateTests.setup(design, device: device)
        let second = DeviceMirror(device: try DeviceMirrorDevice(machine: machine, id: device + 1), process: process)
        let (addr, data) = try buffer(process, npages: npages, filled: true)
        return (machine, process, mirror, second, addr, data)
    }

    private static func buffer(_ process: Process, npages: Int, filled: Bool) throws -> (UInt64, [UInt8]) {
        let addr = try process.mmapAnon(UInt64(npages) << 12)
        let data = HMMMigrateTests.pattern(npages)
        if filled { try process.write(data, at: addr) }
        return (addr, data)
    }
}
