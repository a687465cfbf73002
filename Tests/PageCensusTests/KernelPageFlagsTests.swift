import PageCensus
import Testing

@Suite struct KernelPageFlagsTests {
    @Test func bitsMatchKernelPageFlagsH() {
        #expect(KernelPageFlags.buddy.rawValue == 1 << 10)
        #expect(KernelPageFlags.compoundTail.rawValue == 1 << 16)
        #expect(KernelPageFlags.nopage.rawValue == 1 << 20)
        #expect(KernelPageFlags.pgtable.rawValue == 1 << 26)
        #expect(KernelPageFlags.reserved.rawValue == 1 << 32)
        #expect(KernelPageFlags.arch3.rawValue == 1 << 42)
    }
}
