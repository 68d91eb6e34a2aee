"""Report writers: JUnit XML, JSON, self-contained HTML, and the signed evidence package."""
