//! Diff of two manifests into added / modified / deleted / renamed.
