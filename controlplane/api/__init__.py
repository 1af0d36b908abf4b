"""API types shared by the API server, the controllers, superctl and the agent."""
