/// Where a page of a long table stands: the page asked for, kept within the pages there are
/// (a page past the end shows the last), and links to the pages before and after.
struct Pager {
    let page: Int
    let size: Int
    let total: Int

    /// - Parameter requested: 1 … ``PageNumber/maximum`` (``Field/page(_:_:)``).
    init(requested: Int?, size: Int, total: Int) {
        self.size = size
        self.total = max(0, total)
        let last = max(1, (self.total + size - 1) / size)
        page = min(max(1, requested ?? 1), min(last, PageNumber.maximum))
    }

    var offset: Int { (page - 1) * size }
    var lastPage: Int { max(1, (total + size - 1) / size) }

    /// `previous`, `next`, `page`, `pages` for the templates.
    func model(_ path: String, _ parameters: [String: String?]) -> [String: Any] {
        var links: [String: Any] = ["page": page, "pages": lastPage, "paged": lastPage > 1]
        if page > 1 { links["previous"] = WebPages.link(path, parameters.merging(["page": String(page - 1)]) { $1 }) }
        if page < lastPage { links["next"] = WebPages.link(path, parameters.merging(["page": String(page + 1)]) { $1 }) }
        return links
    }
}
