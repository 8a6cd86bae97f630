"""Reading the store without SQL: `wenming query` (tables and files) and `wenming report` (HTML pages)."""
