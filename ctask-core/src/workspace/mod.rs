//! Workspaces: roots, naming, `task.yaml`, seeding, discovery, query resolution, config.
