"""Set-based read and write queries; each takes the session keyword-only."""
