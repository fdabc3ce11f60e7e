"""The SQL adapter: tables, repositories, the store and its Alembic migrations."""
