import Foundation

/// Which of the items a lookup by `externalId` found is the one hallsync's create made (the hall
/// does not deduplicate by `externalId`, contract §3.3: a clerk may have registered the same
/// reservation by hand at the counter, and hallsync may have made one long ago). An item whose
/// source is not the one hallsync sends is never ours. Among the others, the one that says most
/// of what the create sent — the ID number, then the appointment, then the name; not the
/// revision, which moves on with every status push — and then the oldest (the lowest number)
/// is kept; the rest are shown. Pure.
///
///     let (ours, others) = CreatedItemMatch.split(found, sent: entry.body)
///
/// Depends on nothing below it: any item that says these few things can be matched (the hall
/// client's items do, beside the delivery phase).
public protocol FoundItem {
    var itemNo: String { get }
    var source: String? { get }
    var itemName: String? { get }
    var registerTime: String? { get }
    var idNumber: String? { get }
}

public enum CreatedItemMatch {
    public struct Sent: Decodable {
        public var source: String?
        public var itemName: String?
        public var registerTime: String?
        public var idNumber: String?
    }

    public static func split<Item: FoundItem>(_ items: [Item], sent body: Data) -> (ours: Item?, others: [Item]) {
        guard let sent = try? JSONDecoder().decode(Sent.self, from: body) else { return (nil, items) }
        func score(_ item: Item) -> Int? {
            if let source = item.source, source != sent.source { return nil }
            return (item.idNumber == sent.idNumber ? 4 : 0) + (item.registerTime == sent.registerTime ? 2 : 0) + (item.itemName == sent.itemName ? 1 : 0)
        }
        let candidates = items.compactMap { item in score(item).map { (item, $0) } }
        guard let ours = candidates.min(by: { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0.itemNo < $1.0.itemNo })?.0 else { return (nil, items) }
        return (ours, items.filter { $0.itemNo != ours.itemNo })
    }
}
