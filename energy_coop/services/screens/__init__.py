"""One read function per screen: each page or API document's figures, built from its aggregates' queries."""
