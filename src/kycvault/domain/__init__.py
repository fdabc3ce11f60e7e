"""Pure domain: entities, value rules and the document-type catalog. Standard library only
(plus small data packages), no web framework and no database."""
