"""A phonelm-export backend that lives outside phonelm-export (see backends/README.md there)."""
