// Which sizeof(struct page) a census is costed with: the kernel's own, where PageLab can
// read it.
import PageCensus
import PageLayout

public enum CensusStructPage {
    /// Mainline's sizeof(struct page) for `census`, and a phrase saying where it comes
    /// from: the running kernel's BTF when the census was taken on the running kernel's
    /// release and the BTF is readable; else `kernel`'s layout when given; else nil (the
    /// v6.19 layout CensusCosts computes).
    public static func size(for census: Census, kernel: KernelVersion? = nil,
                            btfPath: String = KernelBTF.runningKernelPath) -> (size: Int, note: String)? {
        if census.info.kernelRelease == KernelVersion.runningRelease(),
           let btf = try? KernelBTF(path: btfPath), let size = btf.structPageSize {
            return (size, "\(size) bytes, from the running kernel's BTF (\(btfPath))")
        }
        if let kernel {
            let size = Layouts.structPageSize(LayoutConfig(arch: census.info.layoutArch ?? .x86_64), kernel: kernel)
            return (size, "\(size) bytes, Linux \(kernel)'s layout (--kernel)")
        }
        return nil
    }
}
