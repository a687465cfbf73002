// Which kernel version's page flags and descriptors a configuration gets: `--kernel`,
// else the version its header line names, else the running kernel's.

extension KernelConfig {
    /// The configuration with `kernel` chosen, a phrase saying which version and why, and
    /// a warning when `--kernel` disagrees with the configuration's header.
    public struct VersionChoice: Sendable {
        public let config: KernelConfig
        /// "kernel 6.1 (6.1.170, from the header of FILE)".
        public let description: String
        /// One line for standard error, or nil.
        public let warning: String?
    }

    /// Chooses the kernel version: `requested` (a `--kernel` argument) when given, else the
    /// release in the configuration's header, else, for a file with no header, the running
    /// kernel's release (`runningRelease`). PageLab's presets are v6.19 configurations.
    ///
    /// Errors (exit status 2): `.unknownName` for a `--kernel` or header version PageLab has
    /// no tables for (naming those it has); `.malformedFile` when neither the header nor the
    /// running kernel names a known version.
    public func choosingKernel(_ requested: String?,
                               runningRelease: String? = KernelVersion.runningRelease()) throws(LayoutError)
        -> VersionChoice {
        let known = KernelVersion.known.map(\.description)
        var chosen = self
        if let requested {
            chosen.kernel = try KernelVersion.named(requested)
            var warning: String?
            if let headerRelease, KernelVersion(release: headerRelease) != chosen.kernel {
                warning = "--kernel \(requested) given; the header of \(source) says \(headerRelease): using \(chosen.kernel)"
            }
            return VersionChoice(config: chosen, description: "kernel \(chosen.kernel) (--kernel)", warning: warning)
        }
        if let headerRelease {
            guard let version = KernelVersion(release: headerRelease), KernelVersion.known.contains(version) else {
                throw .unknownName(kind: "kernel version (the header of \(source) says \(headerRelease); give --kernel)",
                                   name: headerRelease, known: known)
            }
            chosen.kernel = version
            return VersionChoice(config: chosen, description: "kernel \(version) (\(headerRelease), from the header of \(source))",
                                 warning: nil)
        }
        if source.hasPrefix("preset ") {
            chosen.kernel = .reference
            return VersionChoice(config: chosen, description: "kernel \(KernelVersion.reference) (PageLab's presets are v\(KernelVersion.reference) configurations)", warning: nil)
        }
        guard let runningRelease, let version = KernelVersion(release: runningRelease),
              KernelVersion.known.contains(version) else {
            let running = runningRelease.map { "the running kernel (\($0)) is not one PageLab knows" }
                ?? "the running kernel's release cannot be read"
            throw .malformedFile(path: source, reason: "no kernel version in its header and \(running); give --kernel (known: \(known.joined(separator: ", ")))")
        }
        chosen.kernel = version
        return VersionChoice(config: chosen, description: "kernel \(version) (the running kernel's, \(runningRelease): \(source) names no version)",
                             warning: nil)
    }
}
