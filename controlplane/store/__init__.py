"""SuperCache: a versioned key-value store with watch (SQLite or etcd)."""
