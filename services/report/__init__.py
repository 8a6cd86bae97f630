"""`wenming report`: self-contained HTML pages with charts of the store's figures."""
