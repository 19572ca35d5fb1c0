"""Project pages. Split by tab: projects (list, overview, settings, members), documents, elements."""
