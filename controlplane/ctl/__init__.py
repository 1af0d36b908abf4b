"""superctl: the user's command-line client."""
