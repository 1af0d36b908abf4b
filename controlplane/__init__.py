"""The control plane: API server, store, scheduler, controllers and superctl."""
