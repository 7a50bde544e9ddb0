"""Persistence: SQLAlchemy tables, database set-up and the repository that turns rows into
engine objects. Used by services, the CLI and migrations; knows nothing of Flask."""
