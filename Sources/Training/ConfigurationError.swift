/// A config, model or data file that cannot be used. `description` is one line:
/// the file, the field and the reason, as the CLI prints it after `error:`.
public struct InputError: Error, CustomStringConvertible, Equatable {
    public var file: String
    public var field: String?
    public var reason: String

    public init(file: String, field: String? = nil, _ reason: String) {
        self.file = file
        self.field = field
        self.reason = reason
    }

    public var description: String {
        if let field { return "\(file): \(field): \(reason)" }
        return "\(file): \(reason)"
    }
}
