"""The audit log's arithmetic: its hash chain (``chain``), pure functions an auditor can re-implement."""
