"""Adapters: implementations of the ports over real engines (SQLite/PostgreSQL through
SQLAlchemy, the local filesystem, AES-GCM from ``cryptography``, content sniffing)."""
