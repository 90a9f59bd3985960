"""banmian (版面): a static site generator for bilingual Chinese newspaper editions."""

__version__ = "0.1.0"
