"""percl's own web pages (not FreeClimb's API): today the start page and the health check."""
