"""The Superlet: the node agent that makes the pods bound to its node real."""
