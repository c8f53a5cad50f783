/// relayd's own version, printed by `relayd version` and `relayd --version`.
enum RelaydVersion {
    static let current = "0.1.0-dev"
}
