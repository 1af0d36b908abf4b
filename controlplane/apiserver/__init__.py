"""SuperAPIServer: a Kubernetes-style REST API over the store."""
