// What most hmm-tests cases start with (hmm-tests.c's hmm_buffer): a mirror of a fresh
// process and an anonymous private RW buffer of `npages` holding `ptr[i] = i`.
import PageLayout
@testable import PageModel

enum HMMBuffer {
    static func make(_ design: Design, device: Int, npages: Int) throws -> (Machine, Process, DeviceMirror, UInt64, [UInt8]) {
        let (machine, process, mirror) = try HMMMigrateTests.setup(design, device: device)
        let addr = try process.mmapAnon(UInt64(npages) << 12)
        let data = HMMMigrateTests.pattern(npages)
        try process.write(data, at: addr)
        return (machine, process, mirror, addr, data)
    }
}
