// Public entry points the scenario language (PageScenario) needs and the model had only
// internally. Each is a thin wrapper; the behaviour lives where the kernel keeps it.

extension Machine {
    /// The struct page a GUP result stands for: under the `proxy` design GUP returns a
    /// `dynamic_page` proxy (seed 003), whose target is the real page; every other design
    /// returns the page itself. Linux has no counterpart (mainline GUP returns the page).
    public func gupResultPage(_ page: Page) -> Page { proxyTarget(page) ?? page }
}
