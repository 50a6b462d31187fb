//! Manifests: a snapshot of a workspace's files (size, mtime, SHA-256), with a hash cache.
