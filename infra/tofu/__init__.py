"""OpenTofu as the platform runs it: Go-built binary, providers from a filesystem mirror, a thin runner."""
